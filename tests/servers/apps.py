"""Small WSGI (Flask) and ASGI (Starlette) apps behind flagware, for the real-server tests.

The servers import them by string (``tests.servers.apps:wsgi_app``, ``...:asgi_app``) from
the repository root; the tests import the same module for the expected flags.

The ruleset has 50 flags, and account ``acct-<i>`` (1 <= i <= 255) sees a pattern of its
own: flags 0-7 spell ``i`` in binary, the rest mix other allowlists, ``last_digit``,
``everyone`` and a kill switch. ``released(i, j)`` is the plain-Python truth the ruleset
encodes; a response's *signature* is one ``0``/``1`` per flag, in name order.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import flagware
from flagware import Account

ACCOUNT_HEADER = "X-Account-Id"
N_FLAGS = 50
MAX_ACCOUNT = 255
FLAG_NAMES = tuple(f"flag_{j:02d}" for j in range(N_FLAGS))
EVERYONE_FLAG = 45
KILLED_FLAG = 46


def released(i: int | None, j: int) -> bool:
    """Whether flag ``j`` is on for account ``acct-<i>`` (None: an anonymous request)."""
    if j == EVERYONE_FLAG:
        return True
    if i is None or j == KILLED_FLAG:
        return False
    if j < 8:
        return bool(i >> j & 1)
    if j < 40:
        return (i * i + 3 * i * j + j) % 7 < 3
    if j < 45:
        return i % 10 in (j - 40, j - 35)
    return i % 3 == j - 47


def expected_signature(i: int | None) -> str:
    return "".join("1" if released(i, j) else "0" for j in range(N_FLAGS))


def ruleset_doc() -> dict[str, Any]:
    accounts = range(1, MAX_ACCOUNT + 1)
    flags: dict[str, Any] = {}
    for j, name in enumerate(FLAG_NAMES):
        if j == EVERYONE_FLAG:
            flags[name] = {"strategies": [{"type": "everyone"}]}
        elif j == KILLED_FLAG:
            flags[name] = {"enabled": False, "strategies": [{"type": "everyone"}]}
        elif 40 <= j < 45:
            flags[name] = {"strategies": [{"type": "last_digit", "digits": [j - 40, j - 35]}]}
        else:
            ids = [f"acct-{i}" for i in accounts if released(i, j)]
            flags[name] = {"strategies": [{"type": "accounts", "ids": ids}]}
    return {"schema": 1, "unknown": "hidden", "flags": flags}


def account_for(header: str | None) -> Account | None:
    if not header:
        return None
    prefix, _, number = header.partition("-")
    if prefix == "acct" and number.isdigit():
        return Account(id=header, number=int(number))
    return Account(id=header)


def seen() -> dict[str, Any]:
    """What the code running now sees: the flags' account and signature."""
    if not flagware.flags.active:
        return {"account": "<no-flag-context>", "sig": ""}
    account = flagware.flags.account
    sig = "".join("1" if flagware.flags.is_enabled(name) else "0" for name in FLAG_NAMES)
    return {"account": None if account is None else account.id, "sig": sig}


def chunk_line(header: str | None, index: int) -> bytes:
    now = seen()
    return f"{index} {header or '-'} {now['account'] or '-'} {now['sig']}\n".encode()


STREAM_CHUNKS = 4
STREAM_DELAY = 0.01

store = flagware.MemoryStore(ruleset_doc())


# --- WSGI: Flask ------------------------------------------------------------------------


def _build_flask() -> Any:
    from flask import Flask, Response, jsonify, request

    from flagware.wsgi import FlagwareMiddleware

    app = Flask(__name__)

    def port() -> int | None:
        value = request.environ.get("REMOTE_PORT")
        return int(value) if value else None

    @app.get("/health")
    def health() -> Any:
        return "ok"

    @app.route("/echo", methods=["GET", "POST"])
    def echo() -> Any:
        body = b"" if request.args.get("skip") else request.get_data()
        return jsonify(
            header=request.headers.get(ACCOUNT_HEADER),
            body_bytes=len(body),
            client_port=port(),
            pid=os.getpid(),
            **seen(),
        )

    @app.get("/stream")
    def stream() -> Any:
        header = request.headers.get(ACCOUNT_HEADER)
        n = int(request.args.get("n", STREAM_CHUNKS))

        # Deliberately no stream_with_context: flagware must carry the flags into the body.
        def generate() -> Iterator[bytes]:
            for index in range(n):
                time.sleep(STREAM_DELAY)
                yield chunk_line(header, index)

        return Response(generate(), mimetype="text/plain")

    app.wsgi_app = FlagwareMiddleware(  # type: ignore[method-assign]
        app.wsgi_app,
        store=store,
        resolve_account=lambda req: account_for(req.headers.get(ACCOUNT_HEADER)),
    )
    return app


