"""flagware.wsgi.FlagwareMiddleware around real Flask and plain WSGI apps (werkzeug client)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from flask import Flask, Response, request
from werkzeug.test import Client, EnvironBuilder, TestResponse

import flagware
from flagware import Account, MemoryStore
from flagware.overrides import issue_override_token
from flagware.wsgi import FlagwareMiddleware

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
TESTER = {"beta": True, "dark": True, "killed": False, "button": True}
SECRET = "wsgi-token-secret"
OVERRIDE = "X-Flagware-Override"


def resolve(req: Any) -> Account | None:
    """The account named by the X-Account-Id header (as a trusted gateway would set it)."""
    return ACCOUNTS.get(req.headers.get("X-Account-Id", ""))


def _current() -> dict[str, Any]:
    fs = flagware.current_flags()
    return {
        "account": fs.account.id if fs.account else None,
        "flags": fs.as_dict(),
        "variants": fs.variants(),
        "unknown": fs.is_enabled("not_in_the_rules"),
    }


def make_flask(**options: Any) -> Flask:
    app = Flask(__name__)

    @app.get("/flags")
    def flags_view() -> dict[str, Any]:
        payload = _current()
        payload["environ_is_current"] = request.environ["flagware.flags"] is (
            flagware.current_flags()
        )
        payload["proxy_beta"] = flagware.flags["beta"]
        return payload

    @app.get("/cached")
    def cached() -> Response:
        response = Response(json.dumps(_current()), mimetype="application/json")
        response.headers["Cache-Control"] = "public, max-age=60"
        response.headers["Vary"] = "Accept-Encoding"
        return response

    @app.get("/stream")
    def stream() -> Response:
        def chunks() -> Iterator[str]:
            for i in range(4):
                fs = flagware.current_flags()
                yield f"{i}:{fs.account.id if fs.account else '-'}:{fs['beta']}:{fs['dark']}\n"

        return Response(chunks(), mimetype="text/plain")

    options.setdefault("store", MemoryStore(RULES))
    options.setdefault("resolve_account", resolve)
    app.wsgi_app = FlagwareMiddleware(app.wsgi_app, **options)  # type: ignore[method-assign]
    return app


def get(app: Flask, path: str = "/flags", account: str | None = None, **headers: str) -> Any:
    sent = {k.replace("_", "-"): v for k, v in headers.items()}
    if account is not None:
        sent["X-Account-Id"] = account
    client = app.test_client()
    # The client replaces a Cookie header with its own cookie jar: put cookies in the jar.
    if "Cookie" in sent:
        name, _, value = sent.pop("Cookie").partition("=")
        client.set_cookie(name, value)
    return client.get(path, headers=sent)


def override(value: str) -> dict[str, str]:
    return {"X_Flagware_Override": value}


def vary(response: TestResponse) -> list[str]:
    return [part.strip() for value in response.headers.getlist("Vary") for part in value.split(",")]


def plain_app(body: Callable[[], Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """A bare WSGI app (no framework) whose body is whatever ``body()`` returns."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return body()

    return app


def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
    pass


def environ_for(account: str | None = None) -> dict[str, Any]:
    headers = {"X-Account-Id": account} if account else {}
    return EnvironBuilder(path="/", headers=headers).get_environ()


# --- flags in the request ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("account", "expected"),
    [
        (None, ANONYMOUS),
        ("acct-1", {**ANONYMOUS, "beta": True}),
        ("acct-2", ANONYMOUS),
        ("tester", TESTER),
    ],
)
def test_flask_view_sees_the_accounts_flags(account: str | None, expected: dict) -> None:
    body = get(make_flask(), account=account).json
    assert body["account"] == account
    assert body["flags"] == expected
    assert body["proxy_beta"] == expected["beta"]
    assert body["unknown"] is True
    assert body["environ_is_current"] is True


def test_plain_wsgi_app_sees_flags_in_proxy_and_environ() -> None:
    seen: list[Any] = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        seen.append((environ["flagware.flags"], flagware.current_flags(), flagware.flags["beta"]))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    mw = FlagwareMiddleware(app, store=MemoryStore(RULES), resolve_account=resolve)
    response = Client(mw).get("/", headers={"X-Account-Id": "acct-1"})
    assert response.status_code == 200
    assert response.get_data() == b"ok"
    [(in_environ, current, beta)] = seen
    assert in_environ is current
    assert current.account == ACCOUNTS["acct-1"]
    assert beta is True


