"""Audit records: who changed the ruleset, when, from which version to which, and what.

Every write through a store's write API produces a :class:`Change`; the Redis store keeps
them in a capped Redis stream, the in-process stores in a bounded list. A change carries
the whole new document, so any recorded version can be restored.

Entries read back from outside the process may be damaged (a bad type, text that is not
UTF-8, a time out of range, a document that is not JSON). :func:`parse_audit_entry` still
makes a Change of them: what can be read is kept, each field that cannot is given a
placeholder and named in :attr:`Change.unreadable`, so one bad entry never takes a history
page down. Only an entry without a readable version is dropped.
"""

from __future__ import annotations

import json
import math
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from flagware.ruleset.dependencies import affected_flags, changed_segments
from flagware.ruleset.documents import MAX_DOCUMENT_BYTES
from flagware.ruleset.model import Ruleset

__all__ = ["MAX_TIME", "Change", "LocalHistory", "parse_audit_entry", "summarize"]

# 9999-12-31 23:59:59 UTC, the last second datetime can show: later (or negative) is unreadable.
MAX_TIME = 253_402_300_799.0
_MAX_VERSION_DIGITS = 19  # Redis integers are 64-bit
_MAX_TIME_CHARS = 64
# Deeper than any valid ruleset, shallow enough for every presenter's recursion.
_MAX_DOCUMENT_DEPTH = 64


@dataclass(frozen=True)
class Change:
    """One write to a store's ruleset.

    ``unreadable`` names the fields of a damaged audit entry that could not be read
    (``"actor"``, ``"at"``, ``"summary"``, ``"document"``, ...); they hold placeholders:
    text decoded with replacement characters or ``""``, ``at`` NaN, ``previous_version``
    -1, ``summary`` and ``document`` ``{}``. A change with an unreadable document cannot
    be restored.
    """

    version: int
    previous_version: int
    actor: str
    at: float  # epoch seconds
    action: str  # "save", "set_flag", "delete_flag", "restore", ...
    summary: Mapping[str, Any]
    document: Mapping[str, Any] = field(repr=False)
    unreadable: tuple[str, ...] = ()

    def touched_flags(self) -> list[str]:
        """The flags this change added, changed or removed; none if the summary is unreadable."""
        summary = self.summary if isinstance(self.summary, Mapping) else {}
        names: list[str] = []
        for key in ("flags_added", "flags_changed", "flags_removed", "flags_affected"):
            values = summary.get(key)
            if isinstance(values, list | tuple):
                names.extend(v for v in values if isinstance(v, str))
        return names

    def touches(self, flag: str) -> bool:
        """Whether this change added, removed or changed ``flag`` (never raises)."""
        return flag in self.touched_flags()


