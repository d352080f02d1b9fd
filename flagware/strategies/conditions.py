"""Attribute conditions: the ``attribute`` strategy and every strategy's ``when`` list.

A condition compares one account attribute with a list of ``values``. Positive operators
(``eq in lt lte gt gte contains regex``) hold when the comparison holds for *any* value;
``ne`` and ``not_in`` hold when the attribute equals *none* of them. A missing attribute
(absent, or None) never matches, whatever the operator.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Annotated, Any, Literal

import re2
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictStr,
    ValidationInfo,
    WithJsonSchema,
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


def _scalar(value: Any) -> Any:
    if type(value) not in (str, int, float, bool):
        raise ValueError(f"must be a string, number or boolean, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"must be a finite number, got {value!r}")
    return value


Scalar = Annotated[
    Any,
    BeforeValidator(_scalar),
    WithJsonSchema({"type": ["string", "number", "boolean"]}),
]


def index_key(value: Any) -> Hashable:
    """The key a value is indexed under: booleans apart from the numbers 0 and 1."""
    return (_BOOL, value) if value.__class__ is bool else value


def same(a: object, b: object) -> bool:
    """Equality as conditions see it: ``==``, except that a boolean never equals a number."""
    return a == b and (a.__class__ is bool) == (b.__class__ is bool)


_INDEXABLE = frozenset({"eq", "in"})
_BOOL = object()  # tags booleans in index keys, so True is not the number 1
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
        return any(same(item, value) for item in actual)
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
    values: Annotated[tuple[Scalar, ...], Field(min_length=1, max_length=MAX_VALUES)]
    _patterns: tuple[Any, ...] = PrivateAttr(default=())

    @field_validator("values")
    @classmethod
    def _check_patterns(cls, values: tuple[Any, ...], info: ValidationInfo) -> tuple[Any, ...]:
        if info.data.get("op") == "regex":
            wrong = []
            for i, value in enumerate(values):
                try:
                    _compile_regex(value)
                except ValueError as exc:
                    wrong.append(f"[{i}] {exc}")
            if wrong:
                raise ValueError("; ".join(wrong))
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
            return any(same(actual, v) for v in values)
        if op in ("ne", "not_in"):
            return not any(same(actual, v) for v in values)
        if op == "contains":
            return any(_contains(actual, v) for v in values)
        if op == "regex":
            return isinstance(actual, str) and any(p.search(actual) for p in self._patterns)
        compare = _ORDERING[op]
        return any(_comparable(actual, v) and compare(actual, v) for v in values)

    def compile(self) -> Piece:
        """An indexed lookup for ``eq``/``in``; a residual check for the other operators."""
        if self.op in _INDEXABLE:
            keys = frozenset(index_key(v) for v in self.values)
            return IndexedCondition(attribute_dimension(self.attribute), keys)
        name, test = self.attribute, self.holds_for_value

        def check(account: Account | None, now: float) -> bool:
            if account is None:
                return False
            actual = account.attributes.get(name)
            return actual is not None and test(actual)

        return Residual(check)
