"""Prometheus: a collector of flagware's counters and its stores' state.

::

    from prometheus_client import REGISTRY
    import flagware.prometheus
    flagware.prometheus.register(REGISTRY, stores={"main": store})

Registering turns on counting of every flag read (about 0.1 µs per read, and requests then
get a recording FlagSet, see docs/observability.md). Metrics, all prefixed ``flagware_``:

==========================================  ======  ========================================
``evaluations_total{flag,value}``           counter flag reads in requests, every one
``exposures_total{flag,value}``             counter first reads per request, delivered
``overrides_total{decision}``               counter override requests: honoured / refused
``exposure_queue_dropped_total``            counter exposures dropped, the queue was full
``exposure_queue_length``                   gauge   exposures waiting for the flusher
``exposure_hook_errors_total``              counter hook calls that raised
``store_info{store,source}``                gauge   1; where the served ruleset came from
``store_connected{store}``                  gauge   1 if the backend answered last time
``store_ruleset_version{store}``            gauge   the version served
``store_ruleset_age_seconds{store}``        gauge   since that version was applied here
``store_seconds_since_sync{store}``         gauge   since the backend last answered
``store_propagation_lag_seconds{store}``    gauge   write recorded -> applied in this process
``store_failed_syncs_total{store}``         counter looks at the backend that failed
==========================================  ======  ========================================

The propagation lag is the served version's audit time (``store.history(limit=1)``, read
once per version) to the moment this process applied it. Needs ``pip install
'flagware[prometheus]'``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

try:
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
    from prometheus_client.registry import Collector
except ImportError:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "flagware.prometheus needs prometheus-client: pip install 'flagware[prometheus]'"
    ) from None

from flagware._request import OVERRIDE_DECISIONS
from flagware.exposures._recorder import RECORDER, Recorder

if TYPE_CHECKING:
    from prometheus_client.core import Metric
    from prometheus_client.registry import CollectorRegistry

    from flagware.stores.store import Store

__all__ = ["FlagwareCollector", "register", "store_label"]

logger = logging.getLogger("flagware")


def store_label(store: Store) -> str:
    """The ``store`` label of a store given without a name: backend, and namespace."""
    namespace = getattr(store, "namespace", None)
    name = store.backend.name
    return f"{name}:{namespace}" if namespace else name


class FlagwareCollector(Collector):
    """Collects flagware's metrics at each scrape (no work between scrapes).

    :param stores: ``{label: store}`` or stores (labelled by :func:`store_label`).
    :param recorder: the exposure recorder (the process's, by default).
    """

    def __init__(
        self, stores: Mapping[str, Store] | Iterable[Store] = (), *, recorder: Recorder = RECORDER
    ) -> None:
        if isinstance(stores, Mapping):
            self.stores = dict(stores)
        else:
            self.stores = {store_label(s): s for s in stores}
        self.recorder = recorder
        recorder.count_reads(True)
        self._lags: dict[str, tuple[int, float | None]] = {}  # label -> (version, lag)

    def collect(self) -> Iterator[Metric]:
        yield from self._flag_metrics()
        yield from self._store_metrics()

    def _flag_metrics(self) -> Iterator[Metric]:
        recorder = self.recorder
        evaluations = CounterMetricFamily(
            "flagware_evaluations", "Flag reads in requests.", labels=["flag", "value"]
        )
        for (flag, value), n in (recorder.reads.snapshot() if recorder.reads else {}).items():
            evaluations.add_metric([flag, _text(value)], n)
        yield evaluations
        exposures = CounterMetricFamily(
            "flagware_exposures", "First reads of a flag per request.", labels=["flag", "value"]
        )
        for (flag, value), n in recorder.exposures.snapshot().items():
            exposures.add_metric([flag, _text(value)], n)
        yield exposures
        overrides = CounterMetricFamily(
            "flagware_overrides", "Override requests by decision.", labels=["decision"]
        )
        counts = OVERRIDE_DECISIONS.snapshot()
        for decision in ("honoured", "refused"):
            overrides.add_metric([decision], counts.get(decision, 0))
        yield overrides
        stats = recorder.stats()
        yield CounterMetricFamily(
            "flagware_exposure_queue_dropped",
            "Exposures dropped because the queue was full.",
            value=stats.dropped,
        )
        yield GaugeMetricFamily(
            "flagware_exposure_queue_length", "Exposures waiting for the flusher.", stats.queued
        )
        yield CounterMetricFamily(
            "flagware_exposure_hook_errors", "Exposure hook calls that raised.", stats.hook_errors
        )

    def _store_metrics(self) -> Iterator[Metric]:
        info = GaugeMetricFamily(
            "flagware_store_info", "Where the served ruleset came from.", labels=["store", "source"]
        )
        gauges = {
            key: GaugeMetricFamily(f"flagware_store_{key}", doc, labels=["store"])
            for key, doc in (
                ("connected", "1 if the backend answered the last look."),
                ("ruleset_version", "The ruleset version served."),
                ("ruleset_age_seconds", "Seconds since the served version was applied."),
                ("seconds_since_sync", "Seconds since the backend last answered."),
                ("propagation_lag_seconds", "Seconds from a write to this process applying it."),
            )
        }
        failed = CounterMetricFamily(
            "flagware_store_failed_syncs", "Failed looks at the backend.", labels=["store"]
        )
        now = time.time()
        for label, store in self.stores.items():
            health = store.health()
            info.add_metric([label, health.source], 1)
            gauges["connected"].add_metric([label], 1 if health.connected else 0)
            gauges["ruleset_version"].add_metric([label], health.version)
            if health.applied_at is not None:
                gauges["ruleset_age_seconds"].add_metric([label], now - health.applied_at)
            if health.synced_at is not None:
                gauges["seconds_since_sync"].add_metric([label], now - health.synced_at)
            lag = self._lag(label, store, health.version, health.applied_at)
            if lag is not None:
                gauges["propagation_lag_seconds"].add_metric([label], lag)
            failed.add_metric([label], health.failed_syncs)
        yield info
        yield from gauges.values()
        yield failed

    def _lag(self, label: str, store: Store, version: int, applied: float | None) -> float | None:
        """Audit time of ``version`` to ``applied``; looked up once per version."""
        known = self._lags.get(label)
        if known is not None and known[0] == version:
            return known[1]
        lag = None
        try:
            newest = store.history(limit=1)
        except Exception as exc:  # a scrape never fails for it; try again next scrape
            logger.warning("flagware: reading %s's history for metrics failed: %s", label, exc)
            return None
        if newest and newest[0].version == version and applied is not None:
            lag = max(0.0, applied - newest[0].at) if newest[0].at == newest[0].at else None
        self._lags[label] = (version, lag)
        return lag


def register(
    registry: CollectorRegistry, stores: Mapping[str, Store] | Iterable[Store] = ()
) -> FlagwareCollector:
    """Create a :class:`FlagwareCollector` for ``stores`` and register it in ``registry``."""
    collector = FlagwareCollector(stores)
    registry.register(collector)
    return collector


def _text(value: bool) -> str:
    return "true" if value else "false"
