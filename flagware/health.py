"""A readiness route: 200 while every store serves what its backend holds, else 503.

``asgi_health_app(store, ...)`` and ``wsgi_health_app(store, ...)`` answer any path with
a JSON body built from each ``store.health()``::

    from flagware.health import asgi_health_app
    probe = asgi_health_app(main=store)     # mount at /readyz, or run it on its own port

A store is *ready* when it is connected, serves what its backend holds (no ``problem``)
and is not failing closed. ``max_stale`` lets a store that lost its backend stay ready
for that many seconds, serving its last good ruleset, so a short Redis outage does not
take every instance out of the load balancer at once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from flagware.stores._health import Health
    from flagware.stores.store import Store

__all__ = [
    "AsgiHealthApp",
    "WsgiHealthApp",
    "asgi_health_app",
    "health_report",
    "is_ready",
    "wsgi_health_app",
]

Receive = Callable[[], Awaitable[Any]]
Send = Callable[[Any], Awaitable[None]]
_TEXT = {200: "200 OK", 503: "503 Service Unavailable"}


def is_ready(health: Health, *, max_stale: float | None = None, now: float | None = None) -> bool:
    """Whether a store in this state should receive traffic."""
    if health.source == "fail-closed" or health.problem is not None:
        return False
    if health.connected:
        return True
    if max_stale is None or health.stale_since is None:
        return False
    return (now if now is not None else time.time()) - health.stale_since <= max_stale


def health_report(
    stores: Mapping[str, Store], *, max_stale: float | None = None
) -> tuple[int, dict[str, Any]]:
    """The status code (200 or 503) and JSON body for ``stores``; never raises."""
    body: dict[str, Any] = {}
    ready = True
    for label, store in stores.items():
        try:
            health = store.health()
        except Exception as exc:  # a probe reports a broken store, it does not crash
            body[label] = {"ready": False, "error": f"{type(exc).__name__}: {exc}"}
            ready = False
            continue
        ok = is_ready(health, max_stale=max_stale)
        body[label] = {"ready": ok, **asdict(health)}
        ready = ready and ok
    return (200 if ready else 503), {"status": "ok" if ready else "unavailable", "stores": body}


class _Report:
    """The stores a probe reports on, and how stale a store may be and still be ready."""

    def __init__(self, stores: Mapping[str, Store], max_stale: float | None) -> None:
        if not stores:
            raise ValueError("a health app needs at least one store")
        self.stores = dict(stores)
        self.max_stale = max_stale

    def report(self) -> tuple[int, bytes]:
        status, body = health_report(self.stores, max_stale=self.max_stale)
        return status, json.dumps(body, sort_keys=True).encode()


class AsgiHealthApp(_Report):
    """An ASGI app serving :func:`health_report` as JSON on any path."""

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":  # run on its own: accept startup and shutdown
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        status, body = self.report()
        headers = [(k.lower().encode(), v.encode()) for k, v in _headers(body)]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        shown = b"" if scope["method"] == "HEAD" else body
        await send({"type": "http.response.body", "body": shown})


class WsgiHealthApp(_Report):
    """A WSGI app serving :func:`health_report` as JSON on any path."""

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        status, body = self.report()
        start_response(_TEXT[status], _headers(body))
        return [b"" if environ.get("REQUEST_METHOD") == "HEAD" else body]


def asgi_health_app(
    *stores: Store, max_stale: float | None = None, **named: Store
) -> AsgiHealthApp:
    """A readiness ASGI app for ``stores`` (labelled by backend) and ``named`` stores."""
    return AsgiHealthApp(_labelled(stores, named), max_stale)


def wsgi_health_app(
    *stores: Store, max_stale: float | None = None, **named: Store
) -> WsgiHealthApp:
    """A readiness WSGI app for ``stores`` (labelled by backend) and ``named`` stores."""
    return WsgiHealthApp(_labelled(stores, named), max_stale)


def _labelled(stores: tuple[Store, ...], named: Mapping[str, Store]) -> dict[str, Store]:
    labelled = {_label(store): store for store in stores}
    labelled.update(named)
    return labelled


def _label(store: Store) -> str:
    namespace = getattr(store, "namespace", None)
    return f"{store.backend.name}:{namespace}" if namespace else store.backend.name


def _headers(body: bytes) -> list[tuple[str, str]]:
    return [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "no-store"),
    ]
