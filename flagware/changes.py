"""Audit records: who changed the ruleset, when, from which version to which, and what.

Every write through a store's write API produces a :class:`Change`; the Redis store keeps
them in a capped Redis stream, the in-process stores in a bounded list. A change carries
the whole new document, so any recorded version can be restored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Change", "parse_audit_entry", "summarize"]


@dataclass(frozen=True)
class Change:
    """One write to a store's ruleset."""

    version: int
    previous_version: int
    actor: str
    at: float  # epoch seconds
    action: str  # "save", "set_flag", "delete_flag", "restore", ...
    summary: Mapping[str, Any]
    document: Mapping[str, Any] = field(repr=False)

    def touches(self, flag: str) -> bool:
        """Whether this change added, removed or changed ``flag``."""
        return any(
            flag in self.summary.get(key, ())
            for key in ("flags_added", "flags_removed", "flags_changed")
        )


def summarize(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> dict[str, Any]:
    """What differs between two canonical documents, by flag and by test user."""
    old = old or {"flags": {}, "test_users": [], "unknown": None}
    old_flags, new_flags = old.get("flags", {}), new.get("flags", {})
    old_users, new_users = set(old.get("test_users", [])), set(new.get("test_users", []))
    summary: dict[str, Any] = {
        "flags_added": sorted(set(new_flags) - set(old_flags)),
        "flags_removed": sorted(set(old_flags) - set(new_flags)),
        "flags_changed": sorted(
            name for name in set(old_flags) & set(new_flags) if old_flags[name] != new_flags[name]
        ),
        "test_users_added": sorted(new_users - old_users),
        "test_users_removed": sorted(old_users - new_users),
    }
    if old.get("unknown") != new.get("unknown"):
        summary["unknown"] = new.get("unknown")
    return {key: value for key, value in summary.items() if value}


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def parse_audit_entry(raw: Mapping[Any, Any]) -> Change | None:
    """One audit entry as a store keeps it (a mapping of field names to text or bytes)."""
    fields = {_text(k): _text(v) for k, v in raw.items()}
    try:
        return Change(
            version=int(fields["version"]),
            previous_version=int(fields["previous"]),
            actor=fields["actor"],
            at=float(fields["at"]),
            action=fields["action"],
            summary=json.loads(fields["summary"]),
            document=json.loads(fields["doc"]),
        )
    except (KeyError, ValueError):
        return None
