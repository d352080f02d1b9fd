"""Reference semantics of attribute conditions (``when`` lists and ``attribute`` strategies)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from flagware import Account
from flagware.strategies import Attribute, Condition
from flagware.strategies.base import Residual
from flagware.strategies.conditions import MAX_PATTERNS, MAX_REGEX_PROGRAM, MAX_VALUES, OPERATORS


def cond(op: str, *values: Any, attribute: str = "x") -> Condition:
    return Condition.model_validate({"attribute": attribute, "op": op, "values": list(values)})


def holds(condition: Condition, actual: Any) -> bool:
    return condition.holds(Account(id="acct-1", attributes={"x": actual}))


ALL_OPS = list(OPERATORS)  # pinned in test_describing.py


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


# --- the compiled test agrees with the plain one, at a cost that does not grow -------------

# Values a document may hold, and attribute values an application may pass: booleans next
# to the numbers 0 and 1, ints next to equal floats, text next to numbers, collections,
# unhashable values, text that is not valid Unicode.
DOC_VALUES = [0, 1, -1, 2, 17, 18, 2.5, 18.0, 1e300, 10**30, True, False]
DOC_VALUES += ["", "a", "b", "NL", "nl", "pro", "18", "é", "a b"]
ACTUALS: list[Any] = [*DOC_VALUES, 0.0, 1.0, 17.5, float("nan"), float("inf"), -(10**40)]
ACTUALS += ["xNLx", "pro NL", "\ud800a", "A", "zz", ["NL"], ["a", 1], [True], ("pro", 18.0)]
ACTUALS += [{"NL"}, frozenset({1, "b"}), [["NL"]], [{"a": 1}], {"NL": 1}, b"NL", object()]
PATTERN_POOL = [
    "^N",
    "L$",
    "pro",
    "(?i)^nl$",
    "^(D|U)",
    ".",
    "a|b",
    r"\Qa b",
    r"\Qa)\E",
    "^$",
    "",
    r"\d+",
    "(?s).",
    r"\x{e9}",
    "[^a]",
    r"\bpro\b",
    "(?m)^a",
    r"\\Q",
]
ops_values = st.sampled_from(["eq", "ne", "in", "not_in", "lt", "lte", "gt", "gte", "contains"])


@settings(max_examples=400)
@given(ops_values, st.lists(st.sampled_from(DOC_VALUES), min_size=1, max_size=6))
def test_compiled_test_agrees_with_the_plain_semantics(op: str, values: list[Any]) -> None:
    condition = cond(op, *values)
    test = condition.value_test()
    for actual in ACTUALS:
        assert test(actual) is condition.holds_for_value(actual), (op, values, actual)


@settings(max_examples=300)
@given(st.lists(st.sampled_from(PATTERN_POOL), min_size=1, max_size=5))
def test_patterns_compiled_together_match_where_any_one_does(patterns: list[str]) -> None:
    condition = cond("regex", *patterns)
    test = condition.value_test()
    for actual in [*ACTUALS, "a b", "a)", "a)b", "NL", "é", "\\Q", "line\na", "x\ud800"]:
        assert test(actual) is condition.holds_for_value(actual), (patterns, actual)


@settings(max_examples=200)
@given(
    ops_values | st.just("regex"),
    st.lists(st.sampled_from(DOC_VALUES), min_size=1, max_size=MAX_PATTERNS),
)
def test_compiled_residual_agrees_with_holds(op: str, values: list[Any]) -> None:
    if op == "regex":
        values = [str(v) for v in values]
    condition = cond(op, *values)
    piece = condition.compile()
    if isinstance(piece, Residual):
        for actual in ACTUALS:
            account = Account(id="a", attributes={"x": actual})
            assert piece.check(account, 0.0) is condition.holds(account), (op, values, actual)
        assert piece.check(None, 0.0) is False
        assert piece.check(Account(id="a"), 0.0) is False


@pytest.mark.parametrize(
    ("op", "values", "actual", "expected"),
    [
        ("ne", [1], True, True),  # a boolean is never the number 1
        ("ne", [True], 1, True),
        ("ne", [True], True, False),
        ("not_in", [0, "x"], False, True),
        ("not_in", [1], 1.0, False),  # 1.0 is the number 1
        ("ne", ["NL"], ["NL"], True),  # unhashable: equal to no scalar
        ("lt", [5, 100, "m"], 99, True),  # below the largest number
        ("lt", [5, 100, "m"], "a", True),  # below the largest text
        ("lt", [5, 100], "a", False),  # no text to compare with
        ("gte", [5, 100, 2.5], 2.5, True),  # at least the smallest number
        ("gt", [True, 5], 6, True),  # the boolean is ignored, 5 is not
        ("gt", [True], 6, False),
        ("contains", ["x", 1], [2, 1.0], True),
        ("contains", [1], [True], False),
        ("contains", ["NL"], [["NL"], "DE"], False),  # a list inside is not NL
        ("regex", ["corp"], "\ud800corp", True),  # a lone surrogate: searched, not an error
    ],
)
def test_compiled_edge_cases(op: str, values: list[Any], actual: Any, expected: bool) -> None:
    condition = cond(op, *values)
    assert condition.value_test()(actual) is expected
    assert holds(condition, actual) is expected


def test_a_lone_surrogate_in_an_attribute_never_raises() -> None:
    # Issue 9: RE2 encodes text as UTF-8; a surrogate made evaluating every flag raise.
    for op in ALL_OPS:
        condition = cond(op, "corp")
        expected = op in ("ne", "not_in", "gt", "gte")  # U+D800 sorts after "corp"
        assert holds(condition, "\ud800") is expected
        assert condition.value_test()("\ud800") is expected


def test_ordering_and_negation_compile_to_constant_size_checks() -> None:
    # The compiled closure keeps one bound per type (or one set), not the value list.
    values = list(range(MAX_VALUES))
    test = cond("lt", *values).value_test()
    assert test(MAX_VALUES - 2)
    assert not test(MAX_VALUES - 1)
    cells = [c.cell_contents for c in test.__closure__ or ()]
    assert not any(isinstance(c, list | tuple) and len(c) > 1 for c in cells)


# --- regex limits --------------------------------------------------------------------------


def regex_problem(*patterns: str) -> str:
    with pytest.raises(ValidationError) as info:
        cond("regex", *patterns)
    (error,) = info.value.errors()
    assert error["loc"] == ("values",)
    return str(error["msg"])


def test_a_regex_condition_has_at_most_max_patterns() -> None:
    assert len(cond("regex", *[f"^{i}$" for i in range(MAX_PATTERNS)]).values) == MAX_PATTERNS
    message = regex_problem(*[f"^{i}$" for i in range(MAX_PATTERNS + 1)])
    assert f"at most {MAX_PATTERNS} patterns, got {MAX_PATTERNS + 1}" in message


def test_patterns_compiled_past_the_program_limit_are_rejected() -> None:
    # Each pattern alone is fine (~1,200 RE2 instructions); together they are too large.
    message = regex_problem(*[r"\pL+x" + str(i) for i in range(8)])
    assert f"the limit is {MAX_REGEX_PROGRAM:,}" in message
    assert "RE2 instructions" in message


def test_a_pattern_larger_than_re2_may_grow_is_rejected() -> None:
    # 120,000 instructions: RE2's default 8 MiB accepted it; the memory limit does not.
    message = regex_problem(r"\pL{100}")
    assert "too large" in message


def test_the_program_size_is_known_for_the_ruleset_limit() -> None:
    assert cond("regex", "^a$", "b").program_size > 0
    assert cond("eq", "^a$").program_size == 0
