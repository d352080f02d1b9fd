"""A flag and its strategies, as validated dataclasses (built by :mod:`flagware.ruleset.parse`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any, TypeVar

from flagware.ruleset.documents import canonical_json, copy_document
from flagware.ruleset.prerequisites import Prerequisite
from flagware.strategies.base import BuiltinStrategy, Strategy
from flagware.strategies.conditions import Condition

__all__ = ["Flag", "StrategySpec", "assemble"]

_T = TypeVar("_T")


def assemble(cls: type[_T], **fields: Any) -> _T:
    """An instance of the frozen dataclass ``cls`` (a Flag, a StrategySpec) from the parser,
    which gives every field, each validated already: the frozen dataclass's ``__init__``
    would set them one ``object.__setattr__`` call at a time."""
    made = object.__new__(cls)
    made.__dict__.update(fields)
    return made


@dataclass(frozen=True, eq=False)
class StrategySpec:
    """One entry of a flag's ``strategies`` list: the strategy and its ``when`` conditions."""

    type: str
    strategy: BuiltinStrategy | Strategy
    params: Mapping[str, Any]
    when: tuple[Condition, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The document form, e.g. ``{"type": "percentage", "percent": 10}``."""
        return copy_document(self._shared_dict())

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
    weights sum to 100. ``prerequisites`` are flags that must be on for the account first
    (:mod:`flagware.ruleset.prerequisites`). ``client=True`` exposes the flag's value
    (never its rules) to browsers: the flags endpoint and the page bootstrap list only such
    flags. ``owner``, ``tags``, ``permanent``, ``created`` and ``expires`` are lifecycle
    metadata for people and ``flagware stale``; evaluation ignores them.
    """

    name: str
    description: str = ""
    enabled: bool = True
    client: bool = False
    strategies: tuple[StrategySpec, ...] = ()
    variants: tuple[tuple[str, float], ...] = ()
    salt: str | None = None
    prerequisites: tuple[Prerequisite, ...] = ()
    # Lifecycle metadata (flagware.ruleset.lifecycle): shown and searched, never evaluated.
    owner: str | None = None
    tags: tuple[str, ...] = ()
    permanent: bool = False
    created: date | None = None
    expires: date | None = None
    # What the flag adds to the document-wide totals (ruleset.limits), set by the parser so
    # that a later edit of other flags can count this one without walking it again.
    _counts: tuple[int, ...] | None = field(default=None, repr=False, kw_only=True)

    @property
    def rollout_salt(self) -> str:
        """The salt of this flag's percentage buckets: ``salt`` if set, else the name."""
        return self.salt if self.salt is not None else self.name

    def to_dict(self) -> dict[str, Any]:
        """The flag's document form, defaults left out."""
        return copy_document(self._shared_dict())

    @cached_property
    def _document(self) -> dict[str, Any]:
        """The document form, built once and shared by every ruleset holding this flag
        (callers must not mutate it): a parser given it back knows the flag unchanged."""
        return self._shared_dict()

    @cached_property
    def _canonical(self) -> bytes:
        """The canonical JSON of the document form (ASCII), computed once."""
        return canonical_json(self._document).encode("ascii")

    @cached_property
    def _segment(self) -> bytes:
        """``"name":{...}``, as the flag appears in its ruleset's canonical JSON."""
        return canonical_json(self.name).encode("ascii") + b":" + self._canonical

    def _shared_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        if self.description:
            doc["description"] = self.description
        if not self.enabled:
            doc["enabled"] = False
        if self.client:
            doc["client"] = True
        if self.salt is not None:
            doc["salt"] = self.salt
        doc["strategies"] = [s._shared_dict() for s in self.strategies]
        if self.variants:
            doc["variants"] = dict(self.variants)
        if self.prerequisites:
            doc["prerequisites"] = [p.to_dict() for p in self.prerequisites]
        doc.update(self._lifecycle_dict())
        return doc

    def _lifecycle_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        if self.owner is not None:
            doc["owner"] = self.owner
        if self.tags:
            doc["tags"] = list(self.tags)
        if self.permanent:
            doc["permanent"] = True
        if self.created is not None:
            doc["created"] = self.created.isoformat()
        if self.expires is not None:
            doc["expires"] = self.expires.isoformat()
        return doc
