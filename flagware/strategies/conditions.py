"""Attribute conditions: the ``attribute`` strategy and every strategy's ``when`` list.

A condition compares one account attribute with a list of ``values``. Positive operators
(``eq in lt lte gt gte contains regex``) hold when the comparison holds for *any* value;
``ne`` and ``not_in`` hold when the attribute equals *none* of them. A missing attribute
(absent, or None) never matches, whatever the operator.

:meth:`Condition.holds` states that meaning plainly, value by value. :meth:`Condition.compile`
gives the engine the same test at a cost that does not grow with the number of values:
``ne``/``not_in`` are one set lookup, ``lt``/``lte``/``gt``/``gte`` one comparison with the
largest or smallest value of the attribute's type, ``contains`` on a list one lookup per
item, and all the patterns of a ``regex`` condition one RE2 search. What still grows with
the document (``contains`` on text: one substring search per value; ``regex``: RE2's
linear-time search of the text) is bounded by limits (:data:`flagware.ruleset.parse.LIMITS`).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Hashable, Iterable
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

import re2
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictStr,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from flagware.strategies.base import (
    IndexedCondition,
    Piece,
    Residual,
    attribute_dimension,
    listed,
)

if TYPE_CHECKING:
    from flagware.account import Account

__all__ = [
    "ATTRIBUTE_NAME",
    "MAX_PATTERNS",
    "MAX_REGEX_LENGTH",
    "MAX_REGEX_PROGRAM",
    "MAX_VALUES",
    "OPERATORS",
    "REGEX_MAX_MEM",
    "Condition",
    "Op",
    "Scalar",
    "condition_text",
]

MAX_VALUES = 10_000  # values of one condition
MAX_REGEX_LENGTH = 256  # characters of one pattern
MAX_PATTERNS = 20  # patterns of one regex condition
MAX_REGEX_PROGRAM = 5_000  # RE2 instructions of one condition's patterns, compiled together
# Memory RE2 may use for one condition: its compiled program and the DFA it builds while
# searching. Without a bound each compiled condition may grow to RE2's default of 8 MiB.
REGEX_MAX_MEM = 256 << 10
ATTRIBUTE_NAME = r"^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$"

Op = Literal["eq", "ne", "in", "not_in", "lt", "lte", "gt", "gte", "contains", "regex"]
# The operators in the order forms offer them: the one list, read from ``Op``.
OPERATORS: tuple[str, ...] = get_args(Op)


def condition_text(attribute: str, op: str, values: Iterable[Any]) -> str:
    """A condition in words, as summaries show it: ``country in NL, DE``."""
    return f"{attribute} {op} {listed(values)}"


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
_RE2_OPTIONS.never_capture = True  # only "does it match?" is ever asked
_RE2_OPTIONS.max_mem = REGEX_MAX_MEM
_SIMPLIFY = (
    f"the limit is {MAX_REGEX_PROGRAM:,} RE2 instructions for one condition (simplify the "
    f"patterns, e.g. avoid large counted repetitions and Unicode classes)"
)


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


def _text(actual: str) -> bytes:
    """What a regex searches: the text as UTF-8 (a lone surrogate kept, as invalid UTF-8)."""
    return actual.encode("utf-8", "surrogatepass")


def _re2_error(exc: re2.error) -> str:
    detail = exc.args[0] if exc.args else exc
    return detail.decode() if isinstance(detail, bytes) else str(detail)


def _compile(pattern: bytes) -> Any:
    """A compiled RE2 program; RE2 caches recent ones, so compiling again is cheap."""
    return re2.compile(pattern, _RE2_OPTIONS)


def _pattern_bytes(value: object) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"regex values must be strings, got {value!r}")
    if len(value) > MAX_REGEX_LENGTH:
        raise ValueError(f"regex is {len(value)} characters long; the limit is {MAX_REGEX_LENGTH}")
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"regex {value!r} is not valid Unicode (a lone surrogate)") from None


def _compile_regex(value: object) -> Any:
    pattern = _pattern_bytes(value)
    try:
        return _compile(pattern)
    except re2.error as exc:
        detail = _re2_error(exc)
        if "too large" in detail:
            raise ValueError(
                f"invalid regex {value!r}: too large ({detail}); {_SIMPLIFY}"
            ) from None
        raise ValueError(f"invalid regex {value!r} (RE2 syntax): {detail}") from None


def _closed(pattern: bytes) -> bytes:
    """``pattern`` ready to be one alternative of several: ``\\Q`` quoting ended.

    ``(?:p1)|(?:p2)`` matches where either does: a group scopes flags such as ``(?i)``, and
    a valid pattern has balanced parentheses, except inside ``\\Q...`` quoting that runs to
    its end, which ``\\E`` closes (a ``\\E`` outside quoting is an error, hence the test).
    """
    if b"\\Q" in pattern:
        try:
            _compile(pattern + b"\\E")
        except re2.error:
            return pattern
        return pattern + b"\\E"
    return pattern


def _combined(values: tuple[Any, ...]) -> Any:
    """One RE2 program that matches where any of the (valid) patterns does."""
    patterns = [_closed(_pattern_bytes(v)) for v in values]
    if len(patterns) == 1:
        return _compile(patterns[0])
    return _compile(b"|".join(b"(?:" + p + b")" for p in patterns))


def _program_size(program: Any) -> int:
    """RE2's size of a compiled program: instructions, forward or reverse, whichever is more."""
    reverse = program.reverseprogramsize  # compiles the reverse program, which search uses
    if reverse < 0:
        raise ValueError(
            f"the patterns are too large for RE2's {REGEX_MAX_MEM >> 10} KiB a condition; "
            f"{_SIMPLIFY}"
        )
    size: int = max(program.programsize, reverse)
    return size


