"""Requests with fuzzed override headers, account headers and cookies, through the real
middlewares (flagware.wsgi under werkzeug's test Client, flagware.asgi under Starlette's
TestClient and as a bare ASGI call with raw header bytes).

No request fails: the app answers 200 with the flags the engine gives the account, and
nothing is logged as an error. An ordinary (non-test) account never gets an override
applied, whatever it sends, unless it holds a genuine token issued to it; a test user
gets exactly what its header says (kill switches excepted), or nothing if the header is
malformed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from werkzeug.test import Client
from werkzeug.wrappers import Request as WerkzeugRequest

import flagware
from flagware import Account, MemoryStore
from flagware.asgi import FlagwareMiddleware as AsgiMiddleware
from flagware.overrides import issue_override_token, parse_override_header
from flagware.wsgi import FlagwareMiddleware as WsgiMiddleware
from tests.properties.generators import override_headers, token_mutations

SECRET = "middleware-properties-secret"
TEST_USERS = ["testuser1", "testuser2"]
RULES: dict[str, Any] = {
    "test_users": TEST_USERS,
    "unknown": "hidden",
    "flags": {
        "new_checkout": {"strategies": [{"type": "accounts", "ids": ["acct-42"]}]},
        "dark_mode": {"strategies": [{"type": "percentage", "percent": 50}]},
        "old_search": {"enabled": False, "strategies": [{"type": "everyone"}]},
        "button": {"strategies": [{"type": "everyone"}], "variants": {"control": 50, "green": 50}},
        "beta": {"strategies": []},
    },
}
FLAGS = list(RULES["flags"])
KILLED = {"old_search"}
APPLIED = "X-Flagware-Overrides-Applied"
TOKEN_COOKIE = "flagware_override"
# Tokens are issued at a fixed time, valid for decades: the same draws give the same token
# (hypothesis replays them), and the middleware, which checks against the clock, honours it.
ISSUED = 1_700_000_000.0
TTL = 30 * 365 * 86400
store = MemoryStore(RULES)
engine = store.engine()


def account_of(value: str | None) -> Account | None:
    return Account(value) if value else None


def body_of(flags: flagware.FlagSet, override: str | None, token: str | None) -> dict[str, Any]:
    """What the app saw: the flags, and the override header and token cookie as its
    framework hands them over (cookie parsers strip blanks and quotes, for one)."""
    account = flags.account
    return {
        "account": None if account is None else account.id,
        "flags": flags.as_dict(),
        "variants": flags.variants(),
        "override_seen": override,
        "token_seen": token,
    }


# --- The apps. --------------------------------------------------------------------------------


def wsgi_inner(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    token = WerkzeugRequest(environ).cookies.get(TOKEN_COOKIE)
    body = body_of(flagware.current_flags(), environ.get("HTTP_X_FLAGWARE_OVERRIDE"), token)
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(body).encode()]


wsgi_app = WsgiMiddleware(
    wsgi_inner,
    store=store,
    resolve_account=lambda request: account_of(request.headers.get("X-Account-Id")),
    token_secret=SECRET,
    echo_overrides=True,
)


def _raw_override(scope: dict[str, Any]) -> str | None:
    """The override header as the middleware got it (None: absent or sent twice)."""
    values = [v for k, v in scope["headers"] if k == b"x-flagware-override"]
    return values[0].decode("latin-1") if len(values) == 1 else None


async def starlette_endpoint(request: Request) -> JSONResponse:
    token = request.cookies.get(TOKEN_COOKIE)
    return JSONResponse(body_of(flagware.current_flags(), _raw_override(request.scope), token))


def resolve(conn: HTTPConnection) -> Account | None:
    return account_of(conn.headers.get("x-account-id"))


starlette_app = AsgiMiddleware(
    Starlette(routes=[Route("/", starlette_endpoint)]),
    store=store,
    resolve_account=resolve,
    token_secret=SECRET,
    echo_overrides=True,
)


async def bare_inner(scope: Any, receive: Any, send: Any) -> None:
    seen = body_of(flagware.current_flags(), _raw_override(scope), None)
    body = json.dumps(seen).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


bare_app = AsgiMiddleware(
    bare_inner, store=store, resolve_account=resolve, token_secret=SECRET, echo_overrides=True
)


# --- What a request may get. ------------------------------------------------------------------


@dataclass
class Sent:
    account: str | None  # the X-Account-Id the app resolved (None: anonymous)
    genuine_token: dict[str, Any] | None  # the grant of a genuine token for that account


def check_response(sent: Sent, status: int, body: dict[str, Any], applied: str | None) -> None:
    assert status == 200
    account = account_of(sent.account)
    assert body["account"] == sent.account
    tester = account is not None and account.id in TEST_USERS
    base = engine.evaluate_all(account, test_user=tester)
    if account is None:
        wanted = None
    elif sent.genuine_token is not None:
        wanted = {k: v for k, v in sent.genuine_token.items() if k not in KILLED}
    elif tester and body["override_seen"] is not None:
        parsed = parse_override_header(body["override_seen"].encode("latin-1"))
        wanted = None if parsed is None else {k: v for k, v in parsed.items() if k not in KILLED}
    else:
        wanted = None  # an ordinary account's header is ignored, whatever it says
    event("overridden" if wanted is not None else "tester, not overridden" if tester else "-")
    if wanted is None:
        assert applied is None
        assert body["flags"] == base.as_dict()
        assert body["variants"] == base.variants()
        return
    overridden = base.with_overrides(wanted)
    assert body["flags"] == overridden.as_dict()
    assert body["variants"] == overridden.variants()
    assert parse_override_header(applied) == wanted if wanted else applied in (None, "")


class ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module", autouse=True)
def errors() -> Iterator[ErrorLog]:
    handler = ErrorLog()
    logger = logging.getLogger("flagware")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def no_errors_logged(log: ErrorLog) -> None:
    found, log.records[:] = list(log.records), []
    assert not found, [r.getMessage() for r in found]


# --- Inputs. ----------------------------------------------------------------------------------

known_accounts = st.sampled_from(["acct-1", "acct-42", *TEST_USERS])
# What servers hand over: header values are bytes; WSGI decodes them as latin-1.
latin1_text = st.text(st.characters(max_codepoint=255), max_size=40)
account_headers = st.none() | known_accounts | latin1_text
grants = st.dictionaries(
    st.sampled_from([*FLAGS, "not_defined"]),
    st.booleans() | st.sampled_from(["control", "green", "other"]),
    min_size=1,
    max_size=4,
)


@dataclass
class Cookie:
    header: str | None  # the Cookie header sent (None: none)
    token: str  # the genuine token for the request's account (whether sent or not)
    grant: dict[str, Any]  # what that token grants

    def genuine(self, account: str | None, token_seen: str | None) -> dict[str, Any] | None:
        """The grant, if the app's framework handed over the genuine token of ``account``."""
        return self.grant if account and token_seen == self.token else None


