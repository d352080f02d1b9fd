"""Reference semantics of attribute conditions (``when`` lists and ``attribute`` strategies)."""

from __future__ import annotations

from typing import Any

import pytest

from flagware import Account
from flagware.strategies import Attribute, Condition


def cond(op: str, *values: Any, attribute: str = "x") -> Condition:
    return Condition.model_validate({"attribute": attribute, "op": op, "values": list(values)})


def holds(condition: Condition, actual: Any) -> bool:
    return condition.holds(Account(id="acct-1", attributes={"x": actual}))


ALL_OPS = ["eq", "ne", "in", "not_in", "lt", "lte", "gt", "gte", "contains", "regex"]


# --- each operator -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "values", "actual", "expected"),
    [
        ("eq", ["NL"], "NL", True),
        ("eq", ["NL"], "nl", False),
        ("eq", ["NL", "DE"], "DE", True),
        ("eq", [3], 3, True),
        ("eq", [3], 3.0, True),
        ("eq", [3], 4, False),
        ("in", ["NL", "DE"], "NL", True),
        ("in", ["NL", "DE"], "BE", False),
        ("in", [1, 2], 2, True),
        ("ne", ["NL"], "DE", True),
        ("ne", ["NL"], "NL", False),
        ("not_in", ["NL", "DE"], "BE", True),
        ("not_in", ["NL", "DE"], "DE", False),
        ("lt", [18], 17, True),
        ("lt", [18], 18, False),
        ("lte", [18], 18, True),
        ("lte", [18], 18.5, False),
        ("gt", [18], 18.5, True),
        ("gt", [18], 18, False),
        ("gte", [18], 18, True),
        ("gte", [18], 17.99, False),
        ("lt", ["m"], "apple", True),
        ("gte", ["2026-01"], "2026-03", True),
        ("gt", ["b"], "a", False),
        ("contains", ["@corp"], "me@corp.example", True),
        ("contains", ["@corp"], "me@example.com", False),
        ("contains", ["beta"], ["alpha", "beta"], True),
        ("contains", ["gamma"], ["alpha", "beta"], False),
        ("contains", [2], (1, 2), True),
        ("contains", [2], frozenset({1, 2}), True),
        ("regex", ["^acct-[0-9]+$"], "acct-42", True),
        ("regex", ["^acct-[0-9]+$"], "acct-42x", False),
        ("regex", ["corp"], "me@corp.example", True),  # search, not full match
        ("regex", ["(?i)^NL$"], "nl", True),
    ],
)
def test_operator(op: str, values: list[Any], actual: Any, expected: bool) -> None:
    assert holds(cond(op, *values), actual) is expected


# --- any value / none of the values --------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "values", "actual"),
    [
        ("eq", ["a", "b", "c"], "c"),
        ("in", ["a", "b", "c"], "b"),
        ("lt", [10, 100], 50),  # not < 10, but < 100
        ("lte", [10, 50], 50),
        ("gt", [100, 10], 50),
        ("gte", [100, 50], 50),
        ("contains", ["zz", "corp"], "me@corp"),
        ("regex", ["^zz", "corp$"], "me@corp"),
    ],
)
def test_positive_operators_hold_when_any_value_passes(
    op: str, values: list[Any], actual: Any
) -> None:
    assert holds(cond(op, *values), actual)


@pytest.mark.parametrize("op", ["ne", "not_in"])
def test_negative_operators_hold_only_when_no_value_is_equal(op: str) -> None:
    condition = cond(op, "NL", "DE", "BE")
    assert holds(condition, "FR")
    for country in ("NL", "DE", "BE"):
        assert not holds(condition, country)


# --- missing attributes --------------------------------------------------------------------


@pytest.mark.parametrize("op", ALL_OPS)
def test_a_missing_attribute_never_matches(op: str) -> None:
    condition = cond(op, "zz")
    assert not condition.holds(Account(id="acct-1"))
    assert not condition.holds(Account(id="acct-1", attributes={"other": "zz"}))


@pytest.mark.parametrize("op", ALL_OPS)
def test_a_none_attribute_never_matches(op: str) -> None:
    assert not holds(cond(op, "zz"), None)


@pytest.mark.parametrize("op", ALL_OPS)
def test_an_anonymous_request_never_matches(op: str) -> None:
    assert not cond(op, "zz").holds(None)


# --- type mismatches -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "values", "actual"),
    [
        ("eq", ["1"], 1),
        ("eq", [1], "1"),
        ("in", ["NL"], ["NL"]),
        ("lt", [18], "17"),
        ("gt", ["a"], 5),
        ("lte", [1], [0]),
        ("gte", [1], {"a": 1}),
        ("contains", [1], "123"),  # a number is not a substring
        ("contains", ["a"], 5),
        ("contains", ["a"], {"a": 1}),  # mappings are not searched
        ("regex", ["1"], 1),
        ("regex", ["a"], ["a"]),
    ],
)
def test_type_mismatches_never_match_and_never_raise(
    op: str, values: list[Any], actual: Any
) -> None:
    assert holds(cond(op, *values), actual) is False


@pytest.mark.parametrize(
    ("op", "values", "actual"),
    [
        ("lt", [1], False),
        ("gt", [0], True),
        ("gte", [True], 5),
        ("lte", [False], 0),
        ("lt", [True], False),
        ("gte", [0], True),
    ],
)
def test_bools_are_not_ordered_numbers(op: str, values: list[Any], actual: Any) -> None:
    assert holds(cond(op, *values), actual) is False


@pytest.mark.parametrize(("op", "actual"), [("eq", True), ("in", True), ("eq", False)])
def test_bools_match_bools_by_equality(op: str, actual: bool) -> None:
    assert holds(cond(op, actual), actual)
    assert not holds(cond(op, not actual), actual)


@pytest.mark.parametrize(
    ("op", "values", "actual", "expected"),
    [("eq", [1], True, False), ("ne", [0], False, True)],
)
def test_bools_do_not_equal_numbers(
    op: str, values: list[Any], actual: Any, expected: bool
) -> None:
    # BUG (debatable): eq/in/ne/not_in use Python's ==, where True == 1 and False == 0,
    # although the ordering operators treat bools and numbers as different types.
    assert holds(cond(op, *values), actual) is expected


def test_int_and_float_values_compare_as_numbers() -> None:
    assert holds(cond("lt", 2.5), 2)
    assert holds(cond("gte", 2), 2.0)


# --- the attribute strategy ----------------------------------------------------------------


def test_attribute_strategy_uses_condition_semantics() -> None:
    strategy = Attribute.model_validate(
        {"attribute": "country", "op": "in", "values": ["NL", "DE"]}
    )
    nl = Account(id="a", attributes={"country": "NL"})
    fr = Account(id="b", attributes={"country": "FR"})
    assert strategy.matches_at(nl, 0.0, "salt")
    assert not strategy.matches_at(fr, 0.0, "salt")
    assert not strategy.matches_at(Account(id="c"), 0.0, "salt")
    assert not strategy.matches_at(None, 0.0, "salt")


def test_attribute_names_may_contain_dots_colons_and_dashes() -> None:
    condition = cond("eq", "x", attribute="org:plan.tier-1")
    assert condition.holds(Account(id="a", attributes={"org:plan.tier-1": "x"}))


def test_conditions_are_frozen() -> None:
    condition = cond("eq", "NL")
    with pytest.raises(ValueError, match="frozen"):
        condition.op = "ne"  # type: ignore[misc]