def _check_program(values: tuple[Any, ...]) -> None:
    """Refuse patterns that compile, together, past the size limit of a condition."""
    try:
        size = _program_size(_combined(values))
    except re2.error as exc:
        detail = _re2_error(exc)
        raise ValueError(
            f"the patterns are too large for RE2 together ({detail}); {_SIMPLIFY}"
        ) from None
    if size > MAX_REGEX_PROGRAM:
        raise ValueError(f"the patterns compile to {size:,} RE2 instructions; {_SIMPLIFY}")


def _numbers_and_texts(values: tuple[Any, ...]) -> tuple[list[Any], list[str]]:
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    return numbers, [v for v in values if isinstance(v, str)]


def _key_test(values: tuple[Any, ...], *, negated: bool) -> Callable[[object], bool]:
    """``eq``/``in`` (or, negated, ``ne``/``not_in``): one set lookup."""
    keys = frozenset(index_key(v) for v in values)

    def test(actual: object) -> bool:
        try:
            found = index_key(actual) in keys
        except TypeError:  # unhashable (a list): equal to none of the scalars
            found = False
        return found is not negated

    return test


def _ordering_test(op: str, values: tuple[Any, ...]) -> Callable[[object], bool]:
    """``lt``/``lte`` against the largest value of each type, ``gt``/``gte`` the smallest."""
    compare = _ORDERING[op]
    pick = max if op in ("lt", "lte") else min
    numbers, texts = _numbers_and_texts(values)
    number = pick(numbers) if numbers else None
    text = pick(texts) if texts else None

    def test(actual: object) -> bool:
        if isinstance(actual, bool):
            return False
        if isinstance(actual, int | float):
            return number is not None and compare(actual, number)
        if isinstance(actual, str):
            return text is not None and compare(actual, text)
        return False

    return test


def _contains_test(values: tuple[Any, ...]) -> Callable[[object], bool]:
    """Text: a substring search per text value; a collection: a set lookup per item."""
    needles = tuple(dict.fromkeys(v for v in values if isinstance(v, str)))
    keys = frozenset(index_key(v) for v in values)

    def test(actual: object) -> bool:
        if isinstance(actual, str):
            return any(needle in actual for needle in needles)
        if isinstance(actual, list | tuple | set | frozenset):
            for item in actual:
                try:
                    if index_key(item) in keys:
                        return True
                except TypeError:  # an unhashable item equals none of the scalars
                    continue
        return False

    return test


