"""flagware.asgi.FlagwareMiddleware around real Starlette apps (TestClient and httpx2)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx2 as httpx
import pytest
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

import flagware
from flagware import Account, MemoryStore
from flagware.asgi import FlagwareMiddleware
from flagware.overrides import issue_override_token

RULES: dict[str, Any] = {
    "test_users": ["tester"],
    "flags": {
        "beta": {"strategies": [{"type": "accounts", "ids": ["acct-1"]}]},
        "dark": {"strategies": []},
        "killed": {"enabled": False, "strategies": [{"type": "everyone"}]},
        "button": {
            "strategies": [{"type": "everyone"}],
            "variants": {"control": 50, "green": 50},
        },
    },
}
ACCOUNTS = {
    "acct-1": Account("acct-1"),
    "acct-2": Account("acct-2"),
    "tester": Account("tester"),
    "staff": Account("staff", attributes={"staff": True}),
}
ANONYMOUS = {"beta": False, "dark": False, "killed": False, "button": True}
ACCT_1 = {**ANONYMOUS, "beta": True}
TESTER = {"beta": True, "dark": True, "killed": False, "button": True}
SECRET = "asgi-token-secret"
OVERRIDE = "X-Flagware-Override"


def resolve(conn: HTTPConnection) -> Account | None:
    """The account named by the X-Account-Id header (as a trusted gateway would set it)."""
    return ACCOUNTS.get(conn.headers.get("X-Account-Id", ""))


async def resolve_async(conn: HTTPConnection) -> Account | None:
    await asyncio.sleep(0)
    return resolve(conn)


def snapshot() -> dict[str, Any]:
    """What the current flags say, or a marker if there are none here."""
    if not flagware.flags.active:
        return {"active": False}
    fs = flagware.current_flags()
    return {
        "active": True,
        "account": fs.account.id if fs.account else None,
        "flags": fs.as_dict(),
        "variants": fs.variants(),
        "unknown": fs.is_enabled("not_in_the_rules"),
    }


def line() -> str:
    """One line of a streamed body: who the flags are for and what beta/dark say."""
    fs = flagware.current_flags()
    return f"{fs.account.id if fs.account else '-'}:{fs['beta']}:{fs['dark']}\n"


class Recorder:
    """The endpoints of a test app, recording what background tasks and websockets saw."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def record(self) -> None:
        self.seen.append(snapshot())

    async def record_async(self) -> None:
        await asyncio.sleep(0)
        self.seen.append(snapshot())

    async def flags(self, request: Request) -> JSONResponse:
        body = snapshot()
        body["scope_is_current"] = request.scope["flagware.flags"] is flagware.current_flags()
        return JSONResponse(body)

    def flags_sync(self, request: Request) -> JSONResponse:
        return JSONResponse(snapshot())

    async def cached(self, request: Request) -> JSONResponse:
        headers = {"Cache-Control": "public, max-age=60", "Vary": "Accept-Encoding"}
        return JSONResponse(snapshot(), headers=headers)

    async def stream_async(self, request: Request) -> StreamingResponse:
        async def chunks() -> AsyncIterator[str]:
            for _ in range(4):
                await asyncio.sleep(0)
                yield line()

        return StreamingResponse(chunks(), media_type="text/plain")

    async def stream_sync(self, request: Request) -> StreamingResponse:
        def chunks() -> Iterator[str]:
            for _ in range(4):
                yield line()

        return StreamingResponse(chunks(), media_type="text/plain")

    async def background_sync(self, request: Request) -> Response:
        return PlainTextResponse("queued", background=BackgroundTask(self.record))

    async def background_async(self, request: Request) -> Response:
        return PlainTextResponse("queued", background=BackgroundTask(self.record_async))

    async def boom(self, request: Request) -> Response:
        raise RuntimeError("endpoint failed")

    async def websocket(self, websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_json(snapshot())
        while (text := await websocket.receive_text()) != "bye":
            await asyncio.sleep(0)
            await websocket.send_json({**snapshot(), "echo": text})
        self.record()
        await websocket.close()

    def routes(self) -> list[Any]:
        return [
            Route("/flags", self.flags),
            Route("/sync", self.flags_sync),
            Route("/cached", self.cached),
            Route("/stream-async", self.stream_async),
            Route("/stream-sync", self.stream_sync),
            Route("/background-sync", self.background_sync),
            Route("/background-async", self.background_async),
            Route("/boom", self.boom),
            WebSocketRoute("/ws", self.websocket),
        ]


def make_app(recorder: Recorder | None = None, **options: Any) -> FlagwareMiddleware:
    options.setdefault("store", MemoryStore(RULES))
    options.setdefault("resolve_account", resolve)
    return FlagwareMiddleware(Starlette(routes=(recorder or Recorder()).routes()), **options)


def get(app: Any, path: str = "/flags", account: str | None = None, **headers: str) -> Any:
    sent = {k.replace("_", "-"): v for k, v in headers.items()}
    if account is not None:
        sent["X-Account-Id"] = account
    return TestClient(app).get(path, headers=sent)


def override(value: str) -> dict[str, str]:
    return {"X_Flagware_Override": value}


def vary(response: httpx.Response) -> list[str]:
    return [
        part.strip() for value in response.headers.get_list("Vary") for part in value.split(",")
    ]


def run_in_one_task(app: Any, scenario: Callable[[httpx.AsyncClient], Awaitable[None]]) -> None:
    """Run ``scenario`` in a single asyncio task; httpx2 calls the app in that same task."""

    async def main() -> None:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            await scenario(client)

    asyncio.run(main())


# --- flags in the request ----------------------------------------------------------------------


@pytest.mark.parametrize("resolver", [resolve, resolve_async], ids=["sync", "async"])
@pytest.mark.parametrize(
    ("account", "expected"),
    [(None, ANONYMOUS), ("acct-1", ACCT_1), ("acct-2", ANONYMOUS), ("tester", TESTER)],
)
def test_endpoint_sees_the_accounts_flags(
    resolver: Callable[..., Any], account: str | None, expected: dict
) -> None:
    body = get(make_app(resolve_account=resolver), account=account).json()
    assert body["account"] == account
    assert body["flags"] == expected
    assert body["unknown"] is True
    assert body["scope_is_current"] is True


def test_sync_endpoint_in_the_threadpool_sees_flags() -> None:
    body = get(make_app(), "/sync", account="acct-1").json()
    assert body["account"] == "acct-1"
    assert body["flags"] == ACCT_1


@pytest.fixture
def counting_store() -> Iterator[tuple[MemoryStore, list[str]]]:
    calls: list[str] = []

    class Counting(flagware.Strategy):
        def matches(self, account: Account) -> bool:
            calls.append(account.id)
            return True

    flagware.register_strategy("asgi_test_counting")(Counting)
    try:
        doc = {"flags": {"counted": {"strategies": [{"type": "asgi_test_counting"}]}}}
        yield MemoryStore(doc), calls
    finally:
        flagware.unregister_strategy("asgi_test_counting")


def test_flags_are_evaluated_once_per_request(
    counting_store: tuple[MemoryStore, list[str]],
) -> None:
    store, calls = counting_store
    seen: list[Any] = []

    async def endpoint(request: Request) -> StreamingResponse:
        seen.append(flagware.current_flags())

        async def chunks() -> AsyncIterator[str]:
            for _ in range(3):
                seen.append(flagware.current_flags())
                yield str(flagware.flags["counted"])

        return StreamingResponse(chunks())

    app = FlagwareMiddleware(
        Starlette(routes=[Route("/", endpoint)]), store=store, resolve_account=resolve
    )
    assert get(app, "/", account="acct-1").text == "TrueTrueTrue"
    assert calls == ["acct-1"]
    assert len(seen) == 4
    assert all(fs is seen[0] for fs in seen)


@pytest.mark.parametrize("path", ["/stream-async", "/stream-sync"])
@pytest.mark.parametrize("account", ["tester", "acct-1", None])
def test_streamed_chunks_see_the_requests_flags(path: str, account: str | None) -> None:
    expected = snapshot_line(account)
    response = get(make_app(), path, account=account)
    assert response.text.splitlines() == [expected] * 4


def snapshot_line(account: str | None) -> str:
    flags = {"tester": TESTER, "acct-1": ACCT_1}.get(account or "", ANONYMOUS)
    return f"{account or '-'}:{flags['beta']}:{flags['dark']}"


@pytest.mark.parametrize("path", ["/background-sync", "/background-async"])
def test_background_task_sees_the_requests_flags(path: str) -> None:
    recorder = Recorder()
    app = make_app(recorder)
    assert get(app, path, account="tester", **override("beta=off")).text == "queued"
    assert get(app, path, account="acct-1").text == "queued"
    assert [(s["account"], s["flags"]) for s in recorder.seen] == [
        ("tester", {**TESTER, "beta": False}),
        ("acct-1", ACCT_1),
    ]


def test_websocket_sees_flags_for_its_whole_life() -> None:
    recorder = Recorder()
    headers = {"X-Account-Id": "tester", OVERRIDE: "dark=off"}
    with TestClient(make_app(recorder)).websocket_connect("/ws", headers=headers) as ws:
        first = ws.receive_json()
        later = []
        for text in ("a", "b", "c"):
            ws.send_text(text)
            later.append(ws.receive_json())
        ws.send_text("bye")
    expected = {**TESTER, "dark": False}
    assert first["account"] == "tester"
    assert first["flags"] == expected
    assert [(m["echo"], m["account"], m["flags"]) for m in later] == [
        (text, "tester", expected) for text in ("a", "b", "c")
    ]
    assert [(s["account"], s["flags"]) for s in recorder.seen] == [("tester", expected)]


def test_websocket_scope_carries_flags() -> None:
    seen: list[Any] = []

    async def endpoint(websocket: WebSocket) -> None:
        seen.append(websocket.scope["flagware.flags"] is flagware.current_flags())
        await websocket.accept()
        await websocket.send_text(str(flagware.flags["beta"]))
        await websocket.close()

    inner = Starlette(routes=[WebSocketRoute("/ws", endpoint)])
    app = FlagwareMiddleware(inner, store=MemoryStore(RULES), resolve_account=resolve)
    with TestClient(app).websocket_connect("/ws", headers={"X-Account-Id": "acct-1"}) as ws:
        assert ws.receive_text() == "True"
    assert seen == [True]


# --- lifespan ------------------------------------------------------------------------------------


def test_lifespan_passes_straight_through() -> None:
    events: list[Any] = []
    resolved: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, str]]:
        events.append(("startup", flagware.flags.active))
        yield {"greeting": "hello"}
        events.append(("shutdown", flagware.flags.active))

    async def endpoint(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"{request.state.greeting}:{flagware.flags['beta']}")

    def spy(conn: HTTPConnection) -> Account | None:
        resolved.append(conn.scope["type"])
        return resolve(conn)

    inner = Starlette(routes=[Route("/", endpoint)], lifespan=lifespan)
    app = FlagwareMiddleware(inner, store=MemoryStore(RULES), resolve_account=spy)
    with TestClient(app) as client:
        assert events == [("startup", False)]
        assert client.get("/", headers={"X-Account-Id": "acct-1"}).text == "hello:True"
    assert events == [("startup", False), ("shutdown", False)]
    assert resolved == ["http"]


