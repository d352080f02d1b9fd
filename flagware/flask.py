"""The Flask extension: flags for every request, read where Flask's own state is ready.

::

    from flagware.flask import Flagware

    app = Flask(__name__)
    app.config["FLAGWARE_REDIS_URL"] = "redis://localhost:6379/0"
    fw = Flagware(app)            # or Flagware() at import time, fw.init_app(app) in a factory

    @fw.account_resolver
    def account() -> Account | None:  # runs in before_request: session, g, current_user work
        return Account(id=session["account"]) if "account" in session else None

Unlike :class:`flagware.wsgi.FlagwareMiddleware`, which sees only the environ, the
resolver runs as a ``before_request`` function (after those registered before
``init_app``), inside the app and request contexts. Templates get ``flags``
(``{% if flags.new_checkout %}``) and ``flagware_bootstrap()`` (the ``client: true``
flags inlined for the first paint).
Each request runs in a context of its own, so a streamed body still reads its flags.
"""

from __future__ import annotations

import atexit
import contextvars
import logging
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

try:
    from flask import Flask, Response, after_this_request, request
    from markupsafe import Markup
except ImportError:  # pragma: no cover - depends on the installed extras
    raise ImportError("flagware.flask needs Flask: pip install 'flagware[flask]'") from None

from flagware._request import (
    DEFAULT_OVERRIDE_HEADER,
    DEFAULT_TOKEN_COOKIE,
    InContext,
    RequestEvaluator,
)
from flagware.browser import (
    DEFAULT_VARY,
    bootstrap_script,
    client_names,
    client_payload,
    is_cross_site,
    payload_response,
)
from flagware.context import current_flags, flags, flags_var

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from flagware.account import Account
    from flagware.overrides import Secret
    from flagware.stores.store import Store

__all__ = ["Flagware", "store_from_config"]

logger = logging.getLogger("flagware")
Resolver = Callable[[], "Account | None"]
_STORES: dict[tuple[str, str, str], Store] = {}
_STORES_LOCK = threading.Lock()


def store_from_config(config: dict[str, Any] | Any) -> Store:
    """The store ``FLAGWARE_REDIS_URL`` (with ``FLAGWARE_NAMESPACE``) or ``FLAGWARE_RULES``
    names; one per process and configuration, closed at exit, so every app an app factory
    makes in this process shares it."""
    url, rules = config.get("FLAGWARE_REDIS_URL"), config.get("FLAGWARE_RULES")
    if url and rules:
        raise ValueError("configure one store: FLAGWARE_REDIS_URL or FLAGWARE_RULES, not both")
    if not url and not rules:
        raise ValueError(
            "flagware has no store: set app.config['FLAGWARE_REDIS_URL'] (or "
            "FLAGWARE_RULES, a rules file), or pass Flagware(app, store=...)"
        )
    namespace = str(config.get("FLAGWARE_NAMESPACE", "default"))
    key = ("redis", str(url), namespace) if url else ("file", str(rules), "")
    with _STORES_LOCK:
        store = _STORES.get(key)
        if store is None:
            if url:
                from flagware.stores.redis import RedisStore  # noqa: PLC0415 - optional

                store = RedisStore.from_url(str(url), namespace=namespace)
            else:
                from flagware.stores.file import FileStore  # noqa: PLC0415

                store = FileStore(str(rules))
            if not _STORES:
                atexit.register(_close_stores)
            _STORES[key] = store
    return store


def _close_stores() -> None:
    with _STORES_LOCK:
        for store in _STORES.values():
            store.close()
        _STORES.clear()


def _flask_login_user() -> Account | None:
    """The default resolver: Flask-Login's ``current_user`` when it is installed and
    logged in (id from ``get_id()``), else anonymous."""
    try:
        from flask_login import current_user  # type: ignore[import-untyped]  # noqa: PLC0415
    except ImportError:
        return None
    if not getattr(current_user, "is_authenticated", False):
        return None
    from flagware.account import Account  # noqa: PLC0415

    return Account(id=str(current_user.get_id()))


