"""Exposures through real WSGI and ASGI apps: once per flag per request, off the request
path, a full queue drops and counts, a raising hook never breaks a request."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import HTTPConnection, Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from werkzeug.test import Client
from werkzeug.wrappers import Request as WsgiRequest
from werkzeug.wrappers import Response as WsgiResponse

import flagware
import flagware.exposures as fx
from flagware import Account, MemoryStore
from flagware.asgi import FlagwareMiddleware as AsgiMiddleware
from flagware.engine.flagset import FlagSet
from flagware.exposures import Exposure, Recorder, RecordingFlagSet
from flagware.wsgi import FlagwareMiddleware as WsgiMiddleware

RULES: dict[str, Any] = {
    "test_users": ["tester"],
    "flags": {
        "beta": {"strategies": [{"type": "accounts", "ids": ["acct-1"]}]},
        "dark": {"strategies": []},
        "button": {"strategies": [{"type": "everyone"}], "variants": {"control": 50, "green": 50}},
        "unread": {"strategies": [{"type": "everyone"}]},
    },
}


def wsgi_resolve(request: WsgiRequest) -> Account | None:
    account = request.headers.get("X-Account-Id")
    return Account(account) if account else None


def asgi_resolve(conn: HTTPConnection) -> Account | None:
    account = conn.headers.get("X-Account-Id")
    return Account(account) if account else None


def reads() -> str:
    """What the views do: read beta three times, button's variant, dark, and no more."""
    seen = [flagware.flags["beta"], flagware.flags.is_enabled("beta"), flagware.flags["beta"]]
    return f"{seen} {flagware.flags.variant('button')} {flagware.flags['dark']}"


def wsgi_client(store: MemoryStore) -> Client:
    def app(environ: Any, start_response: Any) -> Any:
        return WsgiResponse(reads())(environ, start_response)

    return Client(WsgiMiddleware(app, store=store, resolve_account=wsgi_resolve))


def asgi_client(store: MemoryStore) -> TestClient:
    async def view(request: Request) -> PlainTextResponse:
        return PlainTextResponse(reads())

    app = Starlette(routes=[Route("/", view)])
    return TestClient(AsgiMiddleware(app, store=store, resolve_account=asgi_resolve))


@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
def test_each_flag_read_is_one_exposure_per_request(kind: str) -> None:
    store = MemoryStore(RULES)
    got: list[Exposure] = []
    fx.on_exposure(got.append)
    client = wsgi_client(store) if kind == "wsgi" else asgi_client(store)
    for account in ("acct-1", "acct-2"):
        client.get("/", headers={"X-Account-Id": account})
    client.get("/")  # anonymous
    fx.flush()
    assert [(e.account_id, e.flag, e.value) for e in got] == [
        ("acct-1", "beta", True),
        ("acct-1", "button", True),
        ("acct-1", "dark", False),
        ("acct-2", "beta", False),
        ("acct-2", "button", True),
        ("acct-2", "dark", False),
        (None, "beta", False),
        (None, "button", True),
        (None, "dark", False),
    ]
    first = got[0]
    assert first.reason == "strategy accounts matched (strategies[0])"
    assert first.ruleset_version == store.version == 1
    assert got[1].variant in ("control", "green")
    assert got[1].variant == store.engine().evaluate_all(Account("acct-1")).variant("button")
    assert got[2].reason == "no strategies: test users only"
    assert fx.stats().dropped == 0


def test_overridden_requests_record_the_overridden_value() -> None:
    store = MemoryStore(RULES)
    got: list[Exposure] = []
    fx.on_exposure(got.append)
    client = wsgi_client(store)
    client.get("/", headers={"X-Account-Id": "tester", "X-Flagware-Override": "dark=off"})
    fx.flush()
    dark = next(e for e in got if e.flag == "dark")
    assert (dark.value, dark.reason, dark.account_id) == (False, "override", "tester")


