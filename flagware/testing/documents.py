"""The documents and account the store contract tests use (DOC_A, DOC_B, INVALID)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flagware import (
    Account,
    Change,
    Ruleset,
    Store,
)

__all__ = ["ACCOUNT", "DOC_A", "DOC_B", "INVALID", "StoreFactory", "canonical", "entries"]

StoreFactory = Callable[[dict[str, Any]], Store]
"""Builds a fresh store holding the given ruleset document."""

DOC_A: dict[str, Any] = {
    "schema": 1,
    "test_users": ["tester"],
    "unknown": "released",
    "flags": {
        "beta": {"strategies": [{"type": "accounts", "ids": ["acct-1"]}]},
        "ab": {
            "strategies": [{"type": "percentage", "percent": 50}],
            "variants": {"control": 50, "green": 50},
        },
    },
}
DOC_B: dict[str, Any] = {
    "schema": 1,
    "test_users": [],
    "unknown": "hidden",
    "flags": {
        "beta": {"strategies": [{"type": "everyone"}]},
        "launch": {
            "description": "Launch day",
            "strategies": [
                {"type": "schedule", "after": "2026-12-01T00:00:00Z"},
                {
                    "type": "attribute",
                    "attribute": "country",
                    "op": "in",
                    "values": ["NL", "DE"],
                    "when": [{"attribute": "plan", "op": "eq", "values": ["pro"]}],
                },
            ],
        },
        "old": {"enabled": False, "strategies": []},
    },
}
INVALID: dict[str, Any] = {
    "flags": {"beta": {"strategies": [{"type": "percentage", "percent": 150}]}}
}
ACCOUNT = Account(id="acct-2", attributes={"country": "NL", "plan": "pro"})


def canonical(doc: dict[str, Any]) -> dict[str, Any]:
    """The canonical form of a document, as stores record and return it."""
    return Ruleset.from_dict(doc).to_dict()


def entries(store: Store) -> list[Change]:
    """Every recorded change, newest first."""
    return store.history(limit=10_000)