def _regex_test(values: tuple[Any, ...]) -> Callable[[object], bool]:
    search = _combined(values).search

    def test(actual: object) -> bool:
        return isinstance(actual, str) and search(_text(actual)) is not None

    return test


class Condition(BaseModel):
    """One attribute test, e.g. ``{attribute: country, op: in, values: [NL, DE]}``."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        # What the JSON Schema can say of regex limits; the compiled size it cannot.
        json_schema_extra={
            "if": {"properties": {"op": {"const": "regex"}}, "required": ["op"]},
            "then": {
                "properties": {
                    "values": {
                        "maxItems": MAX_PATTERNS,
                        "items": {"type": "string", "maxLength": MAX_REGEX_LENGTH},
                    }
                }
            },
        },
    )

    attribute: Annotated[StrictStr, Field(pattern=ATTRIBUTE_NAME)]
    op: Op
    values: Annotated[tuple[Scalar, ...], Field(min_length=1, max_length=MAX_VALUES)]

    @field_validator("values")
    @classmethod
    def _check_patterns(cls, values: tuple[Any, ...], info: ValidationInfo) -> tuple[Any, ...]:
        if info.data.get("op") == "regex":
            if len(values) > MAX_PATTERNS:
                raise ValueError(
                    f"a regex condition has at most {MAX_PATTERNS} patterns, got {len(values)}"
                )
            wrong = []
            for i, value in enumerate(values):
                try:
                    _compile_regex(value)
                except ValueError as exc:
                    wrong.append(f"[{i}] {exc}")
            if wrong:
                raise ValueError("; ".join(wrong))
            _check_program(values)
        return values

    @property
    def program_size(self) -> int:
        """RE2 instructions the engine's search for this condition runs (0 unless regex).

        Computed when asked (RE2 keeps the program it compiled for validation), not held:
        a private attribute would cost every condition pydantic's post-init.
        """
        return _program_size(_combined(self.values)) if self.op == "regex" else 0

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
            if not isinstance(actual, str):
                return False
            text = _text(actual)
            return any(_compile(_pattern_bytes(v)).search(text) is not None for v in values)
        compare = _ORDERING[op]
        return any(_comparable(actual, v) and compare(actual, v) for v in values)

    def value_test(self) -> Callable[[object], bool]:
        """:meth:`holds_for_value` as a function whose cost does not grow with the values."""
        op, values = self.op, self.values
        if op in _INDEXABLE or op in ("ne", "not_in"):
            return _key_test(values, negated=op in ("ne", "not_in"))
        if op == "contains":
            return _contains_test(values)
        if op == "regex":
            return _regex_test(values)
        return _ordering_test(op, values)

    def compile(self) -> Piece:
        """An indexed lookup for ``eq``/``in``; a residual check for the other operators."""
        if self.op in _INDEXABLE:
            keys = frozenset(index_key(v) for v in self.values)
            return IndexedCondition(attribute_dimension(self.attribute), keys)
        name = self.attribute
        if self.op in ("ne", "not_in"):  # the commonest residual, inlined: one set lookup
            keys = frozenset(index_key(v) for v in self.values)

            def check_absent(account: Account | None, now: float) -> bool:
                if account is None:
                    return False
                actual = account.attributes.get(name)
                if actual is None:
                    return False
                if actual.__class__ is bool:
                    actual = (_BOOL, actual)
                try:
                    return actual not in keys
                except TypeError:  # unhashable (a list): equal to none of the scalars
                    return True

            return Residual(check_absent)
        test = self.value_test()

        def check(account: Account | None, now: float) -> bool:
            if account is None:
                return False
            actual = account.attributes.get(name)
            return actual is not None and test(actual)

        return Residual(check)