def test_without_a_hook_requests_get_a_plain_flagset() -> None:
    store = MemoryStore(RULES)
    seen: list[type] = []

    def app(environ: Any, start_response: Any) -> Any:
        seen.append(type(environ["flagware.flags"]))
        return WsgiResponse("ok")(environ, start_response)

    client = Client(WsgiMiddleware(app, store=store, resolve_account=wsgi_resolve))
    client.get("/", headers={"X-Account-Id": "acct-1"})
    hook = fx.add_hook(lambda exposure: None)
    client.get("/", headers={"X-Account-Id": "acct-1"})
    fx.remove_hook(hook)
    client.get("/", headers={"X-Account-Id": "acct-1"})
    assert seen == [FlagSet, RecordingFlagSet, FlagSet]


def test_bulk_reads_record_nothing() -> None:
    recorder = Recorder(interval=3600)
    got: list[Exposure] = []
    recorder.add_hook(got.append)
    flags = recorder.wrap(MemoryStore(RULES).engine().evaluate_all(Account("acct-1")), None)
    flags.as_dict()
    flags.variants()
    flags.enabled_flags()
    list(flags)
    repr(flags)
    assert recorder.flush() == 0
    assert flags.evaluation("button").variant == flags.variant("button")
    assert recorder.flush() == 1
    assert [e.flag for e in got] == ["button"]


def test_a_full_queue_drops_and_counts_without_blocking() -> None:
    recorder = Recorder(max_queue=3, interval=3600)  # the flusher never runs by itself
    got: list[Exposure] = []
    recorder.add_hook(got.append)
    engine = MemoryStore(RULES).engine()
    for account in ("a1", "a2"):
        flags = recorder.wrap(engine.evaluate_all(Account(account)), None)
        for name in ("beta", "dark", "button", "unread"):
            flags.is_enabled(name)  # never blocks, never raises
    assert recorder.stats().queued == 3
    assert recorder.stats().dropped == 5
    assert recorder.flush() == 3
    assert [(e.account_id, e.flag) for e in got] == [
        ("a1", "beta"),
        ("a1", "dark"),
        ("a1", "button"),
    ]
    assert recorder.stats().delivered == 3


def test_a_raising_hook_never_breaks_a_request(caplog: pytest.LogCaptureFixture) -> None:
    store = MemoryStore(RULES)
    got: list[Exposure] = []

    def broken(exposure: Exposure) -> None:
        raise RuntimeError("analytics is down")

    fx.on_exposure(broken)
    fx.on_exposure(got.append)
    response = wsgi_client(store).get("/", headers={"X-Account-Id": "acct-1"})
    assert response.status_code == 200
    assert (
        response.text
        == "[True, True, True] "
        + str(store.engine().evaluate_all(Account("acct-1")).variant("button"))
        + " False"
    )
    assert fx.flush() == 3
    assert len(got) == 3  # the other hook still gets every exposure
    assert fx.stats().hook_errors >= 3
    assert "analytics is down" in caplog.text


def test_a_hook_runs_on_the_flusher_thread_not_in_the_request() -> None:
    store = MemoryStore(RULES)
    delivered = threading.Event()
    threads: list[str] = []

    def hook(exposure: Exposure) -> None:
        threads.append(threading.current_thread().name)
        delivered.set()

    fx.on_exposure(hook)
    fx.configure(interval=0.05)
    try:
        wsgi_client(store).get("/", headers={"X-Account-Id": "acct-1"})
        assert delivered.wait(30)
    finally:
        fx.configure(interval=0.5)
    assert threads[0] == "flagware-exposures"


def test_record_exposures_outside_a_request() -> None:
    store = MemoryStore(RULES)
    flags = store.engine().evaluate_all(Account("acct-1"))
    assert fx.record_exposures(flags) is flags  # no hook: nothing to record
    got: list[Exposure] = []
    fx.on_exposure(got.append)
    recorded = fx.record_exposures(flags, store)
    assert recorded["beta"] is True
    fx.flush()
    assert [(e.flag, e.ruleset_version) for e in got] == [("beta", 1)]


def test_a_hook_must_be_a_hook() -> None:
    with pytest.raises(TypeError, match="after_evaluation"):
        fx.add_hook(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_queue"):
        Recorder(max_queue=0)
