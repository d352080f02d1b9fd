"""ASGI middleware (pure ASGI, never ``BaseHTTPMiddleware``) for Starlette, FastAPI & co.

::

    from flagware.asgi import FlagwareMiddleware
    app = FlagwareMiddleware(app, store=store, resolve_account=resolve)
    # or, in Starlette/FastAPI: app.add_middleware(FlagwareMiddleware, store=..., ...)

The flags are set in the context variable before the app is called and reset after it
returns, so everything the app awaits sees them: the endpoint, a ``StreamingResponse``
(async or sync iterator), ``BackgroundTasks``, sync endpoints run in the thread pool, and a
websocket for its whole life. The variable is always set, never "set if unset": servers
may run a keep-alive follow-up request in a context copied from the previous one.

Put it outside (before) any ``BaseHTTPMiddleware``: that class runs the rest of the app in
a task group, which copies the context at that point, so everything inside it still sees
the flags. Inside a ``BaseHTTPMiddleware`` flagware works too, but that middleware's own
code (before ``call_next``) cannot read the flags.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from flagware._request import (
    DEFAULT_OVERRIDE_HEADER,
    DEFAULT_TOKEN_COOKIE,
    RequestEvaluator,
    merge_headers,
)
from flagware.browser import (
    DEFAULT_VARY,
    client_names,
    client_payload,
    is_cross_site,
    payload_response,
)
from flagware.context import flags_var

try:
    from starlette.requests import HTTPConnection
except ImportError:  # pragma: no cover - depends on the installed extras
    raise ImportError("flagware.asgi needs starlette: pip install 'flagware[asgi]'") from None

from flagware.account import Account

if TYPE_CHECKING:
    from flagware.engine.flagset import FlagSet
    from flagware.overrides import Secret
    from flagware.stores.store import Store

__all__ = ["FlagwareMiddleware"]

logger = logging.getLogger("flagware")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Resolver = Callable[[HTTPConnection], "Account | Awaitable[Account | None] | None"]
SCOPE_KEY = "flagware.flags"


class FlagwareMiddleware:
    """Evaluates the flags of each HTTP request and websocket; makes them current.

    The parameters and behaviour are those of :class:`flagware.wsgi.FlagwareMiddleware`,
    except that ``resolve_account`` receives a :class:`starlette.requests.HTTPConnection`
    and may be ``async``. Lifespan and other scope types pass straight through.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        store: Store,
        resolve_account: Resolver,
        is_test_user: Callable[[Account], bool] | None = None,
        token_secret: Secret | None = None,
        override_header: str = DEFAULT_OVERRIDE_HEADER,
        token_cookie: str = DEFAULT_TOKEN_COOKIE,
        echo_overrides: bool = False,
        client_path: str | None = None,
        client_vary: tuple[str, ...] = DEFAULT_VARY,
    ) -> None:
        if not callable(resolve_account):
            raise TypeError(
                "resolve_account must be a callable: (HTTPConnection) -> Account | None"
            )
        if client_path is not None and not client_path.startswith("/"):
            raise ValueError(f"client_path must start with '/', got {client_path!r}")
        self.app = app
        self.resolve_account = resolve_account
        self.evaluator = RequestEvaluator(
            store, is_test_user=is_test_user, token_secret=token_secret
        )
        self.override_header = override_header
        self._raw_header = override_header.lower().encode("latin-1")
        self.token_cookie = token_cookie
        self._raw_cookie = token_cookie.encode("latin-1")
        self.echo_overrides = echo_overrides
        self.client_path = client_path
        self.client_vary = client_vary

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The hot path of every request: kept flat (no helper coroutine, no Outcome unless
        # an override was asked for), as each call costs ~0.1 µs.
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        try:
            account = self.resolve_account(connection)
            if (
                account is not None
                and not isinstance(account, Account)  # cheaper than isawaitable
                and inspect.isawaitable(account)  # an async resolver
            ):
                account = await account
        except Exception:
            logger.exception("flagware: resolve_account raised; continuing as anonymous")
            account = None
        # One pass over the raw headers: the override header's value (None if absent or
        # sent more than once) and whether a cookie header may carry the token cookie.
        override: bytes | None = None
        seen = 0
        cookie = False
        raw_header = self._raw_header
        for name, value in scope.get("headers", ()):
            if name == raw_header:
                override, seen = value, seen + 1
            elif name == b"cookie" and self._raw_cookie in value:
                cookie = True
        if seen > 1:
            override = None
        token = None
        if cookie and self.evaluator.token_secret:  # parse cookies only if ours may be there
            token = connection.cookies.get(self.token_cookie)
        if not override and not token:
            flags = self.evaluator.flags(account)
        else:
            outcome = self.evaluator.evaluate(account, override, token)
            flags = outcome.flags
            if outcome.applied is not None and scope["type"] == "http":
                extra = outcome.response_headers(self.override_header, self.echo_overrides)
                send = _with_headers(send, extra)
        scope[SCOPE_KEY] = flags
        client_path = self.client_path
        if client_path is not None and scope["path"] == client_path and scope["type"] == "http":
            await self._client_flags(scope, flags, send)
            return
        reset = flags_var.set(flags)
        try:
            await self.app(scope, receive, send)
        finally:
            try:  # noqa: SIM105 - contextlib.suppress would cost ~2 µs per request
                flags_var.reset(reset)
            except ValueError:  # exited in another context than entered: nothing to undo
                pass

    async def _client_flags(self, scope: Scope, flags: FlagSet, send: Send) -> None:
        """The ``client_path`` endpoint: this request's ``client: true`` flags."""
        sec_fetch_site = dict(scope.get("headers", ())).get(b"sec-fetch-site")
        if scope["method"] not in ("GET", "HEAD"):
            status, body = 405, b""
            response_headers = [("Allow", "GET, HEAD")]
        elif is_cross_site(None if sec_fetch_site is None else sec_fetch_site.decode("latin-1")):
            status, body = 403, b"cross-site requests for flags are refused"
            response_headers = [("Content-Type", "text/plain")]
        else:
            names = client_names(self.evaluator.store)
            status = 200
            body, response_headers = payload_response(
                client_payload(flags, names), self.client_vary, self.override_header
            )
        encoded = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response_headers]
        await send({"type": "http.response.start", "status": status, "headers": encoded})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )


def _with_headers(send: Send, extra: list[tuple[str, str]]) -> Send:
    """A send that merges ``extra`` into the ``http.response.start`` message's headers."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", [])
            ]
            merged = merge_headers(headers, extra)
            encoded = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in merged]
            message = {**message, "headers": encoded}
        await send(message)

    return wrapped
