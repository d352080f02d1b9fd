"""Which flags a change reaches beyond the ones it edits: through segments and prerequisites.

A segment edit changes no flag's document, yet every flag using the segment (directly or
through another segment) answers differently; a flag edit reaches every flag that requires
it, transitively. The audit history, the OpenFeature provider's change events and the
rollout preview name those flags too. Works on canonical documents (what stores write and
summarise), so it needs no validated ruleset.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from typing import Any

from flagware.ruleset.documents import canonical_json

__all__ = ["affected_flags", "changed_segments", "segment_users"]


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _uses(body: Any) -> set[str]:
    """The segments a flag's or segment's document uses in its strategies."""
    strategies = _mapping(body).get("strategies")
    if not isinstance(strategies, list | tuple):
        return set()
    return {
        s["name"]
        for s in strategies
        if isinstance(s, Mapping) and s.get("type") == "segment" and isinstance(s.get("name"), str)
    }


def _requires(body: Any) -> set[str]:
    entries = _mapping(body).get("prerequisites")
    if not isinstance(entries, list | tuple):
        return set()
    return {e["flag"] for e in entries if isinstance(e, Mapping) and isinstance(e.get("flag"), str)}


def segment_users(doc: Mapping[str, Any], name: str) -> list[str]:
    """What uses segment ``name`` directly: its flags, then ``segment <name>`` for the
    segments using it (a segment in use cannot be deleted)."""
    flags = [flag for flag, body in _mapping(doc.get("flags")).items() if name in _uses(body)]
    segments = _mapping(doc.get("segments"))
    return flags + [f"segment {s}" for s, body in segments.items() if name in _uses(body)]


def changed_segments(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> dict[str, str]:
    """``{segment: "added" | "removed" | "changed"}`` between two documents."""
    before = _mapping((old or {}).get("segments"))
    after = _mapping(new.get("segments"))
    found: dict[str, str] = {}
    for name in sorted({*before, *after}):
        if name not in before:
            found[name] = "added"
        elif name not in after:
            found[name] = "removed"
        elif before[name] is not after[name] and canonical_json(before[name]) != canonical_json(
            after[name]
        ):
            found[name] = "changed"
    return found


def _closure(start: Set[str], edges: Mapping[str, set[str]]) -> set[str]:
    """``start`` and every name whose edges reach a name in it, transitively."""
    reached = set(start)
    grew = True
    while grew:
        grew = False
        for name, targets in edges.items():
            if name not in reached and targets & reached:
                reached.add(name)
                grew = True
    return reached


def affected_flags(
    old: Mapping[str, Any] | None, new: Mapping[str, Any], changed: Iterable[str]
) -> set[str]:
    """The flags of ``new`` whose answers may change beyond the ``changed`` ones: those using
    a changed segment, and those requiring a changed or reached flag (transitively)."""
    flags = _mapping(new.get("flags"))
    changed = set(changed)
    segments = set(changed_segments(old, new))
    if segments:  # through segments using changed segments
        used_by = {name: _uses(body) for name, body in _mapping(new.get("segments")).items()}
        segments = _closure(segments, used_by)
    reached = set(changed)
    if segments:
        reached |= {name for name, body in flags.items() if _uses(body) & segments}
    requires = {name: found for name, body in flags.items() if (found := _requires(body))}
    if requires:
        reached = _closure(reached, requires)
    return {name for name in reached - changed if name in flags}
