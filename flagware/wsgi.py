"""WSGI middleware: every request evaluated once, its flags current until the body is sent.

Wrap the WSGI app (for Flask, ``app.wsgi_app``)::

    from flagware.wsgi import FlagwareMiddleware
    app.wsgi_app = FlagwareMiddleware(app.wsgi_app, store=store, resolve_account=resolve)

Each request runs in a context of its own (``contextvars.copy_context()``): the app, every
chunk of a streamed body and the body's ``close()`` all run inside it, so a generator that
reads ``flagware.flags`` after the view returned still sees this request's flags, and
nothing leaks into the next request the worker thread serves.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from flagware._request import (
    DEFAULT_OVERRIDE_HEADER,
    DEFAULT_TOKEN_COOKIE,
    InContext,
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
    from werkzeug.wrappers import Request
except ImportError:  # pragma: no cover - depends on the installed extras
    raise ImportError("flagware.wsgi needs werkzeug: pip install 'flagware[wsgi]'") from None

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from flagware.account import Account
    from flagware.engine.flagset import FlagSet
    from flagware.overrides import Secret
    from flagware.stores.store import Store

__all__ = ["FlagwareMiddleware"]

logger = logging.getLogger("flagware")
ENVIRON_KEY = "flagware.flags"


class FlagwareMiddleware:
    """Evaluates the flags of each request and makes them current for the app.

    Behaviour:

    - ``resolve_account(request)`` gets a shallow :class:`werkzeug.wrappers.Request` (it
      must not read the body) and returns the :class:`~flagware.Account` or None. If it
      raises, the error is logged and the request continues as anonymous.
    - Flags are evaluated once, against the store's in-memory ruleset (no I/O), and put in
      ``flagware.flags`` and ``environ["flagware.flags"]``.
    - Overrides (``X-Flagware-Override``) are honoured for test users only: the ruleset's
      ``test_users`` or accounts ``is_test_user`` approves. Treat that callable as a
      security boundary: base it on who the server authenticated, never on anything the
      client sent. With ``token_secret``, a signed token in the ``token_cookie`` cookie
      also grants the overrides it carries, to the account it was issued to.
    - An overridden response carries ``Cache-Control: private, no-store`` and ``Vary``;
      with ``echo_overrides=True`` it also says which overrides applied.
    - WSGI servers join a header sent twice into one value, and map ``X_Flagware_Override``
      to the same environ key as ``X-Flagware-Override`` (gunicorn 22+ and werkzeug's server
      drop underscore headers). Both only ever reach test users' own requests.

    :param app: the WSGI application to wrap.
    :param store: a flagware store (``MemoryStore``, ``FileStore``, ``RedisStore``).
    :param resolve_account: ``(Request) -> Account | None``.
    :param is_test_user: ``(Account) -> bool``, optional.
    :param token_secret: secret for signed override tokens; None disables tokens.
    :param override_header: the header test users override with.
    :param token_cookie: the cookie carrying an override token.
    :param echo_overrides: add ``X-Flagware-Overrides-Applied`` to overridden responses.
    :param client_path: serve the request's ``client: true`` flags as JSON at this path
        (e.g. ``"/flagware/flags.json"``, see :mod:`flagware.browser`); None: no endpoint.
    :param client_vary: the request headers that decide the account, for the endpoint's
        ``Vary`` (the override header is added).
    """

    def __init__(
        self,
        app: WSGIApplication,
        *,
        store: Store,
        resolve_account: Callable[[Request], Account | None],
        is_test_user: Callable[[Account], bool] | None = None,
        token_secret: Secret | None = None,
        override_header: str = DEFAULT_OVERRIDE_HEADER,
        token_cookie: str = DEFAULT_TOKEN_COOKIE,
        echo_overrides: bool = False,
        client_path: str | None = None,
        client_vary: tuple[str, ...] = DEFAULT_VARY,
    ) -> None:
        if not callable(resolve_account):
            raise TypeError("resolve_account must be a callable: (Request) -> Account | None")
        if client_path is not None and not client_path.startswith("/"):
            raise ValueError(f"client_path must start with '/', got {client_path!r}")
        self.app = app
        self.resolve_account = resolve_account
        self.evaluator = RequestEvaluator(
            store, is_test_user=is_test_user, token_secret=token_secret
        )
        self.override_header = override_header
        self._environ_header = "HTTP_" + override_header.upper().replace("-", "_")
        self.token_cookie = token_cookie
        self.echo_overrides = echo_overrides
        self.client_path = client_path
        self.client_vary = client_vary

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        context = contextvars.copy_context()
        return context.run(self._handle, context, environ, start_response)

    def _handle(
        self,
        context: contextvars.Context,
        environ: WSGIEnvironment,
        start_response: StartResponse,
    ) -> Iterable[bytes]:
        request = Request(environ, shallow=True)
        account = self._resolve(request)
        token = None
        if self.evaluator.token_secret and self.token_cookie in environ.get("HTTP_COOKIE", ""):
            token = request.cookies.get(self.token_cookie)  # parsed only if ours may be there
        override = environ.get(self._environ_header)
        if not override and not token:  # most requests: no Outcome to build
            flags = self.evaluator.flags(account)
        else:
            outcome = self.evaluator.evaluate(account, override, token)
            flags = outcome.flags
            if outcome.applied is not None:
                extra = outcome.response_headers(self.override_header, self.echo_overrides)
                start_response = _with_headers(start_response, extra)
        environ[ENVIRON_KEY] = flags
        flags_var.set(flags)
        if self.client_path is not None and environ.get("PATH_INFO") == self.client_path:
            return self._client_flags(environ, flags, start_response)
        return InContext(self.app(environ, start_response), context)

    def _client_flags(
        self, environ: WSGIEnvironment, flags: FlagSet, start_response: StartResponse
    ) -> list[bytes]:
        """The ``client_path`` endpoint: this request's ``client: true`` flags."""
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            start_response("405 Method Not Allowed", [("Allow", "GET, HEAD")])
            return [b""]
        if is_cross_site(environ.get("HTTP_SEC_FETCH_SITE")):
            start_response("403 Forbidden", [("Content-Type", "text/plain")])
            return [b"cross-site requests for flags are refused"]
        names = client_names(self.evaluator.store)
        body, headers = payload_response(
            client_payload(flags, names), self.client_vary, self.override_header
        )
        start_response("200 OK", headers)
        return [b"" if environ["REQUEST_METHOD"] == "HEAD" else body]

    def _resolve(self, request: Request) -> Account | None:
        try:
            return self.resolve_account(request)
        except Exception:
            logger.exception("flagware: resolve_account raised; continuing as anonymous")
            return None


def _with_headers(start_response: StartResponse, extra: list[tuple[str, str]]) -> StartResponse:
    """A start_response that merges ``extra`` into the response's headers."""

    def wrapped(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        return start_response(status, merge_headers(headers, extra), exc_info)

    return wrapped