@pytest.fixture
def counting_store() -> Iterator[tuple[MemoryStore, list[str]]]:
    calls: list[str] = []

    class Counting(flagware.Strategy):
        def matches(self, account: Account) -> bool:
            calls.append(account.id)
            return True

    flagware.register_strategy("wsgi_test_counting")(Counting)
    try:
        doc = {"flags": {"counted": {"strategies": [{"type": "wsgi_test_counting"}]}}}
        yield MemoryStore(doc), calls
    finally:
        flagware.unregister_strategy("wsgi_test_counting")


def test_flags_are_evaluated_once_per_request(
    counting_store: tuple[MemoryStore, list[str]],
) -> None:
    store, calls = counting_store
    seen: list[Any] = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        seen.append(flagware.current_flags())
        assert all(flagware.flags["counted"] for _ in range(5))
        start_response("200 OK", [])
        for _ in range(3):
            seen.append(flagware.current_flags())
            yield str(flagware.flags.is_enabled("counted")).encode()

    client = Client(FlagwareMiddleware(app, store=store, resolve_account=resolve))
    assert client.get("/", headers={"X-Account-Id": "acct-1"}).get_data() == b"TrueTrueTrue"
    assert calls == ["acct-1"]
    assert len(seen) == 4
    assert all(fs is seen[0] for fs in seen)
    assert client.get("/", headers={"X-Account-Id": "acct-2"}).get_data() == b"TrueTrueTrue"
    assert calls == ["acct-1", "acct-2"]


# --- streaming bodies and close() ---------------------------------------------------------


def test_flask_streamed_chunks_see_the_requests_flags() -> None:
    assert not flagware.flags.active
    response = get(make_flask(), "/stream", account="tester")
    # The chunks are produced here, after the view returned, outside any flag context.
    assert response.get_data(as_text=True).splitlines() == [
        f"{i}:tester:True:True" for i in range(4)
    ]
    assert not flagware.flags.active


def test_streamed_chunks_of_two_interleaved_requests_stay_apart() -> None:
    def body() -> Iterator[bytes]:
        for _ in range(3):
            account = flagware.flags.account
            yield (account.id if account else "-").encode()

    mw = FlagwareMiddleware(plain_app(body), store=MemoryStore(RULES), resolve_account=resolve)
    first = iter(mw(environ_for("acct-1"), start_response))
    second = iter(mw(environ_for(None), start_response))
    third = iter(mw(environ_for("tester"), start_response))
    rounds = [(next(first), next(second), next(third)) for _ in range(3)]
    assert rounds == [(b"acct-1", b"-", b"tester")] * 3
    assert not flagware.flags.active


class CountingBody:
    """A response body with a ``close`` that counts its calls and records the flags it saw."""

    def __init__(self) -> None:
        self.closed = 0
        self.flags_at_close: list[Any] = []

    def __iter__(self) -> Iterator[bytes]:
        yield b"a"
        yield b"b"

    def close(self) -> None:
        self.closed += 1
        self.flags_at_close.append(flagware.flags.account if flagware.flags.active else "none")


@pytest.mark.parametrize("iterate", [True, False])
def test_close_is_forwarded_once_even_if_called_twice(iterate: bool) -> None:
    body = CountingBody()
    mw = FlagwareMiddleware(
        plain_app(lambda: body), store=MemoryStore(RULES), resolve_account=resolve
    )
    result = mw(environ_for("acct-1"), start_response)
    if iterate:
        assert b"".join(result) == b"ab"
    result.close()  # type: ignore[attr-defined]
    result.close()  # type: ignore[attr-defined]
    assert body.closed == 1
    assert body.flags_at_close == [ACCOUNTS["acct-1"]]


def test_close_through_the_werkzeug_client() -> None:
    body = CountingBody()
    mw = FlagwareMiddleware(
        plain_app(lambda: body), store=MemoryStore(RULES), resolve_account=resolve
    )
    response = Client(mw).get("/", headers={"X-Account-Id": "tester"})
    assert response.get_data() == b"ab"
    response.close()
    assert body.closed == 1
    assert body.flags_at_close == [ACCOUNTS["tester"]]


