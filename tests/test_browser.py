"""Browser-facing flags: the ``client: true`` field, the endpoint both middlewares mount,
and the inline bootstrap script."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from werkzeug.test import Client

import flagware
from flagware import Account, FlagSet, MemoryStore
from flagware.asgi import FlagwareMiddleware as AsgiMiddleware
from flagware.browser import bootstrap_script, client_payload
from flagware.wsgi import FlagwareMiddleware as WsgiMiddleware

PATH = "/flagware/flags.json"
RULES: dict[str, Any] = {
    "test_users": ["tester"],
    "flags": {
        "new_nav": {
            "client": True,
            "strategies": [{"type": "accounts", "ids": ["acct-1", "secret-vip-account"]}],
        },
        "button": {
            "client": True,
            "strategies": [{"type": "everyone"}],
            "variants": {"control": 50, "green": 50},
        },
        "server_only": {"strategies": [{"type": "everyone"}]},
        "killed": {"client": True, "enabled": False, "strategies": [{"type": "everyone"}]},
    },
}


def resolve(connection: Any) -> Account | None:
    account = connection.headers.get("X-Account-Id")
    return Account(account) if account else None


def wsgi_client(store: MemoryStore) -> Client:
    def app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"app: " + environ["PATH_INFO"].encode()]

    return Client(WsgiMiddleware(app, store=store, resolve_account=resolve, client_path=PATH))


def asgi_client(store: MemoryStore) -> TestClient:
    async def other(request: Request) -> PlainTextResponse:
        return PlainTextResponse("app: " + request.url.path)

    app = Starlette(routes=[Route("/{path:path}", other, methods=["GET", "POST"])])
    wrapped = AsgiMiddleware(app, store=store, resolve_account=resolve, client_path=PATH)
    return TestClient(wrapped)


class Served:
    """One request's status, headers and body, from either test client."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        return json.loads(self.body)


@pytest.fixture(params=["wsgi", "asgi"])
def get(request: pytest.FixtureRequest) -> Any:
    store = MemoryStore(RULES)
    if request.param == "wsgi":
        client = wsgi_client(store)

        def via_wsgi(path: str, method: str = "GET", **headers: str) -> Served:
            r = client.open(path, method=method, headers=headers)
            return Served(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.data)

        return via_wsgi
    test_client = asgi_client(store)

    def via_asgi(path: str, method: str = "GET", **headers: str) -> Served:
        r = test_client.request(method, path, headers=headers)
        return Served(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content)

    return via_asgi


def test_the_endpoint_lists_client_flags_only_with_no_rules(get: Any) -> None:
    served = get(PATH, **{"X-Account-Id": "acct-1"})
    assert served.status == 200
    body = served.json()
    assert set(body["flags"]) == {"new_nav", "button", "killed"}
    assert body["flags"] == {"new_nav": True, "button": True, "killed": False}
    assert body["variants"]["button"] in {"control", "green"}
    assert b"secret-vip-account" not in served.body
    assert b"strategies" not in served.body
    assert served.headers["content-type"] == "application/json"
    assert served.headers["cache-control"] == "private, no-store"
    assert served.headers["vary"] == "Cookie, Authorization, X-Flagware-Override"


def test_each_account_gets_its_own_answers(get: Any) -> None:
    assert get(PATH, **{"X-Account-Id": "acct-2"}).json()["flags"]["new_nav"] is False
    assert get(PATH).json()["flags"] == {"new_nav": False, "button": True, "killed": False}


def test_a_test_users_override_applies_and_an_ordinary_accounts_does_not(get: Any) -> None:
    override = {"X-Flagware-Override": "new_nav=off,button=green"}
    tester = get(PATH, **{"X-Account-Id": "tester"}, **override).json()
    assert tester == {"flags": {"new_nav": False, "button": True, "killed": False},
                      "variants": {"button": "green"}}  # fmt: skip
    ordinary = get(PATH, **{"X-Account-Id": "acct-1"}, **override).json()
    assert ordinary["flags"]["new_nav"] is True


def test_a_malformed_override_is_harmless(get: Any) -> None:
    served = get(PATH, **{"X-Account-Id": "tester", "X-Flagware-Override": "=,=;;\x7f"})
    assert served.status == 200
    assert served.json()["flags"]["new_nav"] is True  # a test user sees every flag


def test_other_paths_reach_the_app(get: Any) -> None:
    served = get("/flagware/other.json")
    assert (served.status, served.body) == (200, b"app: /flagware/other.json")


def test_only_get_and_head_and_never_cross_site(get: Any) -> None:
    assert get(PATH, method="POST").status == 405
    head = get(PATH, method="HEAD")
    assert (head.status, head.body) == (200, b"")
    assert get(PATH, **{"Sec-Fetch-Site": "cross-site"}).status == 403
    assert get(PATH, **{"Sec-Fetch-Site": "same-origin"}).status == 200


def test_a_change_to_the_client_field_is_served_at_once() -> None:
    store = MemoryStore(RULES)
    client = wsgi_client(store)
    doc = store.ruleset().to_dict()
    doc["flags"]["server_only"]["client"] = True
    del doc["flags"]["new_nav"]["client"]
    store.save(doc)
    flags = json.loads(client.get(PATH).data)["flags"]
    assert set(flags) == {"server_only", "button", "killed"}


def test_client_path_must_be_a_path() -> None:
    with pytest.raises(ValueError, match="client_path must start with '/'"):
        WsgiMiddleware(lambda e, s: [], store=MemoryStore(RULES), resolve_account=resolve,
                       client_path="flags.json")  # fmt: skip
    with pytest.raises(ValueError, match="client_path must start with '/'"):
        AsgiMiddleware(Starlette(), store=MemoryStore(RULES), resolve_account=resolve,
                       client_path="flags.json")  # fmt: skip


def test_the_client_field_is_validated_and_round_trips() -> None:
    with pytest.raises(flagware.RulesetError, match=r"flags\.a\.client: Input should be a valid"):
        flagware.Ruleset.from_dict({"flags": {"a": {"client": "yes"}}})
    ruleset = flagware.Ruleset.from_dict(RULES)
    assert ruleset.flags["new_nav"].client
    assert not ruleset.flags["server_only"].client
    assert ruleset.to_dict()["flags"]["new_nav"]["client"] is True
    assert "client" not in ruleset.to_dict()["flags"]["server_only"]
    assert flagware.Engine(ruleset).client_flags == ("new_nav", "button", "killed")


def test_the_bootstrap_script_cannot_be_broken_out_of() -> None:
    hostile = "</script><script>alert(1)</script><!--"
    flags = FlagSet.from_mapping({"a": hostile, "b": True, "hidden": True})
    html = bootstrap_script(flags, ["a", "b"], nonce='n"1')
    assert html.startswith('<script type="application/json" id="flagware-flags" nonce="n&quot;1">')
    inner = html.removeprefix(html.split(">", 1)[0] + ">").removesuffix("</script>")
    assert "<" not in inner
    assert ">" not in inner
    assert json.loads(inner) == {"flags": {"a": True, "b": True}, "variants": {"a": hostile}}
    assert json.loads(inner) == client_payload(flags, ["a", "b"])


def test_a_websocket_on_the_path_is_left_to_the_app() -> None:
    seen: list[bool] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(flagware.flags.is_enabled("button"))
        await send({"type": "websocket.close"})

    wrapped = AsgiMiddleware(app, store=MemoryStore(RULES), resolve_account=resolve,
                             client_path=PATH)  # fmt: skip
    with pytest.raises(Exception), TestClient(wrapped).websocket_connect(PATH):  # noqa: B017
        pass
    assert seen == [True]
