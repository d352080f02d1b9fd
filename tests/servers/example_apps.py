"""The example apps as the real-server tests serve them, each response saying which worker
process answered it (``X-Worker-Pid``), so a test can tell that every worker agreed.

Servers import them by string (``tests.servers.example_apps:flask_app``, ``...:starlette_app``);
each worker imports the example itself, as it would in production without ``--preload``.
"""

from __future__ import annotations

import os
from typing import Any

PID_HEADER = "X-Worker-Pid"


def _flask() -> Any:
    from examples.flask_app.app import app

    def with_pid(environ: Any, start_response: Any) -> Any:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, [*headers, (PID_HEADER, str(os.getpid()))], exc_info)

        return app(environ, start)

    return with_pid


def _starlette() -> Any:
    from examples.starlette_app.app import app

    pid = str(os.getpid()).encode()

    async def with_pid(scope: Any, receive: Any, send: Any) -> None:
        async def send_with_pid(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (PID_HEADER.lower().encode(), pid)]
                message = {**message, "headers": headers}
            await send(message)

        await app(scope, receive, send_with_pid)

    return with_pid


def __getattr__(name: str) -> Any:
    # Built on first use: a server imports only the example it serves.
    if name == "flask_app":
        return _flask()
    if name == "starlette_app":
        return _starlette()
    raise AttributeError(name)
