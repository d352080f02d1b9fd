"""``schedule``: released from ``after`` (inclusive) until ``before`` (exclusive)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import AwareDatetime, BeforeValidator, model_validator

from flagware.strategies.base import BuiltinStrategy, Piece, Residual, StrategyField

if TYPE_CHECKING:
    from flagware.account import Account

__all__ = ["Schedule"]


def _timestamp_only(value: Any) -> Any:
    if not isinstance(value, str | datetime):
        raise ValueError("must be an ISO 8601 timestamp with a timezone, e.g. 2026-12-01T00:00:00Z")
    return value


Timestamp = Annotated[AwareDatetime, BeforeValidator(_timestamp_only)]


class Schedule(BuiltinStrategy):
    """``{type: schedule, after: "2026-12-01T00:00:00Z", before: ...}``.

    Either bound may be left out. Schedules are the only strategies besides ``everyone``
    that match anonymous requests: a launch at a set time is for everybody.
    """

    type_name: ClassVar[str] = "schedule"
    fields: ClassVar[tuple[StrategyField, ...]] = (
        StrategyField(
            "after", "After", "datetime", required=False, placeholder="2026-12-01T00:00:00Z"
        ),
        StrategyField("before", "Before", "datetime", required=False, placeholder="(no end)"),
    )
    after: Timestamp | None = None
    before: Timestamp | None = None

    @model_validator(mode="after")
    def _bounds(self) -> Schedule:
        if self.after is None and self.before is None:
            raise ValueError("needs `after`, `before` or both")
        if self.after is not None and self.before is not None and self.after >= self.before:
            raise ValueError("`after` must be earlier than `before`")
        return self

    @classmethod
    def summary(cls, params: Mapping[str, Any]) -> str:
        bounds = [f"after {params['after']}"] if params.get("after") else []
        bounds += [f"before {params['before']}"] if params.get("before") else []
        return " and ".join(bounds) or "always"

    def matches_at(self, account: Account | None, now: float, salt: str) -> bool:
        after = self.after.timestamp() if self.after is not None else None
        before = self.before.timestamp() if self.before is not None else None
        return (after is None or now >= after) and (before is None or now < before)

    def compile(self, salt: str) -> tuple[Piece, ...]:
        after = self.after.timestamp() if self.after is not None else float("-inf")
        before = self.before.timestamp() if self.before is not None else float("inf")

        def check(account: Account | None, now: float) -> bool:
            return after <= now < before

        return (Residual(check, anonymous=True, timed=True),)
