"""Damaged audit entries, written straight into a RedisStore namespace's audit stream.

RedisStore keeps one stream entry per version (``{flagware:<ns>}:audit``). Anything can end
up there: another tool's writes, an old version's format, a hand-edited key. Each
:class:`Damage` is one entry with one field broken; the admin panel and the command line
must show what can be read and mark the rest unreadable, never fail.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import redis

__all__ = ["DAMAGES", "Damage", "audit_key", "damaged_doc", "write_entry"]

FLAG = "beta"  # the flag every damaged entry says it changed (when its summary is readable)
ACTOR = "bob"
ACTION = "set_flag"


def audit_key(namespace: str) -> str:
    """The audit stream of a namespace, as RedisStore lays it out."""
    return f"{{flagware:{namespace}}}:audit"


def damaged_doc(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with FLAG changed: what the damaged entry's (readable) document holds."""
    changed = json.loads(json.dumps(doc))
    changed["flags"][FLAG] = {"description": "from the damaged entry", "strategies": []}
    return changed


@dataclass(frozen=True)
class Damage:
    """One audit entry with some fields replaced (None: left out)."""

    name: str
    fields: dict[str, bytes | str | None]
    unreadable: tuple[str, ...]  # what Change.unreadable must name
    marker: str  # what the history shows in the entry's row instead of the broken part
    keeps: tuple[str, ...] = field(default=(ACTOR,))  # readable parts its row still shows

    def entry(self, version: int, previous: int, doc: dict[str, Any]) -> dict[str, bytes | str]:
        """The stream entry's fields: a valid entry, with this damage done."""
        good: dict[str, bytes | str | None] = {
            "version": str(version),
            "previous": str(previous),
            "actor": ACTOR,
            "at": repr(time.time() - 120),
            "action": ACTION,
            "summary": json.dumps({"flags_changed": [FLAG]}),
            "doc": json.dumps(damaged_doc(doc)),
        }
        good.update(self.fields)
        return {k: v for k, v in good.items() if v is not None}


SUMMARY = "(unreadable summary)"
TIME = "unknown time"
RULES = "(unreadable rules"

DAMAGES = [
    Damage("summary-a-list", {"summary": '["beta"]'}, ("summary",), SUMMARY),
    Damage("summary-a-string", {"summary": '"beta"'}, ("summary",), SUMMARY),
    Damage("summary-a-number", {"summary": "42"}, ("summary",), SUMMARY),
    Damage("summary-values-not-lists", {"summary": '{"flags_changed": "beta"}'}, ("summary",),
           SUMMARY),
    Damage("summary-values-not-strings", {"summary": '{"flags_changed": [1, {}]}'},
           ("summary",), SUMMARY),
    Damage("summary-not-json", {"summary": "{flags"}, ("summary",), SUMMARY),
    Damage("summary-not-utf8", {"summary": b'{"flags_changed": ["\xff"]}'}, ("summary",),
           SUMMARY),
    Damage("at-nan", {"at": "nan"}, ("at",), TIME),
    Damage("at-inf", {"at": "inf"}, ("at",), TIME),
    Damage("at-1e20", {"at": "1e20"}, ("at",), TIME),
    Damage("at-negative", {"at": "-86400"}, ("at",), TIME),
    Damage("at-not-a-number", {"at": "yesterday"}, ("at",), TIME),
    Damage("actor-not-utf8", {"actor": b"bob\xff\xfe"}, ("actor",), "bob\ufffd\ufffd (unreadable)",
           keeps=()),
    Damage("action-not-utf8", {"action": b"set\xff"}, ("action",), "set\ufffd (unreadable)"),
    Damage("doc-not-json", {"doc": "{not json"}, ("document",), RULES),
    Damage("doc-a-list", {"doc": "[1, 2]"}, ("document",), RULES),
    Damage("doc-flags-a-list", {"doc": '{"flags": ["beta"]}'}, ("document",), RULES),
    Damage("doc-too-deep", {"doc": '{"flags": ' + "[" * 100_000 + "]" * 100_000 + "}"},
           ("document",), RULES),
    Damage("doc-huge-number", {"doc": '{"flags": {}, "n": ' + "9" * 5000 + "}"},
           ("document",), RULES),
    Damage("doc-not-utf8", {"doc": b'{"flags": {"\xff": {}}}'}, ("document",), RULES),
    Damage("missing-previous", {"previous": None}, ("previous_version",), ACTOR),
    Damage("previous-unicode-digit", {"previous": "\u00b2"}, ("previous_version",), ACTOR),
    Damage("missing-actor", {"actor": None}, ("actor",), "(unreadable actor)", keeps=()),
    Damage("missing-at", {"at": None}, ("at",), TIME),
    Damage("missing-action", {"action": None}, ("action",), "(unreadable action)"),
    Damage("missing-summary", {"summary": None}, ("summary",), SUMMARY),
    Damage("missing-doc", {"doc": None}, ("document",), RULES),
]  # fmt: skip


def write_entry(
    client: redis.Redis, namespace: str, damage: Damage, version: int, previous: int,
    doc: dict[str, Any],
) -> None:  # fmt: skip
    """Append ``damage``'s entry for ``version`` to the namespace's audit stream."""
    client.xadd(audit_key(namespace), damage.entry(version, previous, doc))