def test_body_without_close_is_fine() -> None:
    mw = FlagwareMiddleware(
        plain_app(lambda: [b"x", b"y"]), store=MemoryStore(RULES), resolve_account=resolve
    )
    result = mw(environ_for(None), start_response)
    assert list(result) == [b"x", b"y"]
    result.close()  # type: ignore[attr-defined]


def test_generator_cleanup_sees_the_flags() -> None:
    seen: list[Any] = []

    def body() -> Iterator[bytes]:
        try:
            yield b"first"
            yield b"never"
        finally:
            seen.append(flagware.flags.account)

    mw = FlagwareMiddleware(plain_app(body), store=MemoryStore(RULES), resolve_account=resolve)
    result = mw(environ_for("acct-2"), start_response)
    assert next(iter(result)) == b"first"
    result.close()  # type: ignore[attr-defined]
    assert seen == [ACCOUNTS["acct-2"]]


# --- no leaks between requests ---------------------------------------------------------------


def test_no_flags_leak_into_the_thread_or_the_next_request() -> None:
    app = make_flask()
    overridden = get(app, account="tester", **override("beta=off, button=green"))
    assert overridden.json["flags"]["beta"] is False
    assert not flagware.flags.active
    anonymous = get(app).json
    assert anonymous["account"] is None
    assert anonymous["flags"] == ANONYMOUS
    assert anonymous["variants"] == {"button": "control"}
    assert not flagware.flags.active


def test_a_request_inside_use_flags_gets_its_own_flags() -> None:
    with flagware.use_flags({"beta": True, "dark": True}) as outer:
        body = get(make_flask()).json
        assert flagware.current_flags() is outer
    assert body["account"] is None
    assert body["flags"] == ANONYMOUS


# --- resolving the account ---------------------------------------------------------------------


def test_resolver_raising_is_logged_and_request_is_anonymous(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(req: Any) -> Account | None:
        raise RuntimeError("session store down")

    with caplog.at_level(logging.ERROR, logger="flagware"):
        response = get(make_flask(resolve_account=broken), account="tester")
    assert response.status_code == 200
    assert response.json["account"] is None
    assert response.json["flags"] == ANONYMOUS
    assert any("resolve_account raised" in r.getMessage() for r in caplog.records)
    assert any(r.exc_info and "session store down" in str(r.exc_info[1]) for r in caplog.records)


def test_resolver_returning_none_is_anonymous() -> None:
    response = get(make_flask(resolve_account=lambda req: None), account="acct-1")
    assert response.json["account"] is None
    assert response.json["flags"] == ANONYMOUS


def test_resolver_gets_a_werkzeug_request() -> None:
    seen: list[Any] = []

    def spy(req: Any) -> Account | None:
        seen.append((type(req).__module__, req.path, req.headers.get("X-Account-Id")))
        return resolve(req)

    get(make_flask(resolve_account=spy), account="acct-1")
    assert seen == [("werkzeug.wrappers.request", "/flags", "acct-1")]


@pytest.mark.parametrize("resolver", [None, "resolve", 42])
def test_resolve_account_must_be_callable(resolver: Any) -> None:
    with pytest.raises(TypeError, match="resolve_account"):
        FlagwareMiddleware(plain_app(list), store=MemoryStore(RULES), resolve_account=resolver)


# --- overrides by header -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("account", "header", "expected"),
    [
        ("tester", "beta=off", {**TESTER, "beta": False}),
        ("tester", "beta=off, dark=0, button=green", {**TESTER, "beta": False, "dark": False}),
        ("tester", "brand_new=on", {**TESTER, "brand_new": True}),
        ("tester", "BETA=off", {**TESTER, "BETA": False}),
    ],
)
def test_test_user_override_applies(account: str, header: str, expected: dict) -> None:
    body = get(make_flask(), account=account, **override(header)).json
    assert body["flags"] == expected


def test_test_user_override_picks_a_variant() -> None:
    body = get(make_flask(), account="tester", **override("button=green")).json
    assert body["variants"] == {"button": "green"}


