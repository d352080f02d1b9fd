"""``everyone``: the flag is released to every request, anonymous ones included."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from flagware.strategies.base import BuiltinStrategy, Piece

if TYPE_CHECKING:
    from flagware.account import Account

__all__ = ["Everyone"]


class Everyone(BuiltinStrategy):
    """``{type: everyone}``: the last step of a rollout."""

    type_name: ClassVar[str] = "everyone"

    def matches_at(self, account: Account | None, now: float, salt: str) -> bool:
        return True

    def compile(self, salt: str) -> tuple[Piece, ...]:
        return ()