_cookie_kinds = st.sampled_from(
    ["none", "junk", "own", "other-account", "mutated", "arbitrary", "many"]
)


@st.composite
def cookies(draw: st.DrawFn, account: str | None) -> Cookie:
    """A Cookie header: none, junk, the account's genuine token, another account's, a
    mutated one, or an arbitrary value among other cookies."""
    kind = draw(_cookie_kinds)
    grant = draw(grants)
    owner = account or "acct-1"
    token = issue_override_token(SECRET, owner, grant, ttl=TTL, now=ISSUED)
    header: str | None
    if kind == "none":
        header = None
    elif kind == "junk":
        header = draw(latin1_text)
    elif kind == "own":
        header = f"{TOKEN_COOKIE}={token}"
    elif kind == "other-account":
        other = draw(known_accounts.filter(lambda a: a != owner))
        header = f"{TOKEN_COOKIE}={issue_override_token(SECRET, other, grant, ttl=TTL, now=ISSUED)}"
    elif kind == "mutated":
        mutated = draw(token_mutations(token))
        header = f"{TOKEN_COOKIE}=" + mutated.encode("utf-8", "replace").decode("latin-1")
    elif kind == "arbitrary":
        header = f"{TOKEN_COOKIE}=" + draw(latin1_text)
    else:
        header = f"session=abc; {TOKEN_COOKIE}={draw(latin1_text)}; other={draw(latin1_text)}"
    return Cookie(header, token, grant)


def as_latin1(value: str | bytes) -> str:
    """An override header as a WSGI server hands it over (bytes decoded as latin-1)."""
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value.encode("utf-8", "surrogatepass").decode("latin-1")


def as_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")


# --- WSGI. ------------------------------------------------------------------------------------


