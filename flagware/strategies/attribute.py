"""``attribute``: accounts whose attribute passes a test, e.g. country in [NL, DE]."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from flagware.strategies.base import BuiltinStrategy, Piece
from flagware.strategies.conditions import Condition

if TYPE_CHECKING:
    from flagware.account import Account

__all__ = ["Attribute"]


class Attribute(Condition, BuiltinStrategy):
    """``{type: attribute, attribute: country, op: in, values: [NL, DE]}``.

    The operators are those of ``when`` conditions (:mod:`flagware.strategies.conditions`);
    ``eq`` and ``in`` are indexed, so a thousand such rules cost one lookup per attribute.
    """

    type_name: ClassVar[str] = "attribute"

    def matches_at(self, account: Account | None, now: float, salt: str) -> bool:
        return self.holds(account)

    def compile(self, salt: str) -> tuple[Piece, ...]:  # type: ignore[override]
        return (Condition.compile(self),)
