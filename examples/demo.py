"""What both example apps share: the demo accounts, who is logged in, and the store.

In a real deployment an authenticating gateway or your session layer tells you who the
account is; here a header (``X-Account-Id``, as a gateway would set it) or a signed demo
login cookie does.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import Any, Protocol

from itsdangerous import BadSignature, URLSafeSerializer

import flagware
from flagware.admin import BasicAuth

BUNDLED_RULES = Path(__file__).parent / "rules.yaml"
SESSION_COOKIE = "flagware_demo_session"
# Demo only: a real app loads its secret from its configuration.
SECRET = os.environ.get("FLAGWARE_DEMO_SECRET", "flagware-demo-secret-change-me")

DEMO_ACCOUNTS = {  # id: (account number, country, plan)
    "acct-42": (4211, "NL", "pro"),
    "acct-7": (7003, "US", "free"),
    "acct-100": (1002, "DE", "pro"),
    "acct-555": (5555, "FR", "team"),
    "testuser1": (1, "NL", "free"),
    "testuser2": (2, "GB", "pro"),
}
ACCOUNTS = {
    account_id: flagware.Account(account_id, number=n, attributes={"country": c, "plan": p})
    for account_id, (n, c, p) in DEMO_ACCOUNTS.items()
}

_sessions = URLSafeSerializer(SECRET, salt="flagware-demo-login")


class _Request(Protocol):
    """What the resolver needs; werkzeug's Request and Starlette's HTTPConnection both fit."""

    @property
    def headers(self) -> Any: ...

    @property
    def cookies(self) -> Any: ...


def resolve_account(request: _Request) -> flagware.Account | None:
    """The demo account of a request: the gateway header first, then the login cookie."""
    account_id = request.headers.get("X-Account-Id")
    if account_id is None:
        account_id = read_session(request.cookies.get(SESSION_COOKIE))
    return ACCOUNTS.get(account_id or "")


def login_cookie(account_id: str) -> str:
    """The signed cookie value that logs ``account_id`` in."""
    return _sessions.dumps(account_id)


def read_session(cookie: str | None) -> str | None:
    if not cookie:
        return None
    try:
        value = _sessions.loads(cookie)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def admin_auth() -> BasicAuth:
    """The admin panel's login: FLAGWARE_ADMIN_USER / FLAGWARE_ADMIN_PASSWORD, or a random
    password printed at start (a demo must not ship a known default)."""
    user = os.environ.get("FLAGWARE_ADMIN_USER") or "admin"
    password = os.environ.get("FLAGWARE_ADMIN_PASSWORD")
    if not password:
        password = secrets.token_urlsafe(12)
        print(
            f"flagware admin panel: user {user!r}, password {password!r} "
            "(set FLAGWARE_ADMIN_PASSWORD to choose one)",
            file=sys.stderr,
        )
    return BasicAuth(user, password)


def store_from_env() -> flagware.Store:
    """The store the environment asks for.

    ``FLAGWARE_REDIS_URL``: the shared ruleset in Redis (seeded with the bundled ruleset
    if Redis has none yet); ``FLAGWARE_RULES``: a file, reloaded on change; neither: the
    bundled ruleset file.
    """
    redis_url = os.environ.get("FLAGWARE_REDIS_URL")
    if redis_url:
        return flagware.RedisStore.from_url(
            redis_url,
            namespace=os.environ.get("FLAGWARE_NAMESPACE", "demo"),
            bootstrap=BUNDLED_RULES,
        )
    return flagware.FileStore(os.environ.get("FLAGWARE_RULES") or BUNDLED_RULES)


def flags_payload(flags: flagware.FlagSet) -> dict[str, Any]:
    """The body of ``GET /api/flags``."""
    account = flags.account
    return {
        "account": account.id if account else None,
        "flags": flags.as_dict(),
        "variants": flags.variants(),
    }
