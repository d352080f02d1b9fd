"""The example apps without flagware's middleware: the baseline of the overhead benchmark."""

from __future__ import annotations

from examples.flask_app.app import app as flask_app
from examples.starlette_app.app import app as _wrapped_starlette
from flagware.asgi import FlagwareMiddleware as AsgiMiddleware
from flagware.wsgi import FlagwareMiddleware as WsgiMiddleware

if isinstance(flask_app.wsgi_app, WsgiMiddleware):
    flask_app.wsgi_app = flask_app.wsgi_app.app  # type: ignore[method-assign]
if not isinstance(_wrapped_starlette, AsgiMiddleware):
    raise RuntimeError("the Starlette example is expected to be wrapped in FlagwareMiddleware")
starlette_app = _wrapped_starlette.app

__all__ = ["flask_app", "starlette_app"]