@pytest.mark.parametrize("account", ["acct-1", "acct-2", "staff"])
def test_override_from_an_ordinary_account_is_ignored_and_logged(
    account: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_flask()
    plain = get(app, account=account).json
    with caplog.at_level(logging.WARNING, logger="flagware"):
        response = get(app, account=account, **override("dark=on, beta=off"))
    assert response.json["flags"] == plain["flags"]
    assert "Cache-Control" not in response.headers
    assert "X-Flagware-Override" not in vary(response)
    assert any("not a test user" in r.getMessage() for r in caplog.records)


def test_override_from_an_anonymous_request_is_ignored() -> None:
    body = get(make_flask(), **override("dark=on")).json
    assert body["flags"] == ANONYMOUS


@pytest.mark.parametrize(
    "header",
    ["beta=off, dark", "beta=off,", "beta=off, beta=on", "beta=off, 9=on", "beta=off\x00"],
)
def test_malformed_header_from_a_test_user_is_ignored_whole(
    header: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_flask()
    with caplog.at_level(logging.WARNING, logger="flagware"):
        response = get(app, account="tester", **override(header))
    assert response.status_code == 200
    assert response.json["flags"] == TESTER
    assert "Cache-Control" not in response.headers
    assert any("malformed" in r.getMessage() for r in caplog.records)


def test_is_test_user_callable_grants_overrides() -> None:
    app = make_flask(is_test_user=lambda account: account.attributes.get("staff") is True)
    assert get(app, account="staff").json["flags"] == TESTER
    body = get(app, account="staff", **override("dark=off")).json
    assert body["flags"] == {**TESTER, "dark": False}
    assert get(app, account="acct-2", **override("dark=on")).json["flags"] == ANONYMOUS
    # The ruleset's own test users still count.
    assert get(app, account="tester", **override("dark=off")).json["flags"]["dark"] is False


def test_raising_is_test_user_treats_the_account_as_ordinary(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(account: Account) -> bool:
        raise RuntimeError("directory down")

    app = make_flask(is_test_user=broken)
    with caplog.at_level(logging.WARNING, logger="flagware"):
        response = get(app, account="staff", **override("dark=on"))
    assert response.status_code == 200
    assert response.json["flags"] == ANONYMOUS
    assert any("is_test_user raised" in r.getMessage() for r in caplog.records)
    # The ruleset's test users need no callable.
    assert get(app, account="tester", **override("dark=off")).json["flags"]["dark"] is False


def test_custom_override_header_name() -> None:
    app = make_flask(override_header="X-Test-Flags")
    assert get(app, account="tester", X_Test_Flags="beta=off").json["flags"]["beta"] is False
    assert get(app, account="tester", **override("beta=off")).json["flags"]["beta"] is True
    response = get(app, "/cached", account="tester", X_Test_Flags="beta=off")
    assert "X-Test-Flags" in vary(response)


# --- response headers of overridden requests ---------------------------------------------------


def test_overridden_response_is_private_and_varies() -> None:
    response = get(make_flask(), "/cached", account="tester", **override("beta=off"))
    assert response.headers.getlist("Cache-Control") == ["private, no-store"]
    assert "Accept-Encoding" in vary(response)
    assert "X-Flagware-Override" in vary(response)
    assert "X-Flagware-Overrides-Applied" not in response.headers


def test_overridden_flask_json_response_is_private() -> None:
    response = get(make_flask(), account="tester", **override("beta=off"))
    assert response.headers["Cache-Control"] == "private, no-store"
    assert vary(response) == ["X-Flagware-Override"]


def test_plain_response_keeps_the_apps_cache_headers() -> None:
    response = get(make_flask(), "/cached", account="tester")
    assert response.headers.getlist("Cache-Control") == ["public, max-age=60"]
    assert vary(response) == ["Accept-Encoding"]


def test_echo_header_only_when_enabled_and_overridden() -> None:
    echo = make_flask(echo_overrides=True)
    response = get(echo, account="tester", **override("beta=off, dark=on, button=green"))
    assert response.headers["X-Flagware-Overrides-Applied"] == "beta=off, dark=on, button=green"
    assert "X-Flagware-Overrides-Applied" not in get(echo, account="tester").headers
    refused = get(echo, account="acct-2", **override("beta=off"))
    assert "X-Flagware-Overrides-Applied" not in refused.headers
    quiet = get(make_flask(), account="tester", **override("beta=off"))
    assert "X-Flagware-Overrides-Applied" not in quiet.headers


# --- signed override tokens --------------------------------------------------------------------


def token_for(account: str, grant: dict[str, bool | str], **kwargs: Any) -> dict[str, str]:
    token = issue_override_token(kwargs.pop("secret", SECRET), account, grant, **kwargs)
    return {"Cookie": f"flagware_override={token}"}


def test_token_applies_for_its_account_even_if_not_a_test_user() -> None:
    app = make_flask(token_secret=SECRET, echo_overrides=True)
    response = get(app, "/cached", account="acct-2", **token_for("acct-2", {"dark": True}))
    assert response.json["flags"] == {**ANONYMOUS, "dark": True}
    assert response.headers.getlist("Cache-Control") == ["private, no-store"]
    assert {"Accept-Encoding", "X-Flagware-Override", "Cookie"} <= set(vary(response))
    assert response.headers["X-Flagware-Overrides-Applied"] == "dark=on"


def test_token_applies_for_a_test_user() -> None:
    app = make_flask(token_secret=SECRET)
    body = get(app, account="tester", **token_for("tester", {"beta": False})).json
    assert body["flags"] == {**TESTER, "beta": False}


def test_token_in_a_custom_cookie() -> None:
    app = make_flask(token_secret=SECRET, token_cookie="qa")
    token = issue_override_token(SECRET, "acct-2", {"dark": True})
    assert get(app, account="acct-2", Cookie=f"qa={token}").json["flags"]["dark"] is True
    default = get(app, account="acct-2", Cookie=f"flagware_override={token}")
    assert default.json["flags"]["dark"] is False


def _tampered(account: str) -> dict[str, str]:
    cookie = token_for(account, {"dark": True})["Cookie"]
    return {"Cookie": cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB")}


@pytest.mark.parametrize(
    ("account", "cookie"),
    [
        pytest.param("acct-1", lambda: token_for("acct-2", {"dark": True}), id="foreign"),
        pytest.param(
            "acct-2",
            lambda: token_for("acct-2", {"dark": True}, ttl=60, now=time.time() - 7200),
            id="expired",
        ),
        pytest.param("acct-2", lambda: _tampered("acct-2"), id="tampered"),
        pytest.param(
            "acct-2", lambda: token_for("acct-2", {"dark": True}, secret="other"), id="wrong-key"
        ),
        pytest.param(None, lambda: token_for("acct-2", {"dark": True}), id="anonymous"),
        pytest.param("acct-2", lambda: {"Cookie": "flagware_override=junk"}, id="junk"),
    ],
)
def test_bad_tokens_are_ignored(account: str | None, cookie: Callable[[], dict]) -> None:
    app = make_flask(token_secret=SECRET)
    plain = get(app, account=account).json["flags"]
    response = get(app, account=account, **cookie())
    assert response.status_code == 200
    assert response.json["flags"] == plain
    assert response.json["flags"]["dark"] is False
    assert "Cache-Control" not in response.headers


def test_tokens_are_ignored_without_a_token_secret() -> None:
    response = get(make_flask(), account="acct-2", **token_for("acct-2", {"dark": True}))
    assert response.json["flags"]["dark"] is False
    assert "Cache-Control" not in response.headers


def test_token_secret_rotation() -> None:
    app = make_flask(token_secret=["old", "new"])
    old = token_for("acct-2", {"dark": True}, secret="old")
    assert get(app, account="acct-2", **old).json["flags"]["dark"] is True


# --- failing closed ----------------------------------------------------------------------------


class BrokenStore(MemoryStore):
    def engine(self) -> flagware.Engine:
        raise RuntimeError("no ruleset")


def test_store_failure_turns_every_flag_off(caplog: pytest.LogCaptureFixture) -> None:
    app = make_flask(store=BrokenStore(RULES), echo_overrides=True)
    with caplog.at_level(logging.ERROR, logger="flagware"):
        response = get(app, account="tester", **override("beta=on"))
    assert response.status_code == 200
    assert response.json["flags"] == {}
    assert response.json["unknown"] is False
    assert response.json["proxy_beta"] is False
    assert "X-Flagware-Overrides-Applied" not in response.headers
    assert any("evaluating flags failed" in r.getMessage() for r in caplog.records)
