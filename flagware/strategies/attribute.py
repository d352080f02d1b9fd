"""``attribute``: accounts whose attribute passes a test, e.g. country in [NL, DE]."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from flagware.strategies.base import BuiltinStrategy, Piece, StrategyField
from flagware.strategies.conditions import OPERATORS, Condition, condition_text

if TYPE_CHECKING:
    from flagware.account import Account

__all__ = ["Attribute"]


class Attribute(Condition, BuiltinStrategy):
    """``{type: attribute, attribute: country, op: in, values: [NL, DE]}``.

    The operators are those of ``when`` conditions (:mod:`flagware.strategies.conditions`);
    ``eq`` and ``in`` are indexed, so a thousand such rules cost one lookup per attribute.
    """

    type_name: ClassVar[str] = "attribute"
    fields: ClassVar[tuple[StrategyField, ...]] = (
        StrategyField("attribute", "Attribute"),
        StrategyField("op", "Test", "choice", choices=OPERATORS, default="in"),
        StrategyField("values", "Values", "values", help="comma separated"),
    )

    @classmethod
    def summary(cls, params: Mapping[str, Any]) -> str:
        return condition_text(params["attribute"], params["op"], params["values"])

    def matches_at(self, account: Account | None, now: float, salt: str) -> bool:
        return self.holds(account)

    def compile(self, salt: str) -> tuple[Piece, ...]:  # type: ignore[override]
        return (Condition.compile(self),)