# --- resolving the account -----------------------------------------------------------------------


def _raising(conn: HTTPConnection) -> Account | None:
    raise RuntimeError("session store down")


async def _raising_async(conn: HTTPConnection) -> Account | None:
    await asyncio.sleep(0)
    raise RuntimeError("session store down")


@pytest.mark.parametrize("resolver", [_raising, _raising_async], ids=["sync", "async"])
def test_resolver_raising_is_logged_and_request_is_anonymous(
    resolver: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="flagware"):
        response = get(make_app(resolve_account=resolver), account="tester")
    assert response.status_code == 200
    assert response.json()["account"] is None
    assert response.json()["flags"] == ANONYMOUS
    assert any("resolve_account raised" in r.getMessage() for r in caplog.records)


def test_resolver_returning_none_is_anonymous() -> None:
    response = get(make_app(resolve_account=lambda conn: None), account="acct-1")
    assert response.json()["account"] is None
    assert response.json()["flags"] == ANONYMOUS


def test_async_resolver_returning_none_is_anonymous() -> None:
    async def nobody(conn: HTTPConnection) -> Account | None:
        return None

    assert get(make_app(resolve_account=nobody), account="acct-1").json()["flags"] == ANONYMOUS


def test_resolver_gets_an_http_connection() -> None:
    seen: list[Any] = []

    def spy(conn: HTTPConnection) -> Account | None:
        seen.append((type(conn), conn.url.path))
        return resolve(conn)

    get(make_app(resolve_account=spy), account="acct-1")
    assert seen == [(HTTPConnection, "/flags")]


