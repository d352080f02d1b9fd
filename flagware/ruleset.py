"""The ruleset: every flag, its strategies, the test users and the policy for unknown flags.

A :class:`Ruleset` is immutable and always valid: the only way to build one from a document
is :meth:`Ruleset.from_dict` (or :func:`flagware.load_ruleset`), which validates the whole
document first. ``to_dict`` gives the canonical document back, and round-trips.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from flagware.strategies.base import BuiltinStrategy, Strategy
from flagware.strategies.conditions import Condition

__all__ = ["SCHEMA_VERSION", "Flag", "Ruleset", "StrategySpec", "UnknownPolicy"]

SCHEMA_VERSION = 1
UnknownPolicy = Literal["released", "hidden"]


def _canonical(doc: dict[str, Any]) -> str:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


def _copy(doc: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of a JSON-compatible document (several times faster than deepcopy)."""
    copied: dict[str, Any] = json.loads(json.dumps(doc))
    return copied


@dataclass(frozen=True, eq=False)
class StrategySpec:
    """One entry of a flag's ``strategies`` list: the strategy and its ``when`` conditions."""

    type: str
    strategy: BuiltinStrategy | Strategy
    params: Mapping[str, Any]
    when: tuple[Condition, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The document form, e.g. ``{"type": "percentage", "percent": 10}``."""
        return _copy(self._shared_dict())

    def _shared_dict(self) -> dict[str, Any]:
        """The document form, sharing ``params``' inner values (callers must not mutate it)."""
        doc: dict[str, Any] = {"type": self.type, **self.params}
        if self.when:
            doc["when"] = [c.model_dump(mode="json") for c in self.when]
        return doc


@dataclass(frozen=True, eq=False)
class Flag:
    """One flag of a ruleset.

    ``enabled=False`` is the kill switch: off for everyone, test users included. A flag with
    no strategies is on for test users only. ``variants`` are ``(name, weight)`` pairs whose
    weights sum to 100.
    """

    name: str
    description: str = ""
    enabled: bool = True
    strategies: tuple[StrategySpec, ...] = ()
    variants: tuple[tuple[str, float], ...] = ()
    salt: str | None = None

    @property
    def rollout_salt(self) -> str:
        """The salt of this flag's percentage buckets: ``salt`` if set, else the name."""
        return self.salt if self.salt is not None else self.name

    def to_dict(self) -> dict[str, Any]:
        """The flag's document form, defaults left out."""
        return _copy(self._shared_dict())

    def _shared_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        if self.description:
            doc["description"] = self.description
        if not self.enabled:
            doc["enabled"] = False
        if self.salt is not None:
            doc["salt"] = self.salt
        doc["strategies"] = [s._shared_dict() for s in self.strategies]
        if self.variants:
            doc["variants"] = dict(self.variants)
        return doc


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
        from flagware.validation import parse_ruleset  # noqa: PLC0415 - it imports this module

        return parse_ruleset(doc, source=source)

    def to_dict(self) -> dict[str, Any]:
        """The canonical document (a fresh copy); ``from_dict(r.to_dict()) == r``."""
        return _copy(self._doc)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Ruleset):
            return NotImplemented
        # Compared as canonical JSON, so that `true` and `1` (which match differently) differ.
        return _canonical(self._doc) == _canonical(other._doc)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"<Ruleset {len(self.flags)} flags, {len(self.test_users)} test users, "
            f"unknown={self.unknown}>"
        )
