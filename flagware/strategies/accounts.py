"""Strategies that pick accounts by identity: an allowlist of ids, or last digits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import Field, StrictInt, StrictStr, field_validator

from flagware.strategies.base import (
    DIGIT,
    ID,
    BuiltinStrategy,
    IndexedCondition,
    Piece,
    StrategyField,
    listed,
)

if TYPE_CHECKING:
    from flagware.account import Account

__all__ = ["MAX_IDS", "Accounts", "LastDigit"]

MAX_IDS = 100_000
AccountId = Annotated[StrictStr, Field(min_length=1, max_length=256)]


class Accounts(BuiltinStrategy):
    """``{type: accounts, ids: [acct-42, acct-7]}``: exactly these account ids."""

    type_name: ClassVar[str] = "accounts"
    fields: ClassVar[tuple[StrategyField, ...]] = (
        StrategyField("ids", "Account ids", "ids", help="one per line"),
    )
    ids: Annotated[tuple[AccountId, ...], Field(min_length=1, max_length=MAX_IDS)]

    @classmethod
    def summary(cls, params: Mapping[str, Any]) -> str:
        return f"accounts {listed(params['ids'])}" if params["ids"] else "no accounts"

    def matches_at(self, account: Account | None, now: float, salt: str) -> bool:
        return account is not None and account.id in self.ids

    def compile(self, salt: str) -> tuple[Piece, ...]:
        return (IndexedCondition(ID, frozenset(self.ids)),)


class LastDigit(BuiltinStrategy):
    """``{type: last_digit, digits: [1, 2]}``: accounts whose number ends in these digits.

    A cheap, stable 10 % slice per digit, as teams used it before percentage buckets. An
    account without a ``number`` never matches.
    """

    type_name: ClassVar[str] = "last_digit"
    fields: ClassVar[tuple[StrategyField, ...]] = (
        StrategyField("digits", "Last digit of the account number", "digits"),
    )
    digits: Annotated[
        tuple[Annotated[StrictInt, Field(ge=0, le=9)], ...], Field(min_length=1, max_length=10)
    ]

    @field_validator("digits")
    @classmethod
    def _unique(cls, digits: tuple[int, ...]) -> tuple[int, ...]:
        if len(set(digits)) != len(digits):
            raise ValueError("digits must not repeat")
        return digits

    @classmethod
    def summary(cls, params: Mapping[str, Any]) -> str:
        return f"last digit {listed(params['digits'])}"

    def matches_at(self, account: Account | None, now: float, salt: str) -> bool:
        return account is not None and account.last_digit in self.digits

    def compile(self, salt: str) -> tuple[Piece, ...]:
        return (IndexedCondition(DIGIT, frozenset(self.digits)),)
