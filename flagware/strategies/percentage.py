"""``percentage``: a stable slice of accounts, by hash bucket.

The buckets are defined in :mod:`flagware.strategies.hashing`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import Field, field_validator

from flagware.strategies import hashing
from flagware.strategies.base import BuiltinStrategy, HashCheck, Piece, StrategyField

if TYPE_CHECKING:
    from flagware.account import Account

__all__ = ["Percentage"]


class Percentage(BuiltinStrategy):
    """``{type: percentage, percent: 12.5}``: the accounts whose bucket is below 12.5 %.

    The bucket is salted with the flag's salt (its name unless set), so two flags at 10 %
    reach independent 10 % slices, and raising the percentage keeps everyone already in.
    """

    type_name: ClassVar[str] = "percentage"
    fields: ClassVar[tuple[StrategyField, ...]] = (
        StrategyField("percent", "Percent of accounts", "number", unit="%"),
    )
    percent: Annotated[float, Field(strict=True, ge=0, le=100, allow_inf_nan=False)]

    @field_validator("percent")
    @classmethod
    def _whole_steps(cls, percent: float) -> float:
        if abs(percent * 100 - round(percent * 100)) > 1e-6:
            raise ValueError(f"must be a multiple of 0.01 (the rollout step), got {percent}")
        return percent

    @classmethod
    def summary(cls, params: Mapping[str, Any]) -> str:
        return f"{params['percent']:g}% of accounts"

    def matches_at(self, account: Account | None, now: float, salt: str) -> bool:
        if account is None:
            return False
        return hashing.bucket(salt, account.id) < hashing.basis_points(self.percent)

    def compile(self, salt: str) -> tuple[Piece, ...]:
        points = hashing.basis_points(self.percent)
        return (HashCheck(hashing.seed_for(salt), hashing.threshold(points)),)
