"""``everyone``: the flag is released to every request, anonymous ones included."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from flagware.strategies.base import BuiltinStrategy, Piece, StrategyField

if TYPE_CHECKING:
    from flagware.account import Account

__all__ = ["Everyone"]


class Everyone(BuiltinStrategy):
    """``{type: everyone}``: the last step of a rollout."""

    type_name: ClassVar[str] = "everyone"
    fields: ClassVar[tuple[StrategyField, ...]] = ()
    note: ClassVar[str] = "Every account, and anonymous visitors."

    @classmethod
    def summary(cls, params: Mapping[str, Any]) -> str:
        return "everyone"

    def matches_at(self, account: Account | None, now: float, salt: str) -> bool:
        return True

    def compile(self, salt: str) -> tuple[Piece, ...]:
        return ()
