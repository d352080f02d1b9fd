"""The panel's front door: authentication on every request, CSRF tokens, security headers.

Browsers send HTTP Basic credentials (and cookies) with every request to the panel,
including requests another site makes them send; so every write must also carry a token
that only the panel's own pages know. The token is a random value kept in a
``SameSite=Strict`` cookie and repeated in each form (double submit); a write whose form
token does not match its cookie, or whose ``Origin`` is another site, is refused.
"""

from __future__ import annotations

import hmac
import inspect
import logging
import secrets
from http.cookies import SimpleCookie

from starlette.requests import HTTPConnection, Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flagware.admin.auth import Authenticator

__all__ = ["CSRF_COOKIE", "CSRF_FIELD", "Guard", "csrf_problem", "csrf_token", "operator"]

logger = logging.getLogger("flagware")

CSRF_COOKIE = "flagware_admin_csrf"
CSRF_FIELD = "csrf_token"
_OPERATOR = "flagware.admin.operator"
_TOKEN = "flagware.admin.csrf"

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
    # "null" is no exception: any page can send it from a sandboxed iframe, and a sibling
    # subdomain (same site, so SameSite does not stop it) can set the cookie it repeats.
    origin = request.headers.get("origin")
    if origin is not None:
        own = f"{request.url.scheme}://{request.url.netloc}"
        if origin != own:
            return f"the request comes from another site ({origin})"
    return None


class Guard:
    """ASGI middleware: authenticates, hands out the CSRF cookie, adds security headers."""

    def __init__(self, app: ASGIApp, auth: Authenticator) -> None:
        if not callable(auth):
            raise TypeError(
                "auth must be a callable that returns the operator's name or None, "
                "e.g. flagware.admin.BasicAuth(user, password)"
            )
        self.app = app
        self.auth = auth
        self.challenge = getattr(auth, "www_authenticate", None)

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
        token = existing if existing and len(existing) >= 32 else secrets.token_urlsafe(32)
        scope[_TOKEN] = token
        if token != existing:
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
