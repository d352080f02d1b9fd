"""Attribute conditions: the ``attribute`` strategy and every strategy's ``when`` list.

A condition compares one account attribute with a list of ``values``. Positive operators
(``eq in lt lte gt gte contains regex``) hold when the comparison holds for *any* value;
``ne`` and ``not_in`` hold when the attribute equals *none* of them. A missing attribute
(absent, or None) never matches, whatever the operator.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal

import re2
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationInfo,
    field_validator,
)

from flagware.strategies.base import IndexedCondition, Piece, Residual, attribute_dimension

if TYPE_CHECKING:
    from flagware.model import Account

__all__ = ["ATTRIBUTE_NAME", "MAX_REGEX_LENGTH", "Condition", "Op", "Scalar"]

MAX_REGEX_LENGTH = 256
MAX_VALUES = 10_000
ATTRIBUTE_NAME = r"^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$"

Op = Literal["eq", "ne", "in", "not_in", "lt", "lte", "gt", "gte", "contains", "regex"]
Scalar = Annotated[
    StrictBool | StrictInt | Annotated[StrictFloat, Field(allow_inf_nan=False)] | StrictStr,
    Field(union_mode="left_to_right"),
]
_INDEXABLE = frozenset({"eq", "in"})
_ORDERING: dict[str, Callable[[Any, Any], bool]] = {
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
}
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


def _comparable(a: object, b: object) -> bool:
    """Whether ordering ``a`` against ``b`` means something: both numbers, or both text."""
    if isinstance(a, bool) or isinstance(b, bool):
        return False
    if isinstance(a, int | float) and isinstance(b, int | float):
        return True
    return isinstance(a, str) and isinstance(b, str)


def _contains(actual: object, value: object) -> bool:
    if isinstance(actual, str):
        return isinstance(value, str) and value in actual
    if isinstance(actual, list | tuple | set | frozenset):
        return value in actual
    return False


def _compile_regex(value: object) -> Any:
    if not isinstance(value, str):
        raise ValueError(f"regex values must be strings, got {value!r}")
    if len(value) > MAX_REGEX_LENGTH:
        raise ValueError(f"regex is {len(value)} characters long; the limit is {MAX_REGEX_LENGTH}")
    try:
        return re2.compile(value, _RE2_OPTIONS)
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ValueError(f"invalid regex {value!r} (RE2 syntax): {detail}") from None


class Condition(BaseModel):
    """One attribute test, e.g. ``{attribute: country, op: in, values: [NL, DE]}``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    attribute: Annotated[StrictStr, Field(pattern=ATTRIBUTE_NAME)]
    op: Op
    values: Annotated[list[Scalar], Field(min_length=1, max_length=MAX_VALUES)]
    _patterns: tuple[Any, ...] = PrivateAttr(default=())

    @field_validator("values")
    @classmethod
    def _check_patterns(cls, values: list[Any], info: ValidationInfo) -> list[Any]:
        if info.data.get("op") == "regex":
            for value in values:
                _compile_regex(value)
        return values

    def model_post_init(self, context: Any, /) -> None:
        if self.op == "regex":
            self._patterns = tuple(_compile_regex(v) for v in self.values)

    def holds(self, account: Account | None) -> bool:
        """Reference semantics: whether the condition holds for ``account``."""
        if account is None:
            return False
        actual = account.attributes.get(self.attribute)
        if actual is None:
            return False
        return self.holds_for_value(actual)

    def holds_for_value(self, actual: object) -> bool:
        """Whether the condition holds for an attribute value that is present."""
        op, values = self.op, self.values
        if op in ("eq", "in"):
            return any(actual == v for v in values)
        if op in ("ne", "not_in"):
            return all(actual != v for v in values)
        if op == "contains":
            return any(_contains(actual, v) for v in values)
        if op == "regex":
            return isinstance(actual, str) and any(p.search(actual) for p in self._patterns)
        compare = _ORDERING[op]
        return any(_comparable(actual, v) and compare(actual, v) for v in values)

    def compile(self) -> Piece:
        """An indexed lookup for ``eq``/``in``; a residual check for the other operators."""
        if self.op in _INDEXABLE:
            return IndexedCondition(attribute_dimension(self.attribute), frozenset(self.values))
        name, test = self.attribute, self.holds_for_value

        def check(account: Account | None, now: float) -> bool:
            if account is None:
                return False
            actual = account.attributes.get(name)
            return actual is not None and test(actual)

        return Residual(check)


def all_hold(conditions: Sequence[Condition], account: Account | None) -> bool:
    """Whether every condition holds (an empty list always holds)."""
    return all(c.holds(account) for c in conditions)
