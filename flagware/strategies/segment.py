"""``segment``: the accounts of a segment the ruleset defines (:mod:`flagware.ruleset.segments`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Protocol

from pydantic import Field, PrivateAttr, StrictStr

from flagware.strategies.base import BuiltinStrategy, Piece, Residual, StrategyField
from flagware.strategies.calling import entry_matches

if TYPE_CHECKING:
    from flagware.account import Account
    from flagware.ruleset.flag import StrategySpec

__all__ = ["SEGMENT_NAME", "Audience", "InSegment"]

SEGMENT_NAME = r"^[A-Za-z_][A-Za-z0-9_.-]{0,99}$"
"""What a segment may be called: what a flag may."""


class Audience(Protocol):
    """What the strategy needs of the segment it references."""

    @property
    def strategies(self) -> tuple[StrategySpec, ...]: ...

    @property
    def rollout_salt(self) -> str: ...

    @property
    def alternatives(self) -> tuple[tuple[Piece, ...], ...]: ...


class InSegment(BuiltinStrategy):
    """``{type: segment, name: beta_customers}``: where the segment's strategies match.

    Validation binds the entry to the segment of that name (an unknown name is a problem);
    an entry built by hand and never bound matches nobody.
    """

    type_name: ClassVar[str] = "segment"
    fields: ClassVar[tuple[StrategyField, ...]] = (
        StrategyField("name", "Segment", help="a segment defined under the ruleset's segments"),
    )
    name: Annotated[StrictStr, Field(pattern=SEGMENT_NAME)]
    _segment: Audience | None = PrivateAttr(default=None)

    @classmethod
    def summary(cls, params: Mapping[str, Any]) -> str:
        return f"segment {params['name']}"

    def bound(self, segment: Audience) -> InSegment:
        """This entry, referring to ``segment``."""
        copy = self.model_copy()
        copy._segment = segment
        return copy

    def matches_at(self, account: Account | None, now: float, salt: str) -> bool:
        segment = self._segment
        if segment is None:
            return False
        inner = segment.rollout_salt
        return any(entry_matches(s, account, now, inner) for s in segment.strategies)

    def compile(self, salt: str) -> tuple[Piece, ...]:
        """One unindexed check (the engine indexes :meth:`alternatives` instead)."""

        def check(account: Account | None, now: float) -> bool:
            return self.matches_at(account, now, salt)

        return (Residual(check, anonymous=True, timed=True),)

    def alternatives(self, salt: str) -> tuple[tuple[Piece, ...], ...]:
        segment = self._segment
        return () if segment is None else segment.alternatives
