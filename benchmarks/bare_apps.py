"""The example apps without flagware's middleware: the baseline of the overhead benchmark."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, request
from starlette.requests import HTTPConnection

from examples.demo import settings_from_env
from examples.flask_app.app import app as flask_app
from examples.flask_app.app import create_app as _create_flask_app
from examples.flask_app.app import store as _flask_store
from examples.starlette_app.app import app as _wrapped_starlette
from flagware.asgi import FlagwareMiddleware as AsgiMiddleware
from flagware.wsgi import FlagwareMiddleware as WsgiMiddleware

_resolve = settings_from_env().resolve_account


def _without_flagware(app: Flask) -> Flask:
    """The Flask example without the extension (flagware.flask): its context wrapper and
    its hook taken out, leaving the same app without flagware."""
    if isinstance(app.wsgi_app, WsgiMiddleware):
        app.wsgi_app = app.wsgi_app.app  # type: ignore[method-assign, assignment]
    extension = app.extensions.pop("flagware", None)
    if extension is not None:
        app.wsgi_app = app.wsgi_app.app  # type: ignore[attr-defined, method-assign]
        app.before_request_funcs[None].remove(extension.before_request)
    return app


flask_app = _without_flagware(flask_app)
flask_resolving = _without_flagware(_create_flask_app(settings_from_env(), _flask_store))


@flask_resolving.before_request
def _resolve_account() -> None:
    """What the extension's resolver does, without flagware: what the app pays to know
    who is asking, with or without flagware."""
    g.account = _resolve(request)


if not isinstance(_wrapped_starlette, AsgiMiddleware):
    raise RuntimeError("the Starlette example is expected to be wrapped in FlagwareMiddleware")
starlette_app = _wrapped_starlette.app


async def starlette_resolving(scope: Any, receive: Any, send: Any) -> None:
    """The bare Starlette example, resolving each request's account as the example's
    resolver does: what an app pays to know who is asking, with or without flagware."""
    if scope["type"] == "http":
        scope["account"] = _resolve(HTTPConnection(scope))
    await starlette_app(scope, receive, send)


__all__ = ["flask_app", "flask_resolving", "starlette_app", "starlette_resolving"]