class Flagware:
    """Evaluates each request's flags in ``before_request`` and makes them current.

    Configuration (``app.config``; arguments given here win): ``FLAGWARE_REDIS_URL`` and
    ``FLAGWARE_NAMESPACE``, or ``FLAGWARE_RULES``; ``FLAGWARE_TOKEN_SECRET``;
    ``FLAGWARE_OVERRIDE_HEADER``; ``FLAGWARE_ECHO_OVERRIDES``; ``FLAGWARE_CLIENT_PATH``
    (e.g. ``/flagware/flags.json``: the ``client: true`` flags as JSON for the browser).

    Overrides are honoured for test users only (the ruleset's ``test_users``, or accounts
    ``is_test_user`` approves), exactly as in :class:`flagware.wsgi.FlagwareMiddleware`;
    a resolver that raises makes the request anonymous, logged, never an error page.

    :param resolve_account: ``() -> Account | None``, called in the request (default:
        Flask-Login's ``current_user``, if installed); or decorate one with
        :meth:`account_resolver`.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        store: Store | None = None,
        resolve_account: Resolver | None = None,
        is_test_user: Callable[[Account], bool] | None = None,
        token_secret: Secret | None = None,
        override_header: str | None = None,
        echo_overrides: bool | None = None,
        client_path: str | None = None,
        client_vary: tuple[str, ...] = DEFAULT_VARY,
    ) -> None:
        self._store = store
        self._resolve: Resolver = resolve_account or _flask_login_user
        self._is_test_user = is_test_user
        self._token_secret = token_secret
        self._override_header = override_header
        self._echo = echo_overrides
        self._client_path = client_path
        self._client_vary = client_vary
        if app is not None:
            self.init_app(app)

    def account_resolver(self, resolve: Resolver) -> Resolver:
        """Decorator: use ``resolve()`` to find each request's account."""
        if not callable(resolve):
            raise TypeError("the account resolver must be a callable: () -> Account | None")
        self._resolve = resolve
        return resolve

    def init_app(self, app: Flask) -> None:
        """Install the hooks, template globals and (if configured) the flags endpoint."""
        config = app.config
        store = self._store if self._store is not None else store_from_config(config)
        secret = self._token_secret or config.get("FLAGWARE_TOKEN_SECRET") or None
        state = _AppState(
            evaluator=RequestEvaluator(store, is_test_user=self._is_test_user, token_secret=secret),
            extension=self,
            header=self._override_header
            or config.get("FLAGWARE_OVERRIDE_HEADER", DEFAULT_OVERRIDE_HEADER),
            echo=bool(
                self._echo if self._echo is not None else config.get("FLAGWARE_ECHO_OVERRIDES")
            ),
        )
        app.extensions["flagware"] = state
        app.wsgi_app = _OwnContext(app.wsgi_app)  # type: ignore[method-assign]
        app.before_request(state.before_request)
        app.jinja_env.globals["flags"] = flags
        app.jinja_env.globals["flagware_bootstrap"] = state.bootstrap
        path = self._client_path or config.get("FLAGWARE_CLIENT_PATH")
        if path:
            app.add_url_rule(
                path, "flagware_client_flags", state.client_flags, methods=["GET", "HEAD"]
            )

    def store(self, app: Flask) -> Store:
        """The store ``app`` reads its flags from."""
        state: _AppState = app.extensions["flagware"]
        return state.evaluator.store


class _AppState:
    """What the extension keeps per app (``app.extensions["flagware"]``)."""

    def __init__(
        self, *, evaluator: RequestEvaluator, extension: Flagware, header: str, echo: bool
    ) -> None:
        self.evaluator = evaluator
        self.extension = extension
        self.header = header
        # The environ key the server files the header under (X-Flagware-Override ->
        # HTTP_X_FLAGWARE_OVERRIDE), as werkzeug's request.headers looks it up.
        self.environ_key = "HTTP_" + header.upper().replace("-", "_")
        self.echo = echo
        self.vary = extension._client_vary

    def before_request(self) -> None:
        # The hot path of every request: one read through the request proxy, and a request
        # that asks for no override gets no Outcome and no after-request function.
        try:
            account = self.extension._resolve()
        except Exception:
            logger.exception("flagware: the account resolver raised; continuing as anonymous")
            account = None
        environ = request.environ
        override = environ.get(self.environ_key)
        token = None
        if self.evaluator.token_secret:
            token = request.cookies.get(DEFAULT_TOKEN_COOKIE)
        if not override and not token:
            flags = self.evaluator.flags(account)
        else:
            outcome = self.evaluator.evaluate(account, override, token)
            flags = outcome.flags
            if outcome.applied is not None:
                extra = outcome.response_headers(self.header, self.echo)
                after_this_request(lambda response: _add_headers(response, extra))
        environ["flagware.flags"] = flags
        flags_var.set(flags)  # in this request's own context: see _OwnContext

    def bootstrap(self, nonce: str | None = None) -> Markup:
        """The template global ``flagware_bootstrap()``: a JSON ``<script>`` element."""
        names = client_names(self.evaluator.store)
        return Markup(bootstrap_script(current_flags(), names, nonce=nonce))

    def client_flags(self) -> Response:
        if is_cross_site(request.headers.get("Sec-Fetch-Site")):
            return Response("cross-site requests for flags are refused", 403)
        names = client_names(self.evaluator.store)
        body, headers = payload_response(
            client_payload(current_flags(), names), self.vary, self.header
        )
        return Response(body, 200, headers)


def _add_headers(response: Response, extra: list[tuple[str, str]]) -> Response:
    """An overridden response: ``extra`` added (``Vary`` values merged), so no cache shares it."""
    for name, value in extra:
        if name == "Vary":
            response.vary.update(v.strip() for v in value.split(","))
        else:
            response.headers[name] = value
    return response


class _OwnContext:
    """Runs each request, its streamed body and ``close()`` in a context of its own, so
    the flags set in ``before_request`` live exactly as long as the response."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        context = contextvars.copy_context()
        return InContext(context.run(self.app, environ, start_response), context)