@given(st.data(), account_headers, st.none() | override_headers)
def test_wsgi_requests_never_fail_and_ordinary_accounts_never_override(
    errors: ErrorLog, data: st.DataObject, account: str | None, override: str | bytes | None
) -> None:
    cookie = data.draw(cookies(account), label="cookie")
    environ: dict[str, str] = {}
    if account is not None:
        environ["HTTP_X_ACCOUNT_ID"] = account
    if override is not None:
        environ["HTTP_X_FLAGWARE_OVERRIDE"] = as_latin1(override)
    if cookie.header is not None:
        environ["HTTP_COOKIE"] = cookie.header
    # environ_overrides: the test client would refuse some values a real server passes on;
    # no cookie jar, which would drop the Cookie header.
    response = Client(wsgi_app, use_cookies=False).get("/", environ_overrides=environ)
    body = json.loads(response.data)
    check_response(
        Sent(account or None, cookie.genuine(account, body["token_seen"])),
        response.status_code,
        body,
        response.headers.get(APPLIED),
    )
    no_errors_logged(errors)


# --- ASGI. ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def starlette_client() -> Iterator[TestClient]:
    with TestClient(starlette_app) as client:
        yield client


@given(st.data(), account_headers, st.none() | override_headers)
def test_asgi_requests_never_fail_and_ordinary_accounts_never_override(
    errors: ErrorLog,
    starlette_client: TestClient,
    data: st.DataObject,
    account: str | None,
    override: str | bytes | None,
) -> None:
    cookie = data.draw(cookies(account), label="cookie")
    headers: dict[str, bytes] = {}
    if account is not None:
        headers["x-account-id"] = account.encode("latin-1")
    if override is not None:
        headers["x-flagware-override"] = as_bytes(override)
    if cookie.header is not None:
        headers["cookie"] = cookie.header.encode("latin-1")
    response = starlette_client.get("/", headers=headers)
    body = response.json()
    genuine = cookie.genuine(account, body["token_seen"])
    # The test client re-encodes non-ASCII header bytes; what the app resolved is what counts
    # (a token is genuine only for the very account id it was issued to).
    if body["account"] != (account or None):
        assert account is not None
        assert not account.isascii()
        genuine = None
    check_response(
        Sent(body["account"], genuine), response.status_code, body, response.headers.get(APPLIED)
    )
    no_errors_logged(errors)


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    running = asyncio.new_event_loop()
    yield running
    running.close()


raw_header_names = st.sampled_from(
    [b"x-flagware-override", b"x-account-id", b"cookie", b"x-other", b"X-Flagware-Override"]
)
raw_values = st.binary(max_size=60) | override_headers.map(as_bytes)


@st.composite
def raw_header_lists(draw: st.DrawFn) -> list[tuple[bytes, bytes]]:
    """Header lists a server could pass: an account header and override headers (one, two
    or none) among random headers, in any order, with any bytes."""
    found: list[tuple[bytes, bytes]] = []
    if draw(st.booleans()):
        value = draw(known_accounts.map(str.encode) | st.binary(max_size=20))
        found.append((b"x-account-id", value))
    for _ in range(draw(st.sampled_from([0, 1, 1, 1, 2]))):
        found.append((b"x-flagware-override", draw(override_headers.map(as_bytes))))
    found += draw(st.lists(st.tuples(raw_header_names, raw_values), max_size=3))
    return draw(st.permutations(found))


@given(raw_header_lists())
def test_bare_asgi_calls_with_any_header_bytes_never_fail(
    errors: ErrorLog, loop: asyncio.AbstractEventLoop, raw: list[tuple[bytes, bytes]]
) -> None:
    """Any header list a server could pass: duplicates, any bytes, names in any case."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "headers": raw,
        "client": ("127.0.0.1", 1234),
        "server": ("127.0.0.1", 80),
    }
    loop.run_until_complete(bare_app(scope, receive, send))
    start, body_message = sent
    body = json.loads(body_message["body"])
    applied = dict(start["headers"]).get(APPLIED.lower().encode())
    ids = [v.decode("latin-1") for k, v in raw if k == b"x-account-id"]
    assert body["account"] == (ids[0] if ids else None) or ids[0] == ""
    check_response(
        Sent(body["account"], None),  # random bytes never hold a genuine token
        start["status"],
        body,
        None if applied is None else applied.decode("latin-1"),
    )
    no_errors_logged(errors)
