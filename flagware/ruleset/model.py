"""The ruleset: every flag, its strategies, the test users and the policy for unknown flags.

A :class:`Ruleset` is immutable and always valid: the only way to build one from a document
is :meth:`Ruleset.from_dict` (or :func:`flagware.load_ruleset`), which validates the whole
document first. ``to_dict`` gives the canonical document back, and round-trips.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

from flagware.ruleset._canonical import Canonical, assemble, reassemble, reread
from flagware.ruleset.documents import (
    SCHEMA_VERSION,
    ReadOnlyDocument,
    UnknownPolicy,
    copy_document,
)
from flagware.ruleset.flag import Flag
from flagware.ruleset.limits import NO_COUNTS
from flagware.ruleset.parse import Base, parse
from flagware.ruleset.segments import Segment, segments_json

_COPIED: Mapping[str, Any] = MappingProxyType({})

__all__ = ["Ruleset"]


@dataclass(frozen=True, eq=False)
class Ruleset:
    """A validated ruleset. Build one with :meth:`from_dict` or :func:`flagware.load_ruleset`."""

    flags: Mapping[str, Flag] = field(default_factory=lambda: MappingProxyType({}))
    test_users: frozenset[str] = frozenset()
    unknown: UnknownPolicy = "released"
    segments: Mapping[str, Segment] = field(default_factory=lambda: MappingProxyType({}))
    """Named audiences the flags' ``segment`` strategies refer to."""
    _doc: dict[str, Any] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "flags", MappingProxyType(dict(self.flags)))
        object.__setattr__(self, "test_users", frozenset(self.test_users))
        object.__setattr__(self, "segments", MappingProxyType(dict(self.segments)))
        doc = {
            "schema": SCHEMA_VERSION,
            "test_users": sorted(self.test_users),
            "unknown": self.unknown,
            # Each flag's own document, shared; to_dict() hands out a deep copy.
            "flags": {name: flag._document for name, flag in self.flags.items()},
        }
        if self.segments:  # left out when there are none: older documents keep their bytes
            doc["segments"] = {name: s._document for name, s in self.segments.items()}
        object.__setattr__(self, "_doc", doc)

    @classmethod
    def from_dict(cls, doc: Any, *, source: str | None = None) -> Ruleset:
        """Validate ``doc`` and build a ruleset, or raise :class:`flagware.RulesetError`.

        Every problem in the document is reported at once, each with its path
        (``flags.beta.strategies[2].percent: ...``). ``source`` names the document (a file
        path, a Redis key) in the error message.
        """
        parsed = parse(doc, source=source)
        return cls(
            flags=parsed.flags,
            test_users=parsed.test_users,
            unknown=parsed.unknown,
            segments=parsed.segments,
        )

    def _edited(self, doc: Any, changed: Set[str], *, source: str | None = None) -> Ruleset:
        """``doc`` validated as an edit of this ruleset in which only the flags named in
        ``changed`` differ (the caller vouches for the others: see ``_draft``, ``_reread``);
        the cost of those flags, not of the whole ruleset."""
        base = self._base
        if base is None:
            return Ruleset.from_dict(doc, source=source)
        parsed = parse(doc, source=source, base=base, changed=changed)
        ruleset = Ruleset(
            flags=parsed.flags,
            test_users=parsed.test_users,
            unknown=parsed.unknown,
            segments=parsed.segments,
        )
        if parsed.counts is None:  # the segments changed: read whole
            return ruleset
        # Counted from the base's: no walk over every flag; the segments are the base's.
        ruleset.__dict__["_base"] = Base(
            ruleset.flags, parsed.counts, ruleset.segments, base.segments_json
        )
        ruleset.__dict__["_segments_json"] = base.segments_json
        if "_canonical" in self.__dict__:  # spliced from this one's, if it was ever made
            canonical = reassemble(
                self._canonical,
                ruleset.flags,
                changed,
                test_users=ruleset.test_users,
                unknown=ruleset.unknown,
                segments=base.segments_json,
            )
            if canonical is not None:
                ruleset.__dict__["_canonical"] = canonical
        return ruleset

    @cached_property
    def _base(self) -> Base | None:
        """What an edit starts from; None if a flag was not built by the parser."""
        counts = [flag._counts for flag in self.flags.values()]
        if any(c is None for c in counts):
            return None
        summed = tuple(map(sum, zip(*counts, strict=True))) if counts else NO_COUNTS
        return Base(self.flags, summed, self.segments, self._segments_json)

    @cached_property
    def _segments_json(self) -> bytes:
        """The segments' canonical JSON (empty without segments), for the canonical text."""
        return segments_json(self.segments) if self.segments else b""

    @cached_property
    def _canonical(self) -> Canonical:
        """The canonical JSON (what stores write and digest), assembled once."""
        return assemble(self.flags, self.test_users, self.unknown, self._segments_json)

    def _shared_document(self) -> dict[str, Any]:
        """The document without copying (stores compare and summarise it; never mutate)."""
        return self._doc

    def _draft(self, touched: Set[str]) -> tuple[dict[str, Any], dict[str, Mapping[str, Any]]]:
        """A document to edit in place, and what its untouched flags are.

        Only the ``touched`` flags are copies; the others are read-only views of their
        shared documents (an edit that writes into one fails), so :meth:`_edit_of` tells
        which flags an edit added, replaced or deleted, without comparing contents.
        """
        shared = self._doc["flags"]
        views: dict[str, Mapping[str, Any]] = {
            name: ReadOnlyDocument(doc) for name, doc in shared.items() if name not in touched
        }
        flags: dict[str, Any] = dict(views)
        for name in touched & shared.keys():
            flags[name] = copy_document(shared[name])
            views[name] = _COPIED  # in no draft: a touched flag counts as changed, kept or not
        draft = {**self._doc, "test_users": list(self._doc["test_users"]), "flags": flags}
        if "segments" in draft:  # few and small: a copy, which an edit may change in place
            draft["segments"] = copy_document(draft["segments"])
        return draft, views

    @staticmethod
    def _edit_of(draft: dict[str, Any], views: Mapping[str, Mapping[str, Any]]) -> frozenset[str]:
        """The flags a draft from :meth:`_draft` no longer holds as they were (every
        touched flag among them)."""
        flags = draft.get("flags")
        if not isinstance(flags, Mapping):
            return frozenset(views)
        changed = {name for name, value in flags.items() if views.get(name) is not value}
        return frozenset(changed.union(views.keys() - flags.keys()))

    def _reread(self, raw: bytes) -> tuple[dict[str, Any], frozenset[str]] | None:
        """``raw`` (a stored canonical document) as an edit of this ruleset, for
        ``_edited``: the document and the flags that differ, only those decoded; None if
        it must be read whole."""
        found = reread(self._canonical, self.flags, raw)
        if found is None:
            return None
        flags, changed, top = found
        if top is None:
            top = {**self._doc, "test_users": list(self._doc["test_users"])}
        return {**top, "flags": flags}, changed

    def to_dict(self) -> dict[str, Any]:
        """The canonical document (a fresh copy); ``from_dict(r.to_dict()) == r``."""
        return copy_document(self._doc)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Ruleset):
            return NotImplemented
        # Compared as canonical JSON, so that `true` and `1` (which match differently) differ.
        return self._canonical.data == other._canonical.data

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"<Ruleset {len(self.flags)} flags, {len(self.test_users)} test users, "
            f"unknown={self.unknown}>"
        )