@pytest.mark.parametrize("resolver", [None, "resolve", 42])
def test_resolve_account_must_be_callable(resolver: Any) -> None:
    with pytest.raises(TypeError, match="resolve_account"):
        FlagwareMiddleware(Starlette(), store=MemoryStore(RULES), resolve_account=resolver)


# --- no leaks ------------------------------------------------------------------------------------


def test_flags_never_leak_between_sequential_requests_in_one_task() -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        sequence = [
            ("tester", "beta=off, button=green", {**TESTER, "beta": False}),
            (None, None, ANONYMOUS),
            ("acct-1", None, ACCT_1),
            (None, "dark=on", ANONYMOUS),
            ("acct-2", None, ANONYMOUS),
        ]
        for account, header, expected in sequence:
            headers = {"X-Account-Id": account} if account else {}
            if header:
                headers[OVERRIDE] = header
            body = (await client.get("/flags", headers=headers)).json()
            assert (body["account"], body["flags"]) == (account, expected)
            assert not flagware.flags.active

    run_in_one_task(make_app(), scenario)


def test_flags_are_always_set_never_inherited() -> None:
    # A server may run a follow-up request in a context copied from the previous one.
    async def scenario(client: httpx.AsyncClient) -> None:
        with flagware.use_flags({"beta": True, "dark": True}) as leftover:
            body = (await client.get("/flags")).json()
            assert flagware.current_flags() is leftover
        assert (body["account"], body["flags"]) == (None, ANONYMOUS)
        assert not flagware.flags.active

    run_in_one_task(make_app(), scenario)


