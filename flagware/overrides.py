"""Test-user overrides: the ``X-Flagware-Override`` header and signed override tokens.

A test user may flip flags for their own requests::

    X-Flagware-Override: cool_feature=on, old_search=off, checkout_button=green

Values are ``on``/``true``/``1``, ``off``/``false``/``0``, or a variant name (which also
means "on"). The grammar is strict: a header that breaks any rule (unknown syntax, more
than 50 entries, over 2 KiB, a flag named twice, bytes that are not ASCII) is ignored
whole, never half-applied.

Whether a request may override is the middleware's decision, made on the account the
*server* resolved: test users only, or the holder of a valid signed token. Tokens carry
their overrides inside the signature, are bound to one account id and expire; issue one
with :func:`issue_override_token` and hand it to a tester's browser as a cookie.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from itsdangerous import BadData, BadSignature, URLSafeSerializer
from itsdangerous.encoding import base64_decode, base64_encode

from flagware.ruleset.parse import FLAG_NAME, VARIANT_NAME

__all__ = [
    "MAX_HEADER_BYTES",
    "MAX_OVERRIDES",
    "Overrides",
    "Secret",
    "format_override_header",
    "issue_override_token",
    "parse_override_header",
    "read_override_token",
]

logger = logging.getLogger("flagware")

Overrides = dict[str, bool | str]
MAX_HEADER_BYTES = 2048
MAX_OVERRIDES = 50
_TRUE = frozenset({"on", "true", "1"})
_FALSE = frozenset({"off", "false", "0"})
_FLAG = re.compile(FLAG_NAME.removesuffix("$") + r"\Z")
_VALUE = re.compile(r"(?:[01]|" + VARIANT_NAME.removeprefix("^").removesuffix("$") + r")\Z")
_TOKEN_SALT = "flagware.override-token.v1"
# A token as the serializer writes it: base64url payload (a leading "." if compressed), ".",
# base64url signature, no padding.
_TOKEN = re.compile(r"\.?[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\Z")


def parse_override_header(value: str | bytes | None) -> Overrides | None:
    """The overrides a header asks for, or None if it is absent or malformed in any way."""
    if not value:
        return None
    if isinstance(value, str):
        try:
            value = value.encode("ascii")
        except UnicodeEncodeError:
            return None
    if len(value) > MAX_HEADER_BYTES or not value.isascii():
        return None
    entries = value.decode("ascii").split(",")
    if len(entries) > MAX_OVERRIDES:
        return None
    out: Overrides = {}
    for entry in entries:
        name, sep, raw = entry.partition("=")
        name, raw = name.strip(" \t"), raw.strip(" \t")
        if not sep or not _FLAG.match(name) or not _VALUE.match(raw) or name in out:
            return None
        lowered = raw.lower()
        out[name] = True if lowered in _TRUE else False if lowered in _FALSE else raw
    return out


def format_override_header(overrides: Mapping[str, bool | str]) -> str:
    """The header value asking for ``overrides`` (``{"x": True, "y": "green"}`` gives
    ``x=on, y=green``), the inverse of :func:`parse_override_header`.

    Raises ValueError for overrides the parser would not read back exactly (an invalid
    name or variant, a variant spelled like a boolean, none at all, or over the limits), so
    a value built here is never silently ignored by the middleware.
    """
    value = ", ".join(
        f"{name}={'on' if v is True else 'off' if v is False else v}"
        for name, v in overrides.items()
    )
    if parse_override_header(value) != dict(overrides):
        raise ValueError(
            f"these overrides cannot be sent as an override header: {dict(overrides)!r}"
        )
    return value


Secret = str | bytes | list[str] | list[bytes]
"""An application secret, or a list of them (the last signs; all verify) to rotate keys."""


def _serializer(secret: Secret) -> URLSafeSerializer:
    if not secret:
        raise ValueError("an override token secret must not be empty")
    return URLSafeSerializer(secret, salt=_TOKEN_SALT)


def issue_override_token(
    secret: Secret,
    account_id: str,
    overrides: Mapping[str, bool | str],
    *,
    ttl: float | timedelta = 3600,
    now: float | None = None,
) -> str:
    """A signed token that lets ``account_id`` apply ``overrides`` until it expires.

    ``secret`` is the application's secret (a list rotates keys: the last one signs, all
    verify). ``ttl`` is seconds or a timedelta. Set the token as the middleware's override
    cookie (``flagware_override`` by default).
    """
    try:
        seconds = ttl.total_seconds() if isinstance(ttl, timedelta) else float(ttl)
    except OverflowError:  # an int too large for a float
        seconds = math.inf
    if not 0 < seconds < math.inf:  # also refuses NaN
        raise ValueError(f"ttl must be a positive, finite number of seconds, got {ttl!r}")
    try:
        header = format_override_header(overrides)
    except ValueError:
        raise ValueError(f"invalid overrides for a token: {dict(overrides)!r}") from None
    issued = time.time() if now is None else now
    if not math.isfinite(issued + seconds):
        raise ValueError(f"now={now!r} plus ttl={ttl!r} is not a finite time")
    payload = {"a": account_id, "o": header, "e": math.ceil(issued + seconds)}
    token: str = _serializer(secret).dumps(payload)
    return token


def read_override_token(
    secret: Secret,
    token: str | None,
    account_id: str,
    *,
    now: float | None = None,
) -> Overrides | None:
    """The overrides in ``token`` if it is genuine, unexpired and issued to ``account_id``."""
    if not token or len(token) > 4 * MAX_HEADER_BYTES or not _canonical(token):
        return None
    try:
        payload: Any = _serializer(secret).loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(payload, dict):
        return None
    expires, owner, header = payload.get("e"), payload.get("a"), payload.get("o")
    if not isinstance(expires, int) or not isinstance(owner, str) or not isinstance(header, str):
        return None
    if owner != account_id or (time.time() if now is None else now) >= expires:
        return None
    return parse_override_header(header)


def _canonical(token: str) -> bool:
    """Whether ``token`` is spelled exactly as the serializer writes it.

    itsdangerous decodes a signature leniently (characters outside base64url and non-ASCII
    ones are skipped, the unused low bits of the last character ignored), so without this
    check many spellings of one token verify: a denylist of leaked tokens, a log search or
    a cache keyed by the cookie would all miss them.
    """
    if not _TOKEN.match(token):
        return False
    signature = token.rpartition(".")[2]
    try:
        return base64_encode(base64_decode(signature)).decode("ascii") == signature
    except BadData:
        return False


class RateLimitedLog:
    """Logs at most one message per ``interval`` seconds and counts the ones it held back."""

    def __init__(self, interval: float = 60.0) -> None:
        self._interval = interval
        self._next = 0.0
        self._suppressed = 0
        self._lock = threading.Lock()

    def warning(self, message: str, *args: object) -> None:
        now = time.monotonic()
        with self._lock:
            if now < self._next:
                self._suppressed += 1
                return
            suppressed, self._suppressed = self._suppressed, 0
            self._next = now + self._interval
        suffix = f" ({suppressed} similar messages suppressed)" if suppressed else ""
        logger.warning(message + suffix, *args)


def sanitize(value: str | bytes | None, limit: int = 80) -> str:
    """A log-safe rendering of untrusted text: printable ASCII only, truncated."""
    if value is None:
        return "None"
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    clean = "".join(c if " " <= c <= "~" else "?" for c in value[:limit])
    return repr(clean + ("..." if len(value) > limit else ""))
