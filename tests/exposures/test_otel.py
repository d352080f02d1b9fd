"""flagware.otel with the real OpenTelemetry SDK: one span event per exposure."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

import flagware
import flagware.otel
from flagware import Account, MemoryStore
from flagware.wsgi import FlagwareMiddleware

RULES: dict[str, Any] = {
    "flags": {
        "beta": {"strategies": [{"type": "accounts", "ids": ["acct-1"]}]},
        "button": {"strategies": [{"type": "everyone"}], "variants": {"green": 100}},
        "killed": {"enabled": False, "strategies": [{"type": "everyone"}]},
    },
}


@pytest.fixture
def tracing() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    flagware.otel.uninstrument()
    provider.shutdown()


def test_each_exposure_is_a_span_event(
    tracing: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = tracing
    tracer = provider.get_tracer("test")
    flagware.otel.instrument(set_id="shop")
    store = MemoryStore(RULES)

    def app(environ: Any, start_response: Any) -> Any:
        # The span a server instrumentation would have open around the app.
        with tracer.start_as_current_span("GET /"):
            flags = flagware.flags
            text = f"{flags['beta']} {flags['beta']} {flags.variant('button')} {flags['killed']}"
            return Response(text)(environ, start_response)

    def resolve(request: Request) -> Account:
        return Account("acct-1")

    client = Client(FlagwareMiddleware(app, store=store, resolve_account=resolve))
    assert client.get("/").text == "True True green False"
    (span,) = exporter.get_finished_spans()
    events = [(e.name, dict(e.attributes or {})) for e in span.events]
    assert [name for name, _ in events] == ["feature_flag.evaluation"] * 3
    beta, button, killed = (attrs for _, attrs in events)
    assert beta == {
        "feature_flag.key": "beta",
        "feature_flag.result.value": True,
        "feature_flag.result.reason": "targeting_match",
        "feature_flag.provider.name": "flagware",
        "feature_flag.version": "1",
        "feature_flag.set.id": "shop",
        "feature_flag.context.id": "acct-1",
        "flagware.reason": "strategy accounts matched (strategies[0])",
    }
    assert button["feature_flag.result.variant"] == "green"
    assert killed["feature_flag.result.value"] is False
    assert killed["feature_flag.result.reason"] == "disabled"
    assert "feature_flag.result.variant" not in killed


def test_no_recording_span_no_event(tracing: tuple[TracerProvider, InMemorySpanExporter]) -> None:
    flagware.otel.instrument()
    store = MemoryStore(RULES)
    flags = flagware.exposures.record_exposures(store.engine().evaluate_all(None), store)
    assert flags["beta"] is False  # no span is current: nothing to add, nothing raised
    assert tracing[1].get_finished_spans() == ()


def test_reason_codes() -> None:
    code = flagware.otel.reason_code
    assert code("kill switch: enabled is false", False) == "disabled"
    assert code("set explicitly (FlagSet.from_mapping)", True) == "static"
    assert code("not in ruleset: unknown=released", True) == "default"
    assert code("override", False) == "targeting_match"
    assert code("strategy everyone matched (strategies[0])", True) == "targeting_match"
    assert code("no strategy matched", False) == "default"
