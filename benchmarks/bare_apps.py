"""The example apps without flagware's middleware: the baseline of the overhead benchmark."""

from __future__ import annotations

from typing import Any

from starlette.requests import HTTPConnection

from examples.demo import settings_from_env
from examples.flask_app.app import app as flask_app
from examples.starlette_app.app import app as _wrapped_starlette
from flagware.asgi import FlagwareMiddleware as AsgiMiddleware
from flagware.wsgi import FlagwareMiddleware as WsgiMiddleware

if isinstance(flask_app.wsgi_app, WsgiMiddleware):
    flask_app.wsgi_app = flask_app.wsgi_app.app  # type: ignore[method-assign, assignment]
# The Flask example uses the extension (flagware.flask): take out its context wrapper and
# its hooks, leaving the same app without flagware.
_extension = flask_app.extensions.pop("flagware", None)
if _extension is not None:
    flask_app.wsgi_app = flask_app.wsgi_app.app  # type: ignore[attr-defined, method-assign]
    flask_app.before_request_funcs[None].remove(_extension.before_request)
    flask_app.after_request_funcs[None].remove(_extension.after_request)
if not isinstance(_wrapped_starlette, AsgiMiddleware):
    raise RuntimeError("the Starlette example is expected to be wrapped in FlagwareMiddleware")
starlette_app = _wrapped_starlette.app
_resolve = settings_from_env().resolve_account


async def starlette_resolving(scope: Any, receive: Any, send: Any) -> None:
    """The bare Starlette example, resolving each request's account as the example's
    resolver does: what an app pays to know who is asking, with or without flagware."""
    if scope["type"] == "http":
        scope["account"] = _resolve(HTTPConnection(scope))
    await starlette_app(scope, receive, send)


__all__ = ["flask_app", "starlette_app", "starlette_resolving"]
