"""flagware.fastapi's dependencies in a real FastAPI app (its TestClient), and the FastAPI
example under a real uvicorn server."""

from __future__ import annotations

import http.client
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi import Depends, FastAPI, WebSocket
from fastapi.testclient import TestClient

import flagware
from examples import demo
from examples.fastapi_app.app import create_app
from flagware import Account, FlagSet, MemoryStore
from flagware.asgi import FlagwareMiddleware
from flagware.fastapi import Flags, flags, require_flag
from tests.processes import free_port, serving

RULES: dict[str, Any] = {
    "test_users": ["tester"],
    "flags": {"beta": {"strategies": [{"type": "accounts", "ids": ["acct-1"]}]}},
}


def resolve(connection: Any) -> Account | None:
    account = connection.headers.get("X-Account-Id")
    return Account(account) if account else None


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    app.add_middleware(FlagwareMiddleware, store=MemoryStore(RULES), resolve_account=resolve)

    @app.get("/annotated")
    async def annotated(fs: Flags) -> dict[str, bool]:
        return {"beta": fs.is_enabled("beta")}

    @app.get("/depends")
    def sync_endpoint(fs: FlagSet = Depends(flags)) -> dict[str, bool]:  # noqa: B008
        return {"beta": fs["beta"], "context": flagware.flags["beta"]}

    @app.get("/gated", dependencies=[Depends(require_flag("beta"))])
    async def gated() -> str:
        return "in"

    @app.websocket("/ws")
    async def ws(websocket: WebSocket, fs: Flags) -> None:
        await websocket.accept()
        await websocket.send_json({"beta": fs.is_enabled("beta")})
        await websocket.close()

    return TestClient(app)


def test_the_flags_dependency_in_async_and_sync_endpoints(client: TestClient) -> None:
    assert client.get("/annotated", headers={"X-Account-Id": "acct-1"}).json() == {"beta": True}
    assert client.get("/annotated", headers={"X-Account-Id": "acct-2"}).json() == {"beta": False}
    both = client.get("/depends", headers={"X-Account-Id": "acct-1"}).json()
    assert both == {"beta": True, "context": True}


def test_require_flag_hides_the_route_from_everyone_else(client: TestClient) -> None:
    assert client.get("/gated", headers={"X-Account-Id": "acct-1"}).text == '"in"'
    assert client.get("/gated", headers={"X-Account-Id": "acct-2"}).status_code == 404
    assert client.get("/gated").status_code == 404


def test_a_test_users_override_reaches_the_dependency(client: TestClient) -> None:
    off = {"X-Account-Id": "tester", "X-Flagware-Override": "beta=off"}
    assert client.get("/annotated", headers=off).json() == {"beta": False}
    assert client.get("/gated", headers=off).status_code == 404
    ignored = {"X-Account-Id": "acct-2", "X-Flagware-Override": "beta=on"}
    assert client.get("/gated", headers=ignored).status_code == 404


def test_websockets_get_their_flags(client: TestClient) -> None:
    with client.websocket_connect("/ws", headers={"X-Account-Id": "acct-1"}) as ws:
        assert ws.receive_json() == {"beta": True}


def test_without_the_middleware_the_dependency_says_what_is_missing() -> None:
    app = FastAPI()

    @app.get("/")
    async def index(fs: Flags) -> str:
        return "unreachable"

    with pytest.raises(flagware.NoFlagContext, match="middleware"):
        TestClient(app).get("/")


def test_the_example_app(tmp_path: Path) -> None:
    settings = demo.settings_from_env({"FLAGWARE_DEMO_LOGIN": "off"})
    app = create_app(settings, flagware.FileStore(demo.BUNDLED_RULES))
    client = TestClient(app)
    pilot = {"X-Account-Id": "acct-42"}
    assert client.get("/checkout", headers=pilot).json()["checkout"] == "new"
    assert client.get("/beta", headers=pilot).status_code == 200
    assert client.get("/beta", headers={"X-Account-Id": "acct-100"}).status_code == 404
    body = client.get("/api/flags", headers=pilot).json()
    assert body["account"] == "acct-42"
    assert body["flags"]["new_checkout"] is True


def test_the_example_under_uvicorn(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLAGWARE_")}
    env.update(FLAGWARE_DEMO_LOGIN="off", XDG_CACHE_HOME=str(tmp_path), PORT=str(port))

    def get(path: str, headers: dict[str, str]) -> tuple[int, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            return response.status, json.loads(response.read() or b"null")
        finally:
            conn.close()

    command = [sys.executable, "-m", "examples.fastapi_app"]
    with serving(command, env, lambda: get("/api/flags", {})[0] == 200, tmp_path / "log"):
        assert get("/beta", {"X-Account-Id": "acct-42"})[0] == 200
        assert get("/beta", {"X-Account-Id": "acct-100"})[0] == 404
        tester = {"X-Account-Id": "testuser1", "X-Flagware-Override": "new_checkout=off"}
        assert get("/checkout", tester)[1]["checkout"] == "classic"
        status, client_flags = get("/flagware/flags.json", {"X-Account-Id": "testuser1"})
        assert (status, client_flags) == (200, {"flags": {"dark_mode": True}, "variants": {}})
