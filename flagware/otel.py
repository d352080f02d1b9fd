"""OpenTelemetry: each exposure as a ``feature_flag.evaluation`` event on the current span.

::

    import flagware.otel
    flagware.otel.instrument(set_id="myapp")

The event follows the OpenTelemetry semantic conventions for feature flags (semconv
1.3x, "feature_flag.*" attributes, status: development): ``feature_flag.key``,
``feature_flag.result.value``, ``feature_flag.result.variant`` (if the flag has one),
``feature_flag.result.reason`` (the conventions' lowercase codes: ``targeting_match``,
``default``, ``disabled``, ``static``), ``feature_flag.provider.name``,
``feature_flag.version`` (the ruleset version), ``feature_flag.set.id`` (if given) and
``feature_flag.context.id`` (the account id). flagware's own wording of the reason is in
``flagware.reason``. The event is added at the first read of a flag, in the request: the
span may have ended by the time the background flusher runs. Without a recording span
(no SDK configured, or the span is not sampled) it costs one context lookup.
Needs ``pip install 'flagware[otel]'`` (``opentelemetry-api``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

try:
    from opentelemetry import trace
except ImportError:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "flagware.otel needs opentelemetry-api: pip install 'flagware[otel]'"
    ) from None

from flagware.exposures._recorder import RECORDER

if TYPE_CHECKING:
    from flagware.exposures._flagset import RecordingFlagSet

__all__ = ["EVENT_NAME", "SpanEvents", "instrument", "reason_code", "uninstrument"]

EVENT_NAME = "feature_flag.evaluation"
PROVIDER_NAME = "flagware"


def reason_code(reason: str, enabled: bool) -> str:
    """The conventions' ``feature_flag.result.reason`` for flagware's reason text.

    As the OpenFeature provider maps them (flagware/openfeature/_mapping.py), except that
    a flag the ruleset lacks is ``default`` (its ``unknown`` policy), on or off.
    """
    if reason.startswith("kill switch"):
        return "disabled"
    if reason.startswith("set "):  # FlagSet.from_mapping / use_flags
        return "static"
    if reason.startswith("not in ruleset"):  # the ruleset's `unknown` policy decided
        return "default"
    if enabled or reason == "override":
        return "targeting_match"
    return "default"


class SpanEvents:
    """The observer :func:`instrument` registers: adds the event to the current span."""

    def __init__(self, provider_name: str = PROVIDER_NAME, set_id: str | None = None) -> None:
        self.provider_name = provider_name
        self.set_id = set_id

    def __call__(self, flags: RecordingFlagSet, name: str, on: bool, at: float) -> None:
        span = trace.get_current_span()
        if not span.is_recording():
            return
        reason = flags.reason_of(name, on)
        attributes: dict[str, str | bool] = {
            "feature_flag.key": name,
            "feature_flag.result.value": on,
            "feature_flag.result.reason": reason_code(reason, on),
            "feature_flag.provider.name": self.provider_name,
            "flagware.reason": reason,
        }
        variant = flags.variant_of(name, on)
        if variant is not None:
            attributes["feature_flag.result.variant"] = variant
        if flags.ruleset_version is not None:
            attributes["feature_flag.version"] = str(flags.ruleset_version)
        if self.set_id is not None:
            attributes["feature_flag.set.id"] = self.set_id
        if flags.account is not None:
            attributes["feature_flag.context.id"] = flags.account.id
        span.add_event(EVENT_NAME, attributes, timestamp=int(at * 1e9))


_installed: list[SpanEvents] = []


def instrument(*, provider_name: str = PROVIDER_NAME, set_id: str | None = None) -> SpanEvents:
    """Add a span event for every exposure from now on (again: replaces the settings)."""
    uninstrument()
    observer = SpanEvents(provider_name, set_id)
    RECORDER.add_observer(observer)
    _installed.append(observer)
    return observer


def uninstrument() -> None:
    """Stop adding span events."""
    while _installed:
        RECORDER.remove_observer(_installed.pop())
