"""The panel's front door: authentication on every request, CSRF tokens, security headers.

Browsers send HTTP Basic credentials (and cookies) with every request to the panel,
including requests another site makes them send; so every write must also carry a token
that only the panel's own pages know. The token is a random nonce and an HMAC of the
operator's name and that nonce under a server-side secret; it is kept in a
``SameSite=Strict`` cookie and repeated in each form (double submit). A write is refused
unless the form's token equals the cookie's *and* the HMAC verifies for the request's
operator, so a cookie planted by a sibling subdomain, or another operator's, is worth
nothing: it is replaced by a fresh token on the next page. A write is also refused if its
``Origin`` (or, without one, its ``Referer``) names another site, if it repeats either
header, or, over HTTPS, if it names neither.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import inspect
import logging
import secrets
from http.cookies import SimpleCookie
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection, Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flagware.admin.auth import Authenticator, BasicAuth

__all__ = [
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "CsrfTokens",
    "Guard",
    "csrf_problem",
    "csrf_secret_for",
    "csrf_token",
    "operator",
]

logger = logging.getLogger("flagware")

CSRF_COOKIE = "flagware_admin_csrf"
CSRF_FIELD = "csrf_token"
_OPERATOR = "flagware.admin.operator"
_TOKEN = "flagware.admin.csrf"
_VERIFIED = "flagware.admin.csrf_verified"  # whether the request's cookie is this operator's
# The label the secret is derived from BasicAuth's credentials with: change it and every
# open form of every panel is refused once (its operators reload).
_BASIC_AUTH_LABEL = b"flagware admin csrf secret v1"
_NONCE_BYTES = 16
_MAX_TOKEN = 200
_process_secret = secrets.token_bytes(32)
_process_secret_noted = False


def csrf_secret_for(auth: Authenticator, csrf_secret: str | bytes | None) -> bytes:
    """The secret CSRF tokens are signed with.

    ``csrf_secret`` if given; else, for :class:`~flagware.admin.BasicAuth`, one derived
    from its credentials, so panel processes with the same login agree on it; else a
    random secret of this process (logged once at INFO: behind a load balancer, several
    processes must be given one ``csrf_secret``).
    """
    global _process_secret_noted  # noqa: PLW0603 - one note per process
    if csrf_secret is not None:
        secret = csrf_secret.encode("utf-8") if isinstance(csrf_secret, str) else csrf_secret
        if not isinstance(secret, bytes) or not secret:
            raise ValueError("csrf_secret must be a non-empty str or bytes (or None)")
        return secret
    if isinstance(auth, BasicAuth):
        return auth.derive_secret(_BASIC_AUTH_LABEL)
    if not _process_secret_noted:
        _process_secret_noted = True
        logger.info(
            "flagware admin: the CSRF tokens are signed with a random secret of this process; "
            "if several panel processes serve one address (a load balancer, workers), pass "
            "them one admin_app(..., csrf_secret=...), or a form from one is refused by another"
        )
    return _process_secret


class CsrfTokens:
    """Issues and checks CSRF tokens bound to an operator: ``<nonce>.<mac>``, where mac is
    HMAC-SHA256(secret, operator name + nonce), both URL-safe base64."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, operator_name: str, nonce: str) -> str:
        name = operator_name.encode("utf-8")
        message = len(name).to_bytes(4, "big") + name + nonce.encode("ascii")
        digest = hmac.new(self._secret, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def issue(self, operator_name: str) -> str:
        """A fresh token for ``operator_name``."""
        nonce = secrets.token_urlsafe(_NONCE_BYTES)
        return f"{nonce}.{self._mac(operator_name, nonce)}"

    def verify(self, token: str, operator_name: str) -> bool:
        """Whether ``token`` was issued for ``operator_name`` with this secret."""
        if len(token) > _MAX_TOKEN or not token.isascii():
            return False
        nonce, dot, mac = token.partition(".")
        if not dot or len(nonce) < 16 or not mac:
            return False
        return hmac.compare_digest(mac, self._mac(operator_name, nonce))


SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
        b"form-action 'self'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]


def operator(conn: HTTPConnection) -> str:
    """The authenticated operator of a request (the guard has checked it)."""
    name: str = conn.scope[_OPERATOR]
    return name


def csrf_token(conn: HTTPConnection) -> str:
    """The token the panel's forms must repeat."""
    token: str = conn.scope[_TOKEN]
    return token


def csrf_problem(request: Request, submitted: object) -> str | None:
    """Why a write is refused as possibly forged, or None if it is the panel's own."""
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not isinstance(submitted, str) or not submitted:
        return "the form carries no security token; reload the page and try again"
    if not hmac.compare_digest(cookie.encode(), submitted.encode()):
        return "the form's security token does not match; reload the page and try again"
    if not request.scope.get(_VERIFIED):  # planted, another operator's, or another secret's
        return (
            "the form's security token was not issued to you by this panel; reload the page "
            "(it now carries a fresh one) and try again"
        )
    return _origin_problem(request)


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin_of(url: str) -> tuple[str, str, int] | None:
    """Scheme, host and port of an origin or URL; None if it names no web origin (``null``,
    garbage, credentials in it)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or "@" in parts.netloc:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]


def _shown_origin(url: str) -> str:
    """The origin part of a header, for a message (not its path or query)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is not None and parts.scheme and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return url if len(url) <= 60 else url[:57] + "..."


def _origin_problem(request: Request) -> str | None:
    """Why the browser's account of where a write comes from is refused, if it is."""
    origins = request.headers.getlist("origin")
    referers = request.headers.getlist("referer")
    if len(origins) > 1 or len(referers) > 1:
        header = "Origin" if len(origins) > 1 else "Referer"
        return f"the request carries more than one {header} header, which no browser sends"
    own = _origin_of(f"{request.url.scheme}://{request.url.netloc}")
    # "null" is no exception: any page can send it from a sandboxed iframe, and a sibling
    # subdomain (same site, so SameSite does not stop it) can set a cookie.
    if origins:
        if own is None or _origin_of(origins[0]) != own:
            return f"the request comes from another site ({origins[0]})"
        return None
    # No Origin (older browsers, some same-origin requests): the Referer says where from;
    # the pages send it for the panel's own origin (Referrer-Policy: same-origin).
    if referers:
        if own is None or _origin_of(referers[0]) != own:
            return f"the request comes from another site ({_shown_origin(referers[0])})"
        return None
    if request.url.scheme == "https":
        return (
            "the request does not say which page sent it (no Origin or Referer header), "
            "which the panel requires over HTTPS; reload the page and try again, and check "
            "that no proxy or browser setting removes these headers"
        )
    return None


class Guard:
    """ASGI middleware: authenticates, hands out the CSRF cookie, adds security headers."""

    def __init__(
        self, app: ASGIApp, auth: Authenticator, *, csrf_secret: str | bytes | None = None
    ) -> None:
        if not callable(auth):
            raise TypeError(
                "auth must be a callable that returns the operator's name or None, "
                "e.g. flagware.admin.BasicAuth(user, password)"
            )
        self.app = app
        self.auth = auth
        self.challenge = getattr(auth, "www_authenticate", None)
        self.tokens = CsrfTokens(csrf_secret_for(auth, csrf_secret))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        set_cookie: bytes | None = None

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {key.lower() for key, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                if set_cookie:
                    headers.append((b"set-cookie", set_cookie))
                message = {**message, "headers": headers}
            await send(message)

        name = await self._authenticate(conn)
        if not name:
            headers = {"WWW-Authenticate": self.challenge} if self.challenge else None
            response = PlainTextResponse(
                "Authentication required: the flagware admin panel needs an operator login.",
                status_code=401,
                headers=headers,
            )
            await response(scope, receive, send_with_headers)
            return
        scope[_OPERATOR] = name
        existing = conn.cookies.get(CSRF_COOKIE)
        # Kept only if it is this operator's: anything else is replaced (rotated) right away.
        verified = existing is not None and self.tokens.verify(existing, name)
        token = existing if existing is not None and verified else self.tokens.issue(name)
        scope[_TOKEN] = token
        scope[_VERIFIED] = verified
        if not verified:
            set_cookie = self._cookie(conn, token)
        await self.app(scope, receive, send_with_headers)

    async def _authenticate(self, conn: HTTPConnection) -> str | None:
        try:
            name = self.auth(conn)
            if inspect.isawaitable(name):
                name = await name
        except Exception:
            logger.exception("flagware admin: the authenticator raised; refusing the request")
            return None
        return name if isinstance(name, str) and name else None

    @staticmethod
    def _cookie(conn: HTTPConnection, token: str) -> bytes:
        cookie: SimpleCookie = SimpleCookie()
        cookie[CSRF_COOKIE] = token
        morsel = cookie[CSRF_COOKIE]
        morsel["path"] = conn.scope.get("root_path") or "/"
        morsel["httponly"] = True
        morsel["samesite"] = "Strict"
        if conn.url.scheme == "https":
            morsel["secure"] = True
        return morsel.OutputString().encode("latin-1")