# --- ASGI: Starlette --------------------------------------------------------------------

_background: dict[str, dict[str, Any]] = {}
_background_lock = threading.Lock()


def _record(key: str, header: str | None, kind: str) -> None:
    with _background_lock:
        _background[key] = {"header": header, "kind": kind, **seen()}


def _build_starlette() -> Any:
    from starlette.applications import Starlette
    from starlette.background import BackgroundTask
    from starlette.requests import HTTPConnection, Request
    from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket

    from flagware.asgi import FlagwareMiddleware

    def describe(request: Request, body: bytes = b"") -> dict[str, Any]:
        return {
            "header": request.headers.get(ACCOUNT_HEADER),
            "body_bytes": len(body),
            "client_port": request.client.port if request.client else None,
            "pid": os.getpid(),
            **seen(),
        }

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def echo(request: Request) -> Response:
        body = b"" if request.query_params.get("skip") else await request.body()
        await asyncio.sleep(0)  # let other requests run between reading and answering
        return JSONResponse(describe(request, body))

    def sync_echo(request: Request) -> Response:  # a def endpoint: runs in the thread pool
        time.sleep(0.002)
        return JSONResponse(describe(request))

    async def stream(request: Request) -> Response:
        header = request.headers.get(ACCOUNT_HEADER)
        n = int(request.query_params.get("n", STREAM_CHUNKS))

        async def generate() -> AsyncIterator[bytes]:
            for index in range(n):
                await asyncio.sleep(STREAM_DELAY)
                yield chunk_line(header, index)

        return StreamingResponse(generate(), media_type="text/plain")

    async def sync_stream(request: Request) -> Response:
        header = request.headers.get(ACCOUNT_HEADER)
        n = int(request.query_params.get("n", STREAM_CHUNKS))

        def generate() -> Iterator[bytes]:  # Starlette iterates it in the thread pool
            for index in range(n):
                time.sleep(STREAM_DELAY)
                yield chunk_line(header, index)

        return StreamingResponse(generate(), media_type="text/plain")

    async def background(request: Request) -> Response:
        key = request.query_params["key"]
        header = request.headers.get(ACCOUNT_HEADER)
        if request.query_params.get("sync") == "1":

            def sync_task() -> None:
                time.sleep(STREAM_DELAY)
                _record(key, header, "sync")

            task = BackgroundTask(sync_task)
        else:

            async def async_task() -> None:
                await asyncio.sleep(STREAM_DELAY)
                _record(key, header, "async")

            task = BackgroundTask(async_task)
        return JSONResponse({"scheduled": key}, background=task)

    async def background_result(request: Request) -> Response:
        with _background_lock:
            found = _background.pop(request.query_params["key"], None)
        if found is None:
            return JSONResponse({"pending": True}, status_code=404)
        return JSONResponse(found)

    async def websocket(ws: WebSocket) -> None:
        await ws.accept()
        header = ws.headers.get(ACCOUNT_HEADER)
        while True:
            message = await ws.receive_text()
            if message == "bye":
                await ws.close()
                return
            await asyncio.sleep(0.002)
            await ws.send_json({"header": header, "message": message, **seen()})

    app = Starlette(
        routes=[
            Route("/health", health),
            Route("/echo", echo, methods=["GET", "POST"]),
            Route("/sync-echo", sync_echo),
            Route("/stream", stream),
            Route("/sync-stream", sync_stream),
            Route("/background", background),
            Route("/background/result", background_result),
            WebSocketRoute("/ws", websocket),
        ]
    )

    def resolve(conn: HTTPConnection) -> Account | None:
        return account_for(conn.headers.get(ACCOUNT_HEADER))

    return FlagwareMiddleware(app, store=store, resolve_account=resolve)


def __getattr__(name: str) -> Any:
    # Built on first use, so importing this module for expected values needs neither
    # Flask nor Starlette to be set up.
    if name == "wsgi_app":
        return _build_flask()
    if name == "asgi_app":
        return _build_starlette()
    raise AttributeError(name)
