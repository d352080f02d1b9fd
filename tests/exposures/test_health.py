"""flagware.health: the readiness route, as WSGI and as ASGI, 200 and 503."""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.testclient import TestClient
from werkzeug.test import Client

from flagware import MemoryStore, RedisStore
from flagware.health import asgi_health_app, is_ready, wsgi_health_app
from flagware.stores._health import Health
from tests.redis_server import RedisServer

RULES = {"flags": {"beta": {"strategies": [{"type": "everyone"}]}}}


def test_a_healthy_store_is_ready_on_wsgi_and_asgi() -> None:
    store = MemoryStore(RULES)
    wsgi = Client(wsgi_health_app(main=store)).get("/readyz")
    asgi = TestClient(asgi_health_app(main=store)).get("/readyz")
    for response in (wsgi, asgi):
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/json"
        body = json.loads(response.text)
        assert body["status"] == "ok"
        assert body["stores"]["main"]["ready"] is True
        assert body["stores"]["main"]["version"] == 1


def test_a_store_whose_redis_stopped_is_not_ready(
    own_redis: Callable[[], RedisServer], namespace: str
) -> None:
    server = own_redis()
    store = RedisStore.from_url(
        server.url, namespace=namespace, poll_interval=None, snapshot_path=False
    )
    try:
        store.save(RULES)
        wsgi, asgi = wsgi_health_app(store), asgi_health_app(store)
        assert Client(wsgi).get("/").status_code == 200
        server.stop()
        assert store.refresh() is False  # the store notices: it serves its last good ruleset
        for response in (Client(wsgi).get("/"), TestClient(asgi).get("/")):
            assert response.status_code == 503
            body = json.loads(response.text)
            assert body["status"] == "unavailable"
            (state,) = body["stores"].values()
            assert state["connected"] is False
            assert state["version"] == 1
            assert state["failed_syncs"] >= 1
    finally:
        store.close()


def test_max_stale_tolerates_a_short_outage() -> None:
    stale = Health(False, 3, "redis", stale_since=1000.0, last_error="down")
    assert is_ready(stale) is False
    assert is_ready(stale, max_stale=30, now=1010.0) is True
    assert is_ready(stale, max_stale=30, now=1031.0) is False
    assert is_ready(Health(True, 0, "fail-closed", None, None)) is False
    assert is_ready(Health(True, 3, "redis", None, None, problem="corrupt")) is False
