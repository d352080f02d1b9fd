"""Words for operators: a flag's rollout in one line, the difference between two rulesets,
times, and the parts of an audit entry that could not be read.

The command line and the admin panel both show flags to people; they describe them the
same way, from here.
"""

from __future__ import annotations

import difflib
import json
import logging
import math
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flagware.ruleset import Flag, StrategySpec
    from flagware.stores.audit import Change

__all__ = [
    "UNKNOWN_TIME",
    "UNREADABLE_SUMMARY",
    "change_action",
    "change_actor",
    "document_diff",
    "document_text",
    "local_time",
    "moment",
    "rollout_summary",
    "ruleset_diff",
    "strategy_summary",
    "time_ago",
    "utc_time",
]

UNKNOWN_TIME = "unknown time"
UNREADABLE_SUMMARY = "(unreadable summary)"

logger = logging.getLogger("flagware")


def strategy_summary(spec: StrategySpec) -> str:
    """One strategy in a few words, e.g. ``25% of accounts`` or ``accounts acct-1, acct-2``:
    what its class says (:meth:`~flagware.strategies.base.Describes.summary`), then its
    ``when`` conditions."""
    # Imported here: the command line imports this module for its times and audit words,
    # also in commands that load no ruleset.
    from flagware.strategies.base import parameters_text  # noqa: PLC0415
    from flagware.strategies.conditions import condition_text  # noqa: PLC0415

    cls = type(spec.strategy)
    try:
        text = cls.summary(spec.params)
        if not isinstance(text, str):
            raise TypeError(f"summary() returned {type(text).__name__}, not str")
    except Exception:  # an application's strategy: its failure must not break a page
        logger.warning(
            "strategy %r: summary() failed; showing its parameters", spec.type, exc_info=True
        )
        text = parameters_text(spec.type, spec.params)
    if spec.when:
        conditions = " and ".join(condition_text(c.attribute, c.op, c.values) for c in spec.when)
        text += f" when {conditions}"
    return text


def rollout_summary(flag: Flag) -> str:
    """Who a flag is released to, in one line: what an operator scans a list for."""
    if not flag.enabled:
        return "off for everyone (kill switch)"
    if not flag.strategies:
        return "test users only"
    audience = "; ".join(strategy_summary(s) for s in flag.strategies)
    if flag.prerequisites:
        return f"where {', '.join(p.describe() for p in flag.prerequisites)}: {audience}"
    return audience


def _plain_numbers(value: Any) -> Any:
    """Whole-number floats as ints (a percent of 25.0 reads 25), recursively."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {k: _plain_numbers(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_numbers(v) for v in value]
    return value


def document_text(doc: Any) -> str:
    """A document (or part of one) as stable, indented JSON with sorted keys."""
    if doc is None:
        return ""
    return json.dumps(_plain_numbers(doc), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def document_diff(
    old: Any,
    new: Any,
    *,
    old_label: str = "before",
    new_label: str = "after",
) -> list[str]:
    """A unified diff of two documents (or two flags), as lines without line endings."""
    return [
        line.rstrip("\n")
        for line in difflib.unified_diff(
            document_text(old).splitlines(keepends=True),
            document_text(new).splitlines(keepends=True),
            fromfile=old_label,
            tofile=new_label,
            n=2,
        )
    ]


def ruleset_diff(
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any] | None,
    *,
    old_label: str = "before",
    new_label: str = "after",
) -> list[tuple[str, list[str]]]:
    """What differs between two ruleset documents, one titled diff per flag or setting
    (``flag dark_mode``, ``test users``), so each hunk says what it belongs to."""
    old, new = old or {}, new or {}
    sections: list[tuple[str, list[str]]] = []
    old_flags, new_flags = old.get("flags", {}), new.get("flags", {})
    for name in sorted(set(old_flags) | set(new_flags)):
        before, after = old_flags.get(name), new_flags.get(name)
        if before != after:
            title = f"flag {name}" + (
                " (added)" if before is None else " (removed)" if after is None else ""
            )
            sections.append(
                (title, document_diff(before, after, old_label=old_label, new_label=new_label))
            )
    for key in sorted((set(old) | set(new)) - {"flags"}):
        if old.get(key) != new.get(key):
            lines = document_diff(
                old.get(key), new.get(key), old_label=old_label, new_label=new_label
            )
            sections.append((key.replace("_", " "), lines))
    return sections


# --- Times and audit entries. ---------------------------------------------------------------


def moment(at: float) -> datetime | None:
    """Epoch seconds as an aware UTC datetime; None if no date can be made of them (NaN,
    infinite, or outside the years 1 to 9999), so no caller has to catch an overflow."""
    try:
        if not math.isfinite(at):
            return None
        return datetime.fromtimestamp(at, timezone.utc)
    except (OverflowError, ValueError, OSError, TypeError):
        return None


def utc_time(at: float) -> str:
    """``2025-06-01 12:00:00 UTC``, or ``unknown time``."""
    instant = moment(at)
    return instant.strftime("%Y-%m-%d %H:%M:%S UTC") if instant else UNKNOWN_TIME


def local_time(at: float) -> str:
    """Local ISO 8601 time with its offset, to the second, or ``unknown time``."""
    instant = moment(at)
    if instant is None:
        return UNKNOWN_TIME
    try:  # the local offset can push the first or last representable second out of range
        return instant.astimezone().isoformat(timespec="seconds")
    except (OverflowError, ValueError, OSError):
        return UNKNOWN_TIME


def time_ago(at: float, now: float) -> str:
    """How long before ``now`` that was (``3 min ago``), or ``unknown time``."""
    if moment(at) is None or not math.isfinite(now):
        return UNKNOWN_TIME
    seconds = max(0, int(now - at))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def _marked(change: Change, name: str, text: str) -> str:
    if name not in change.unreadable:
        return text
    return f"{text} (unreadable)" if text else f"(unreadable {name})"


def change_actor(change: Change) -> str:
    """Who made a change; marked if the audit entry's actor could not be read (what could
    is shown, undecodable bytes as replacement characters)."""
    return _marked(change, "actor", change.actor)


def change_action(change: Change) -> str:
    """What kind of write a change was; marked if it could not be read."""
    return _marked(change, "action", change.action)
