"""The ruleset: every flag, its strategies, the test users and the policy for unknown flags.

A :class:`Ruleset` is immutable and always valid: the only way to build one from a document
is :meth:`Ruleset.from_dict` (or :func:`flagware.load_ruleset`), which validates the whole
document first. ``to_dict`` gives the canonical document back, and round-trips.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from flagware.ruleset.documents import SCHEMA_VERSION, UnknownPolicy, canonical_json, copy_document
from flagware.ruleset.flag import Flag
from flagware.ruleset.parse import parse

__all__ = ["Ruleset"]


@dataclass(frozen=True, eq=False)
class Ruleset:
    """A validated ruleset. Build one with :meth:`from_dict` or :func:`flagware.load_ruleset`."""

    flags: Mapping[str, Flag] = field(default_factory=lambda: MappingProxyType({}))
    test_users: frozenset[str] = frozenset()
    unknown: UnknownPolicy = "released"
    _doc: dict[str, Any] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "flags", MappingProxyType(dict(self.flags)))
        object.__setattr__(self, "test_users", frozenset(self.test_users))
        doc = {
            "schema": SCHEMA_VERSION,
            "test_users": sorted(self.test_users),
            "unknown": self.unknown,
            # Shares inner values with the specs; to_dict() hands out a deep copy.
            "flags": {name: flag._shared_dict() for name, flag in self.flags.items()},
        }
        object.__setattr__(self, "_doc", doc)

    @classmethod
    def from_dict(cls, doc: Any, *, source: str | None = None) -> Ruleset:
        """Validate ``doc`` and build a ruleset, or raise :class:`flagware.RulesetError`.

        Every problem in the document is reported at once, each with its path
        (``flags.beta.strategies[2].percent: ...``). ``source`` names the document (a file
        path, a Redis key) in the error message.
        """
        flags, test_users, unknown = parse(doc, source=source)
        return cls(flags=flags, test_users=test_users, unknown=unknown)

    def to_dict(self) -> dict[str, Any]:
        """The canonical document (a fresh copy); ``from_dict(r.to_dict()) == r``."""
        return copy_document(self._doc)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Ruleset):
            return NotImplemented
        # Compared as canonical JSON, so that `true` and `1` (which match differently) differ.
        return canonical_json(self._doc) == canonical_json(other._doc)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"<Ruleset {len(self.flags)} flags, {len(self.test_users)} test users, "
            f"unknown={self.unknown}>"
        )