def test_flags_are_reset_when_the_endpoint_raises() -> None:
    async def scenario(client: httpx.AsyncClient) -> None:
        response = await client.get("/boom", headers={"X-Account-Id": "tester"})
        assert response.status_code == 500
        assert not flagware.flags.active
        body = (await client.get("/flags")).json()
        assert (body["account"], body["flags"]) == (None, ANONYMOUS)

    run_in_one_task(make_app(), scenario)


def test_test_client_requests_do_not_leak() -> None:
    client = TestClient(make_app())
    assert client.get("/flags", headers={"X-Account-Id": "tester"}).json()["flags"] == TESTER
    assert not flagware.flags.active
    body = client.get("/flags").json()
    assert (body["account"], body["flags"]) == (None, ANONYMOUS)


# --- BaseHTTPMiddleware ordering -----------------------------------------------------------------


class SeesFlags(BaseHTTPMiddleware):
    """Reports, in response headers, what its own code sees before and after call_next."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        before = snapshot()
        response = await call_next(request)
        after = snapshot()
        response.headers["X-Before"] = str(before.get("account", "inactive"))
        response.headers["X-After"] = str(after.get("account", "inactive"))
        return response


def _flagware_outside(recorder: Recorder) -> Starlette:
    app = Starlette(routes=recorder.routes())
    app.add_middleware(SeesFlags)
    app.add_middleware(FlagwareMiddleware, store=MemoryStore(RULES), resolve_account=resolve)
    return app


def _flagware_wrapping(recorder: Recorder) -> Any:
    inner = Starlette(routes=recorder.routes(), middleware=[Middleware(SeesFlags)])
    return FlagwareMiddleware(inner, store=MemoryStore(RULES), resolve_account=resolve)


def _flagware_inside(recorder: Recorder) -> Starlette:
    app = Starlette(routes=recorder.routes())
    app.add_middleware(FlagwareMiddleware, store=MemoryStore(RULES), resolve_account=resolve)
    app.add_middleware(SeesFlags)
    return app


@pytest.mark.parametrize(
    ("build", "dispatch_sees"),
    [
        pytest.param(_flagware_outside, "tester", id="outside-add_middleware-last"),
        pytest.param(_flagware_wrapping, "tester", id="outside-wrapping-the-app"),
        pytest.param(_flagware_inside, "inactive", id="inside"),
    ],
)
@pytest.mark.parametrize("path", ["/flags", "/sync", "/stream-async", "/stream-sync"])
def test_base_http_middleware_in_either_order(
    build: Callable[[Recorder], Any], dispatch_sees: str, path: str
) -> None:
    """The endpoint sees the flags whichever way round flagware and BaseHTTPMiddleware are.

    Recommended: flagware *outside* every BaseHTTPMiddleware, i.e. added last with
    ``app.add_middleware`` (the last added is the outermost) or wrapping the whole app.
    Then the BaseHTTPMiddleware's own code sees the flags too; with flagware inside it,
    the code around ``call_next`` runs before/after flagware and sees none.
    """
    response = get(build(Recorder()), path, account="tester", **override("beta=off"))
    assert response.status_code == 200
    if path.startswith("/stream"):
        assert response.text.splitlines() == ["tester:False:True"] * 4
    else:
        assert response.json()["account"] == "tester"
        assert response.json()["flags"] == {**TESTER, "beta": False}
    assert response.headers["X-Before"] == dispatch_sees
    assert response.headers["X-After"] == dispatch_sees
    assert response.headers["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize("build", [_flagware_outside, _flagware_inside])
def test_base_http_middleware_background_task_sees_flags(
    build: Callable[[Recorder], Any],
) -> None:
    recorder = Recorder()
    app = build(recorder)
    assert get(app, "/background-async", account="acct-1").text == "queued"
    assert get(app, "/background-sync", account="tester").text == "queued"
    assert [(s["account"], s["flags"]) for s in recorder.seen] == [
        ("acct-1", ACCT_1),
        ("tester", TESTER),
    ]


def test_add_middleware_with_keyword_options() -> None:
    app = Starlette(routes=Recorder().routes())
    app.add_middleware(
        FlagwareMiddleware,
        store=MemoryStore(RULES),
        resolve_account=resolve_async,
        echo_overrides=True,
    )
    response = get(app, account="tester", **override("dark=off"))
    assert response.json()["flags"] == {**TESTER, "dark": False}
    assert response.headers["X-Flagware-Overrides-Applied"] == "dark=off"


# --- overrides -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("beta=off", {**TESTER, "beta": False}),
        ("beta=off, dark=0, button=green", {**TESTER, "beta": False, "dark": False}),
        ("brand_new=on", {**TESTER, "brand_new": True}),
    ],
)
def test_test_user_override_applies(header: str, expected: dict) -> None:
    assert get(make_app(), account="tester", **override(header)).json()["flags"] == expected


def test_test_user_override_picks_a_variant() -> None:
    body = get(make_app(), account="tester", **override("button=green")).json()
    assert body["variants"] == {"button": "green"}


@pytest.mark.parametrize("account", ["acct-1", "acct-2", None])
def test_override_from_an_ordinary_request_is_ignored_and_logged(
    account: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app()
    plain = get(app, account=account).json()["flags"]
    with caplog.at_level(logging.WARNING, logger="flagware"):
        response = get(app, "/cached", account=account, **override("dark=on, beta=off"))
    assert response.json()["flags"] == plain
    assert response.headers["Cache-Control"] == "public, max-age=60"
    assert vary(response) == ["Accept-Encoding"]
    assert any("ignored an override" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("header", ["beta=off, dark", "beta=off,", "beta=off, beta=on", "b=\x7f"])
def test_malformed_header_from_a_test_user_is_ignored_whole(header: str) -> None:
    response = get(make_app(), "/cached", account="tester", **override(header))
    assert response.status_code == 200
    assert response.json()["flags"] == TESTER
    assert response.headers["Cache-Control"] == "public, max-age=60"


def test_non_ascii_header_from_a_test_user_is_ignored() -> None:
    headers = [("X-Account-Id", "tester"), (OVERRIDE, b"beta=off, dark=gr\xc3\xbcn")]
    response = TestClient(make_app()).get("/flags", headers=headers)
    assert response.json()["flags"] == TESTER


def test_header_sent_twice_is_ignored_whole() -> None:
    headers = [("X-Account-Id", "tester"), (OVERRIDE, "beta=off"), (OVERRIDE, "dark=off")]
    response = TestClient(make_app()).get("/cached", headers=headers)
    assert response.json()["flags"] == TESTER
    assert response.headers["Cache-Control"] == "public, max-age=60"


def test_header_sent_twice_with_the_same_value_is_ignored_whole() -> None:
    headers = [("X-Account-Id", "tester"), (OVERRIDE, "beta=off"), (OVERRIDE, "beta=off")]
    assert TestClient(make_app()).get("/flags", headers=headers).json()["flags"] == TESTER


def test_underscore_spelling_of_the_header_has_no_effect() -> None:
    headers = [("X-Account-Id", "tester"), ("X_Flagware_Override", "beta=off")]
    response = TestClient(make_app()).get("/cached", headers=headers)
    assert response.json()["flags"] == TESTER
    assert response.headers["Cache-Control"] == "public, max-age=60"


def test_header_name_is_case_insensitive() -> None:
    headers = [("X-Account-Id", "tester"), ("x-FLAGWARE-override", "beta=off")]
    assert TestClient(make_app()).get("/flags", headers=headers).json()["flags"]["beta"] is False


def test_is_test_user_callable_grants_overrides() -> None:
    app = make_app(is_test_user=lambda account: account.attributes.get("staff") is True)
    assert get(app, account="staff").json()["flags"] == TESTER
    assert get(app, account="staff", **override("dark=off")).json()["flags"]["dark"] is False
    assert get(app, account="acct-2", **override("dark=on")).json()["flags"] == ANONYMOUS


def test_raising_is_test_user_treats_the_account_as_ordinary(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(account: Account) -> bool:
        raise RuntimeError("directory down")

    with caplog.at_level(logging.WARNING, logger="flagware"):
        response = get(make_app(is_test_user=broken), account="staff", **override("dark=on"))
    assert response.status_code == 200
    assert response.json()["flags"] == ANONYMOUS
    assert any("is_test_user raised" in r.getMessage() for r in caplog.records)


def test_overridden_response_is_private_and_varies() -> None:
    response = get(make_app(), "/cached", account="tester", **override("beta=off"))
    assert response.headers.get_list("Cache-Control") == ["private, no-store"]
    assert {"Accept-Encoding", "X-Flagware-Override"} <= set(vary(response))
    assert "X-Flagware-Overrides-Applied" not in response.headers


def test_echo_header_only_when_enabled_and_overridden() -> None:
    echo = make_app(echo_overrides=True)
    response = get(echo, account="tester", **override("beta=off, dark=on, button=green"))
    assert response.headers["X-Flagware-Overrides-Applied"] == "beta=off, dark=on, button=green"
    assert "X-Flagware-Overrides-Applied" not in get(echo, account="tester").headers
    quiet = get(make_app(), account="tester", **override("beta=off"))
    assert "X-Flagware-Overrides-Applied" not in quiet.headers


def test_streamed_overridden_response_is_private() -> None:
    response = get(make_app(), "/stream-async", account="tester", **override("dark=off"))
    assert response.text.splitlines() == ["tester:True:False"] * 4
    assert response.headers["Cache-Control"] == "private, no-store"


# --- signed override tokens ----------------------------------------------------------------------


def cookie(account: str, grant: dict[str, bool | str], **kwargs: Any) -> dict[str, str]:
    token = issue_override_token(kwargs.pop("secret", SECRET), account, grant, **kwargs)
    return {"Cookie": f"flagware_override={token}"}


def test_token_applies_for_its_account_even_if_not_a_test_user() -> None:
    app = make_app(token_secret=SECRET)
    response = get(app, "/cached", account="acct-2", **cookie("acct-2", {"dark": True}))
    assert response.json()["flags"] == {**ANONYMOUS, "dark": True}
    assert response.headers["Cache-Control"] == "private, no-store"
    assert {"Accept-Encoding", "X-Flagware-Override", "Cookie"} <= set(vary(response))


def test_token_applies_on_a_websocket() -> None:
    app = make_app(token_secret=SECRET)
    headers = {"X-Account-Id": "acct-2", **cookie("acct-2", {"beta": True})}
    with TestClient(app).websocket_connect("/ws", headers=headers) as ws:
        assert ws.receive_json()["flags"] == {**ANONYMOUS, "beta": True}
        ws.send_text("bye")


@pytest.mark.parametrize(
    ("account", "make_cookie"),
    [
        pytest.param("acct-1", lambda: cookie("acct-2", {"dark": True}), id="foreign"),
        pytest.param(
            "acct-2",
            lambda: cookie("acct-2", {"dark": True}, ttl=60, now=time.time() - 7200),
            id="expired",
        ),
        pytest.param(
            "acct-2",
            lambda: {"Cookie": cookie("acct-2", {"dark": True})["Cookie"][:-3] + "AAA"},
            id="tampered",
        ),
        pytest.param("acct-2", lambda: cookie("acct-2", {"dark": True}, secret="x"), id="key"),
        pytest.param(None, lambda: cookie("acct-2", {"dark": True}), id="anonymous"),
    ],
)
def test_bad_tokens_are_ignored(account: str | None, make_cookie: Callable[[], dict]) -> None:
    app = make_app(token_secret=SECRET)
    response = get(app, "/cached", account=account, **make_cookie())
    assert response.status_code == 200
    assert response.json()["flags"]["dark"] is False
    assert response.headers["Cache-Control"] == "public, max-age=60"


def test_tokens_are_ignored_without_a_token_secret() -> None:
    response = get(make_app(), account="acct-2", **cookie("acct-2", {"dark": True}))
    assert response.json()["flags"]["dark"] is False


# --- failing closed ------------------------------------------------------------------------------


class BrokenStore(MemoryStore):
    def engine(self) -> flagware.Engine:
        raise RuntimeError("no ruleset")


@pytest.mark.parametrize("path", ["/flags", "/sync"])
def test_store_failure_turns_every_flag_off(path: str, caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(store=BrokenStore(RULES))
    with caplog.at_level(logging.ERROR, logger="flagware"):
        response = get(app, path, account="tester", **override("beta=on"))
    assert response.status_code == 200
    assert response.json()["flags"] == {}
    assert response.json()["unknown"] is False
    assert "Cache-Control" not in response.headers
    assert any("evaluating flags failed" in r.getMessage() for r in caplog.records)
