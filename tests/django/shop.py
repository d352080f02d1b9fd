"""The tests' store and resolvers, imported by dotted path from ``FLAGWARE`` settings."""

from __future__ import annotations

from typing import Any

import flagware

RULES: dict[str, Any] = {
    "schema": 1,
    "test_users": ["testuser1"],
    "unknown": "hidden",
    "flags": {
        "new_checkout": {"strategies": [{"type": "accounts", "ids": ["acct-42"]}]},
        "alice_beta": {
            "strategies": [
                {"type": "attribute", "attribute": "username", "op": "in", "values": ["alice"]}
            ]
        },
        "checkout_button": {
            "strategies": [{"type": "everyone"}],
            "variants": {"control": 50, "green": 50},
        },
        "old_search": {"enabled": False},
    },
}

store = flagware.MemoryStore(RULES)
made: list[flagware.Store] = []


def make_store() -> flagware.Store:
    """``FLAGWARE["STORE"]``: the middleware calls it once per process."""
    made.append(store)
    return store


def not_a_store() -> object:
    return "not a store"


def header_account(request: Any) -> flagware.Account | None:
    """The account the ``X-Account-Id`` header names (a gateway's header, in the tests)."""
    account_id = request.headers.get("X-Account-Id")
    return flagware.Account(account_id) if account_id else None


async def async_header_account(request: Any) -> flagware.Account | None:
    return header_account(request)


def broken_resolver(request: Any) -> flagware.Account | None:
    raise RuntimeError("the session backend is down")


def wrong_type_resolver(request: Any) -> Any:
    return "acct-42"