def summarize(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> dict[str, Any]:
    """What differs between two canonical documents, by flag and by test user."""
    old = old or {"flags": {}, "test_users": [], "unknown": None}
    old_flags, new_flags = old.get("flags", {}), new.get("flags", {})
    old_users, new_users = set(old.get("test_users", [])), set(new.get("test_users", []))
    summary: dict[str, Any] = {
        "flags_added": sorted(set(new_flags) - set(old_flags)),
        "flags_removed": sorted(set(old_flags) - set(new_flags)),
        "flags_changed": sorted(
            name
            for name in set(old_flags) & set(new_flags)
            # the same object (a flag an edit kept) is unchanged, and costs no comparison
            if old_flags[name] is not new_flags[name] and old_flags[name] != new_flags[name]
        ),
        "test_users_added": sorted(new_users - old_users),
        "test_users_removed": sorted(old_users - new_users),
    }
    if old.get("unknown") != new.get("unknown"):
        summary["unknown"] = new.get("unknown")
    segments = changed_segments(old, new)
    for state in ("added", "removed", "changed"):
        summary[f"segments_{state}"] = [name for name, s in segments.items() if s == state]
    # Flags whose documents did not change but whose answers may: through a segment or a
    # prerequisite.
    direct = {*summary["flags_added"], *summary["flags_removed"], *summary["flags_changed"]}
    summary["flags_affected"] = sorted(affected_flags(old, new, direct))
    return {key: value for key, value in summary.items() if value}


def _text(value: Any) -> str | None:
    """A field's text, or None if it is not UTF-8 text."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return None
    return None


def _lenient_text(value: Any) -> str:
    """Whatever of a field can be shown: undecodable bytes become replacement characters."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "replace")
    return value if isinstance(value, str) else ""


def _whole_number(value: Any) -> int | None:
    """A version number as the stores write it: ASCII digits only, at most 19 of them."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value < 10**_MAX_VERSION_DIGITS else None
    text = _text(value)
    if text is None or not 0 < len(text) <= _MAX_VERSION_DIGITS:
        return None
    if not (text.isascii() and text.isdigit()):
        return None
    return int(text)


def _time(value: Any) -> float | None:
    """Epoch seconds that a date can be made of, or None."""
    at: float
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            at = float(value)
        except OverflowError:
            return None
    else:
        text = _text(value)
        if text is None or len(text) > _MAX_TIME_CHARS:
            return None
        try:
            at = float(text)
        except ValueError:
            return None
    return at if math.isfinite(at) and 0 <= at <= MAX_TIME else None


def _json(value: Any) -> Any:
    """The JSON value of a field, or None if it is not bounded, decodable JSON."""
    text = _text(value)
    if text is None or len(text) > MAX_DOCUMENT_BYTES:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # also numbers over Python's digit limit
        return None


def _shallow(value: Any, limit: int) -> bool:
    """Whether ``value`` nests no deeper than ``limit`` (checked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return False
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return True


def _summary(value: Any) -> dict[str, Any] | None:
    """A summary as :func:`summarize` makes them: lists of names, ``unknown`` a policy."""
    summary = _json(value)
    if not isinstance(summary, dict):
        return None
    for key, item in summary.items():
        if key == "unknown":
            if item is not None and not isinstance(item, str):
                return None
        elif not isinstance(item, list) or not all(isinstance(v, str) for v in item):
            return None
    return summary


def _document(value: Any) -> dict[str, Any] | None:
    """A recorded document shaped enough to diff and show: a mapping of ``flags`` (each a
    mapping) and a list of ``test_users``. Whether it is a valid ruleset, restoring says."""
    doc = _json(value)
    if not isinstance(doc, dict) or not _shallow(doc, _MAX_DOCUMENT_DEPTH):
        return None
    flags = doc.get("flags", {})
    if not isinstance(flags, dict) or not all(isinstance(f, dict) for f in flags.values()):
        return None
    users = doc.get("test_users", [])
    if not isinstance(users, list) or not all(isinstance(u, str) for u in users):
        return None
    return doc


def parse_audit_entry(raw: Mapping[Any, Any]) -> Change | None:
    """One audit entry as a store keeps it (a mapping of field names to text or bytes).

    Never raises: a field that cannot be read gets a placeholder and is named in
    ``unreadable``. None only if the entry has no readable integer ``version``.
    """
    if not isinstance(raw, Mapping):
        return None
    fields: dict[str, Any] = {}
    for key, value in raw.items():
        name = _text(key) if isinstance(key, str | bytes) else None
        if name is not None:
            fields[name] = value
    version = _whole_number(fields.get("version"))
    if version is None:
        return None
    unreadable: list[str] = []

    def read(name: str, parsed: Any, placeholder: Any) -> Any:
        if parsed is None:
            unreadable.append(name)
            return placeholder
        return parsed

    previous = read("previous_version", _whole_number(fields.get("previous")), -1)
    actor = read("actor", _text(fields.get("actor")), _lenient_text(fields.get("actor")))
    at = read("at", _time(fields.get("at")), math.nan)
    action = read("action", _text(fields.get("action")), _lenient_text(fields.get("action")))
    summary = read("summary", _summary(fields.get("summary")), {})
    document = read("document", _document(fields.get("doc")), {})
    return Change(
        version=version,
        previous_version=previous,
        actor=actor,
        at=at,
        action=action,
        summary=summary,
        document=document,
        unreadable=tuple(unreadable),
    )


class _Entry:
    """A recorded change whose document is copied from its ruleset when first read."""

    __slots__ = ("_change", "_ruleset")

    def __init__(self, change: Change, ruleset: Ruleset | None) -> None:
        self._change = change
        self._ruleset = ruleset

    @property
    def change(self) -> Change:
        if self._ruleset is not None:
            self._change = replace(self._change, document=self._ruleset.to_dict())
            self._ruleset = None
        return self._change


class LocalHistory:
    """The audit history of a backend that keeps it in this process (memory, a file)."""

    def __init__(self, length: int) -> None:
        self._entries: deque[_Entry] = deque(maxlen=length)

    def record(
        self,
        version: int,
        previous: int,
        *,
        actor: str,
        action: str,
        old: Mapping[str, Any] | None,
        new: Mapping[str, Any] | Ruleset,
    ) -> None:
        """Append one change, summarised against the document before it. A ruleset's
        document is copied only when the history is read."""
        ruleset = new if isinstance(new, Ruleset) else None
        document = new._shared_document() if isinstance(new, Ruleset) else new
        summary = summarize(old, document)
        change = Change(version, previous, actor, time.time(), action, summary, document)
        self._entries.append(_Entry(change, ruleset))

    def newest_first(self, limit: int | None = None) -> list[Change]:
        """Recorded changes, newest first (at most ``limit``)."""
        entries = list(reversed(self._entries))
        return [entry.change for entry in (entries if limit is None else entries[:limit])]
