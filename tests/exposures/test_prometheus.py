"""flagware.prometheus: a real CollectorRegistry, scraped with generate_latest."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

import flagware
import flagware.exposures as fx
import flagware.prometheus
from flagware import Account, MemoryStore
from flagware.wsgi import FlagwareMiddleware

RULES: dict[str, Any] = {
    "test_users": ["tester"],
    "flags": {"beta": {"strategies": [{"type": "accounts", "ids": ["acct-1"]}]}},
}


def scrape(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_a_scrape_reports_reads_exposures_overrides_and_the_store() -> None:
    store = MemoryStore(RULES)
    registry = CollectorRegistry()
    flagware.prometheus.register(registry, stores={"main": store})
    before = scrape(registry)

    def app(environ: Any, start_response: Any) -> Any:
        flagware.flags["beta"]
        flagware.flags["beta"]
        return Response("ok")(environ, start_response)

    def resolve(request: Request) -> Account:
        return Account(request.headers.get("X-Account-Id", "acct-2"))

    client = Client(FlagwareMiddleware(app, store=store, resolve_account=resolve))
    client.get("/", headers={"X-Account-Id": "acct-1"})
    client.get("/", headers={"X-Account-Id": "acct-2"})
    client.get("/", headers={"X-Account-Id": "tester", "X-Flagware-Override": "beta=off"})
    client.get("/", headers={"X-Account-Id": "acct-2", "X-Flagware-Override": "beta=on"})
    fx.flush()
    after = scrape(registry)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after[key] - before.get(key, 0.0)

    assert grew("flagware_evaluations_total", flag="beta", value="true") == 2
    assert grew("flagware_evaluations_total", flag="beta", value="false") == 6
    assert grew("flagware_exposures_total", flag="beta", value="true") == 1
    assert grew("flagware_exposures_total", flag="beta", value="false") == 3
    assert grew("flagware_overrides_total", decision="honoured") == 1
    assert grew("flagware_overrides_total", decision="refused") == 1
    assert after[("flagware_exposure_queue_length", ())] == 0
    assert ("flagware_exposure_queue_dropped_total", ()) in after
    store_label = (("store", "main"),)
    assert after[("flagware_store_info", (("source", "memory"), ("store", "main")))] == 1
    assert after[("flagware_store_connected", store_label)] == 1
    assert after[("flagware_store_ruleset_version", store_label)] == 1
    assert after[("flagware_store_ruleset_age_seconds", store_label)] >= 0
    assert after[("flagware_store_seconds_since_sync", store_label)] >= 0
    assert after[("flagware_store_failed_syncs_total", store_label)] == 0
    store.save({**RULES, "flags": {**RULES["flags"], "new": {"strategies": []}}})
    lagged = scrape(registry)
    assert lagged[("flagware_store_ruleset_version", store_label)] == 2
    assert lagged[("flagware_store_propagation_lag_seconds", store_label)] >= 0
