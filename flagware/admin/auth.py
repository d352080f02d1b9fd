"""Who is operating the panel: a pluggable authenticator, HTTP Basic by default."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Awaitable, Callable

from starlette.requests import HTTPConnection

__all__ = ["Authenticator", "BasicAuth"]

Authenticator = Callable[[HTTPConnection], "str | Awaitable[str | None] | None"]
"""Returns the operator's name (recorded in the audit history), or None to refuse."""


class BasicAuth:
    """HTTP Basic authentication against one configured user name and password.

    Use it only over HTTPS: Basic sends the password with every request. The name is the
    operator recorded in the audit history.
    """

    www_authenticate = 'Basic realm="flagware admin", charset="UTF-8"'

    def __init__(self, username: str, password: str) -> None:
        if not username or not password:
            raise ValueError("BasicAuth needs a non-empty user name and password")
        if ":" in username:
            raise ValueError("a Basic user name cannot contain ':'")
        self.username = username
        self._expected = f"{username}:{password}".encode()

    def derive_secret(self, label: bytes) -> bytes:
        """A secret derived from the credentials (HMAC-SHA256 keyed with them, of ``label``):
        every panel process configured with the same login derives the same one."""
        return hmac.new(self._expected, label, hashlib.sha256).digest()

    def __call__(self, conn: HTTPConnection) -> str | None:
        header = conn.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            return None
        try:
            given = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            return None
        return self.username if hmac.compare_digest(given, self._expected) else None

    def __repr__(self) -> str:
        return f"BasicAuth(username={self.username!r})"
