"""The app ``flagware demo`` serves: a flags API for any account, and the admin panel.

``GET /api/flags`` evaluates every flag for the account named in the ``X-Account-Id``
header (as an authenticating gateway would set it), through flagware's ASGI middleware;
test users may send ``X-Flagware-Override``. Known demo accounts carry a number and
attributes, so the ``last_digit`` and ``attribute`` rules have something to match.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Mount, Route

from flagware.account import Account
from flagware.admin.auth import Authenticator
from flagware.asgi import FlagwareMiddleware
from flagware.context import current_flags
from flagware.ruleset import Ruleset, parse_text
from flagware.stores.store import Store

__all__ = ["DEMO_ACCOUNTS", "demo_app", "demo_ruleset"]

DEMO_ACCOUNTS = {
    account_id: Account(account_id, number=number, attributes={"country": c, "plan": p})
    for account_id, (number, c, p) in {
        "acct-42": (4211, "NL", "pro"),
        "acct-7": (7003, "US", "free"),
        "acct-100": (1002, "DE", "pro"),
        "acct-555": (5555, "FR", "team"),
        "testuser1": (1, "NL", "free"),
        "testuser2": (2, "GB", "pro"),
    }.items()
}


def demo_ruleset() -> Ruleset:
    """The built-in example ruleset (shipped in the package as ``demo_rules.yaml``)."""
    text = resources.files("flagware.cli").joinpath("demo_rules.yaml").read_text("utf-8")
    return parse_text(text, "yaml", source="demo_rules.yaml")


def lookup_account(account_id: str) -> Account | None:
    """A demo account by id, or None."""
    return DEMO_ACCOUNTS.get(account_id)


def _resolve(conn: HTTPConnection) -> Account | None:
    account_id = conn.headers.get("x-account-id", "").strip()
    if not account_id:
        return None
    return DEMO_ACCOUNTS.get(account_id) or Account(account_id)


async def _flags(request: Request) -> JSONResponse:
    flags = current_flags()
    account = flags.account
    payload: dict[str, Any] = {
        "account": account.id if account else None,
        "flags": flags.as_dict(),
        "variants": flags.variants(),
    }
    return JSONResponse(payload)


async def _index(request: Request) -> PlainTextResponse:
    accounts = ", ".join(DEMO_ACCOUNTS)
    return PlainTextResponse(
        "flagware demo\n\n"
        "GET /api/flags   every flag for the account in the X-Account-Id header\n"
        "GET /admin/      the admin panel\n\n"
        f"demo accounts: {accounts} (any other id works, without attributes)\n"
    )


def demo_app(store: Store, auth: Authenticator | None) -> Starlette:
    """The demo on ``store``; the admin panel is mounted at ``/admin`` if ``auth`` is given."""
    routes: list[Route | Mount] = [Route("/", _index), Route("/api/flags", _flags)]
    if auth is not None:
        from flagware.admin import admin_app  # noqa: PLC0415 - needs the admin extra

        panel = admin_app(store, auth=auth, lookup_account=lookup_account, title="flagware demo")
        routes.append(Mount("/admin", app=panel))
    return Starlette(
        routes=routes,
        middleware=[Middleware(FlagwareMiddleware, store=store, resolve_account=_resolve)],
    )
