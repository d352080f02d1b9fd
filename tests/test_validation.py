"""Ruleset.from_dict validation: one RulesetError listing every problem, each with its path."""

from __future__ import annotations

import copy
import math
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flagware
from flagware import Ruleset, RulesetError
from flagware.errors import MORE_PROBLEMS
from flagware.ruleset.documents import MAX_DOCUMENT_BYTES
from flagware.ruleset.limits import LIMITS, MAX_PROBLEMS
from flagware.ruleset.parse import FLAG_NAME
from flagware.strategies import BUILTIN_STRATEGIES, accounts, conditions

VALID: dict[str, Any] = {
    "schema": 1,
    "test_users": ["testuser1", "testuser2"],
    "unknown": "released",
    "flags": {
        "cool_feature": {
            "description": "New checkout flow",
            "salt": "cool-v2",
            "strategies": [
                {"type": "last_digit", "digits": [1, 2]},
                {"type": "accounts", "ids": ["acct-42", "acct-7"]},
                {"type": "percentage", "percent": 12.5},
                {"type": "attribute", "attribute": "country", "op": "in", "values": ["NL", "DE"]},
                {"type": "schedule", "after": "2026-12-01T00:00:00Z"},
                {"type": "everyone"},
                {
                    "type": "percentage",
                    "percent": 10,
                    "when": [
                        {"attribute": "country", "op": "in", "values": ["NL"]},
                        {"attribute": "email", "op": "regex", "values": ["@example\\.com$"]},
                    ],
                },
            ],
        },
        "old_search": {"enabled": False},
        "checkout_button": {
            "strategies": [{"type": "everyone"}],
            "variants": {"control": 50, "green": 50},
        },
    },
}


def problems_of(doc: Any) -> tuple[str, ...]:
    with pytest.raises(RulesetError) as info:
        Ruleset.from_dict(doc)
    return info.value.problems


def problem_at(problems: tuple[str, ...], path: str, *words: str) -> str:
    """The problem reported at ``path`` (or inside it) that mentions every one of ``words``."""
    for problem in problems:
        where = problem.split(": ", 1)[0]
        if (where == path or where.startswith((path + ".", path + "["))) and all(
            w in problem for w in words
        ):
            return problem
    raise AssertionError(f"no problem at {path!r} mentioning {words}; got {problems}")


def with_strategy(**strategy: Any) -> dict[str, Any]:
    return {"flags": {"f": {"strategies": [strategy]}}}


def with_flag(**flag: Any) -> dict[str, Any]:
    return {"flags": {"f": flag}}


def with_condition(**condition: Any) -> dict[str, Any]:
    return with_strategy(type="everyone", when=[condition])


# --- the error itself ----------------------------------------------------------------------


def test_valid_document_produces_a_ruleset() -> None:
    ruleset = Ruleset.from_dict(VALID)
    assert set(ruleset.flags) == {"cool_feature", "old_search", "checkout_button"}


def test_error_is_a_value_error_and_a_flagware_error() -> None:
    with pytest.raises(RulesetError) as info:
        Ruleset.from_dict({"flags": {"f": {"enabled": "yes"}}})
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, flagware.FlagwareError)


def test_every_problem_is_reported_at_once_with_its_path() -> None:
    doc = {
        "schema": 1,
        "unknown": "sometimes",
        "flags": {
            "cool_feature": {
                "strategies": [
                    {"type": "everyone"},
                    {"type": "percentage", "percent": 150},
                    {"type": "last_digit", "digits": [12]},
                ]
            },
            "other": {"enabled": "false", "strategies": [{"type": "nope"}]},
            "fine": {"strategies": [{"type": "everyone"}]},
        },
    }
    problems = problems_of(doc)
    assert len(problems) == 5
    assert problem_at(problems, "unknown", "sometimes")
    assert problem_at(problems, "flags.cool_feature.strategies[1].percent", "150")
    assert problem_at(problems, "flags.cool_feature.strategies[2].digits[0]", "12")
    assert problem_at(problems, "flags.other.enabled", "boolean")
    assert problem_at(problems, "flags.other.strategies[0].type", "nope")


def test_message_counts_and_lists_every_problem() -> None:
    doc = {"flags": {"a": {"bogus": 1}, "b": {"strategies": [{"type": "percentage"}]}}}
    with pytest.raises(RulesetError) as info:
        Ruleset.from_dict(doc, source="flags.yaml")
    message = str(info.value)
    assert "in flags.yaml" in message
    assert "(2 problems)" in message
    assert "flags.a.bogus: unknown key" in message
    assert "flags.b.strategies[0].percent: is required" in message
    assert info.value.source == "flags.yaml"


def test_problems_in_strategies_are_reported_even_when_the_flag_has_other_problems() -> None:
    doc = with_flag(enabled="no", strategies=[{"type": "percentage", "percent": -1}])
    problems = problems_of(doc)
    assert problem_at(problems, "flags.f.enabled")
    assert problem_at(problems, "flags.f.strategies[0].percent", "greater than or equal to 0")


# --- documents that are not mappings -------------------------------------------------------


@pytest.mark.parametrize("doc", [None, [], [{"flags": {}}], "flags: {}", 42, 1.5, True])
def test_a_document_that_is_not_a_mapping_is_rejected(doc: Any) -> None:
    (problem,) = problems_of(doc)
    assert problem.startswith("<document>: must be a mapping")
    assert type(doc).__name__ in problem


@pytest.mark.parametrize("flags", [None, [], "cool_feature", 3])
def test_flags_must_be_a_mapping(flags: Any) -> None:
    assert problem_at(problems_of({"flags": flags}), "flags", "dictionary")


@pytest.mark.parametrize("flag", [5, "on", True, [{"type": "everyone"}]])
def test_a_flag_must_be_a_mapping_or_null(flag: Any) -> None:
    assert problem_at(problems_of({"flags": {"f": flag}}), "flags.f", "must be a mapping")


@pytest.mark.parametrize("entry", [7, "everyone", None, ["everyone"]])
def test_a_strategy_entry_must_be_a_mapping(entry: Any) -> None:
    problems = problems_of(with_flag(strategies=[{"type": "everyone"}, entry]))
    assert problem_at(problems, "flags.f.strategies[1]", "dictionary")


# --- unknown keys and types ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "path"),
    [
        ({"flags": {}, "flagz": {}}, "flagz"),
        (with_flag(strategy=[]), "flags.f.strategy"),
        (with_flag(description="x", default=True), "flags.f.default"),
        (with_strategy(type="percentage", percent=5, precent=5), "flags.f.strategies[0].precent"),
        (with_strategy(type="everyone", percent=5), "flags.f.strategies[0].percent"),
        (
            with_condition(attribute="a", op="eq", values=[1], value=1),
            "flags.f.strategies[0].when[0].value",
        ),
    ],
)
def test_unknown_keys_are_rejected(doc: dict[str, Any], path: str) -> None:
    assert problem_at(problems_of(doc), path, "unknown key")


def test_unknown_strategy_type_lists_the_known_ones() -> None:
    problem = problem_at(
        problems_of(with_strategy(type="persentage")), "flags.f.strategies[0].type"
    )
    assert "unknown strategy type 'persentage'" in problem
    for name in BUILTIN_STRATEGIES:
        assert name in problem
    assert "register_strategy" in problem


@pytest.mark.parametrize("strategy", [{}, {"percent": 5}, {"type": None}, {"type": 5}])
def test_a_strategy_without_a_string_type_is_rejected(strategy: dict[str, Any]) -> None:
    problem = problem_at(
        problems_of(with_flag(strategies=[strategy])), "flags.f.strategies[0].type"
    )
    assert "is required" in problem
    assert "percentage" in problem


# --- types are strict ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "path"),
    [
        (with_flag(enabled="false"), "flags.f.enabled"),
        (with_flag(enabled="no"), "flags.f.enabled"),
        (with_flag(enabled=0), "flags.f.enabled"),
        (with_flag(description=3), "flags.f.description"),
        (with_flag(salt=5), "flags.f.salt"),
        (with_flag(strategies={"type": "everyone"}), "flags.f.strategies"),
        (with_strategy(type="percentage", percent="5"), "flags.f.strategies[0].percent"),
        (with_strategy(type="percentage", percent=True), "flags.f.strategies[0].percent"),
        (with_strategy(type="last_digit", digits=[True]), "flags.f.strategies[0].digits[0]"),
        (with_strategy(type="last_digit", digits=["1"]), "flags.f.strategies[0].digits[0]"),
        (with_strategy(type="last_digit", digits=[1.0]), "flags.f.strategies[0].digits[0]"),
        (with_strategy(type="accounts", ids=[42]), "flags.f.strategies[0].ids[0]"),
        (with_strategy(type="accounts", ids="acct-1"), "flags.f.strategies[0].ids"),
        (with_flag(variants={"a": True}), "flags.f.variants.a"),
        (with_flag(variants={"a": "100"}), "flags.f.variants.a"),
        (
            with_condition(attribute=5, op="eq", values=[1]),
            "flags.f.strategies[0].when[0].attribute",
        ),
        (with_condition(attribute="a", op="eq", values=1), "flags.f.strategies[0].when[0].values"),
        (
            with_condition(attribute="a", op="eq", values=[None]),
            "flags.f.strategies[0].when[0].values[0]",
        ),
        (
            with_condition(attribute="a", op="eq", values=[[1]]),
            "flags.f.strategies[0].when[0].values[0]",
        ),
        (with_strategy(type="everyone", when={"attribute": "a"}), "flags.f.strategies[0].when"),
        ({"test_users": [True]}, "test_users[0]"),
        ({"test_users": "testuser1"}, "test_users"),
        ({"unknown": True}, "unknown"),
    ],
)
def test_wrong_types_are_rejected_not_coerced(doc: dict[str, Any], path: str) -> None:
    problem_at(problems_of(doc), path)


def test_schema_true_is_rejected_as_a_bool_for_an_int() -> None:
    # BUG: `schema: true` is accepted because Literal[1] compares equal to True.
    assert problem_at(problems_of({"schema": True}), "schema")


@pytest.mark.parametrize(
    ("doc", "path"),
    [
        (with_strategy(type="percentage", percent=True), "flags.f.strategies[0].percent"),
        (with_flag(variants={"a": "100"}), "flags.f.variants.a"),
        (
            with_condition(attribute="a", op="eq", values=[None]),
            "flags.f.strategies[0].when[0].values[0]",
        ),
    ],
)
def test_a_wrong_value_of_a_union_type_is_one_problem_at_its_own_path(
    doc: dict[str, Any], path: str
) -> None:
    # BUG: pydantic's union member tags (.int, .float, .bool, .str) leak into the path, so
    # one wrong value becomes two to four problems at paths that do not exist.
    problems = problems_of(doc)
    assert [p.split(": ", 1)[0] for p in problems] == [path]


# --- schema, unknown, test users -----------------------------------------------------------


@pytest.mark.parametrize("schema", [2, 0, "1", None])
def test_only_schema_1_is_accepted(schema: Any) -> None:
    assert problem_at(problems_of({"schema": schema}), "schema")


def test_schema_1_and_a_missing_schema_are_accepted() -> None:
    assert Ruleset.from_dict({"schema": 1}) == Ruleset.from_dict({})


def test_unknown_policy_must_be_released_or_hidden() -> None:
    problem = problem_at(problems_of({"unknown": "shown"}), "unknown")
    assert "released" in problem
    assert "hidden" in problem


@pytest.mark.parametrize(("user", "index"), [("", 1), ("x" * 257, 1)])
def test_test_users_must_be_reasonable_ids(user: str, index: int) -> None:
    assert problem_at(problems_of({"test_users": ["ok", user]}), f"test_users[{index}]")


# --- flag names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["", "1st", "has space", "-dash", "a" * 101, "caf\u00e9", "a/b", "a:b", "\nname"]
)
def test_bad_flag_names_are_rejected(name: str) -> None:
    # The name is shown as a repr, so a hostile one cannot inject lines into logs.
    problems = problems_of({"flags": {name: None}})
    assert [p for p in problems if p.startswith(f"flags[{repr(name)[:20]}")]
    assert all("flag name must match" in p and "\n" not in p for p in problems)


@pytest.mark.parametrize("name", ["a", "_private", "cool_feature", "v2.checkout-button", "a" * 100])
def test_good_flag_names_are_accepted(name: str) -> None:
    assert name in Ruleset.from_dict({"flags": {name: None}}).flags


def test_a_flag_name_with_a_trailing_newline_is_rejected() -> None:
    # FLAG_NAME is checked with re.fullmatch: `$` alone would also match before a final "\n".
    problems = problems_of({"flags": {"cool_feature\n": None}})
    assert problems == (f"flags['cool_feature\\n']: flag name must match {FLAG_NAME}",)


def test_a_non_string_flag_name_is_rejected() -> None:
    problems = problems_of({"flags": {1: None}})
    assert any("flag name must match" in p for p in problems)


# --- percentage ----------------------------------------------------------------------------


@pytest.mark.parametrize("percent", [-0.01, -1, 100.01, 150, 12.345, 0.001, math.nan, math.inf])
def test_out_of_range_percent_is_rejected(percent: float) -> None:
    problems = problems_of(with_strategy(type="percentage", percent=percent))
    assert problem_at(problems, "flags.f.strategies[0].percent")


def test_percent_off_the_rollout_step_names_the_step() -> None:
    problems = problems_of(with_strategy(type="percentage", percent=12.345))
    assert problem_at(problems, "flags.f.strategies[0].percent", "multiple of 0.01", "12.345")


@pytest.mark.parametrize("percent", [0, 0.01, 0.29, 12.5, 33.33, 99.99, 100, 100.0])
def test_percent_on_the_rollout_step_is_accepted(percent: float) -> None:
    ruleset = Ruleset.from_dict(with_strategy(type="percentage", percent=percent))
    assert ruleset.flags["f"].strategies[0].params == {"percent": percent}


def test_percent_is_required() -> None:
    problems = problems_of(with_strategy(type="percentage"))
    assert problem_at(problems, "flags.f.strategies[0].percent", "is required")


# --- last_digit and accounts ---------------------------------------------------------------


@pytest.mark.parametrize(("digits", "path"), [([-1], "digits[0]"), ([3, 10], "digits[1]")])
def test_digits_outside_0_to_9_are_rejected(digits: list[int], path: str) -> None:
    problems = problems_of(with_strategy(type="last_digit", digits=digits))
    assert problem_at(problems, f"flags.f.strategies[0].{path}")


@pytest.mark.parametrize("digits", [[1, 1], [0, 5, 9, 5], [*range(10), 3]])
def test_repeated_digits_are_rejected(digits: list[int]) -> None:
    problems = problems_of(with_strategy(type="last_digit", digits=digits))
    assert problem_at(problems, "flags.f.strategies[0].digits")


def test_repeated_digits_message_says_so() -> None:
    problems = problems_of(with_strategy(type="last_digit", digits=[4, 4]))
    assert problem_at(problems, "flags.f.strategies[0].digits", "must not repeat")


def test_all_ten_digits_are_accepted() -> None:
    Ruleset.from_dict(with_strategy(type="last_digit", digits=list(range(10))))


@pytest.mark.parametrize(
    ("strategy", "path"),
    [
        ({"type": "last_digit", "digits": []}, "digits"),
        ({"type": "accounts", "ids": []}, "ids"),
        ({"type": "accounts", "ids": [""]}, "ids[0]"),
        ({"type": "accounts", "ids": ["a", "x" * 257]}, "ids[1]"),
    ],
)
def test_empty_or_oversized_lists_and_ids_are_rejected(strategy: dict[str, Any], path: str) -> None:
    problems = problems_of(with_flag(strategies=[strategy]))
    assert problem_at(problems, f"flags.f.strategies[0].{path}")


# --- variants ------------------------------------------------------------------------------


@pytest.mark.parametrize(("weight", "word"), [(0, "greater than 0"), (-10, "greater than 0")])
def test_variant_weights_must_be_positive(weight: int, word: str) -> None:
    problems = problems_of(with_flag(variants={"a": 100, "b": weight}))
    assert problem_at(problems, "flags.f.variants.b", word)


@pytest.mark.parametrize("variants", [{"a": 50, "b": 40}, {"a": 60, "b": 60}, {"a": 99.99}])
def test_variant_weights_must_sum_to_100(variants: dict[str, float]) -> None:
    problems = problems_of(with_flag(variants=variants))
    assert problem_at(problems, "flags.f.variants", "sum to 100")


@pytest.mark.parametrize("name", ["on", "off", "true", "false", "ON", "True", "Off"])
def test_reserved_variant_names_are_rejected(name: str) -> None:
    problems = problems_of(with_flag(variants={name: 50, "other": 50}))
    assert problem_at(problems, "flags.f.variants", "reserved", name.lower())


@pytest.mark.parametrize("name", ["", "1st", "has space", "a" * 65])
def test_bad_variant_names_are_rejected(name: str) -> None:
    problems = problems_of(with_flag(variants={name: 50, "other": 50}))
    assert problem_at(problems, "flags.f.variants")


def test_variants_must_not_be_empty() -> None:
    assert problem_at(problems_of(with_flag(variants={})), "flags.f.variants")


def test_fractional_weights_summing_to_100_are_accepted() -> None:
    ruleset = Ruleset.from_dict(with_flag(variants={"a": 33.33, "b": 33.33, "c": 33.34}))
    assert dict(ruleset.flags["f"].variants) == {"a": 33.33, "b": 33.33, "c": 33.34}


# --- attribute conditions and regexes ------------------------------------------------------


@pytest.mark.parametrize("attribute", ["", "1st", "has space", "a" * 129, "a/b"])
def test_bad_attribute_names_are_rejected(attribute: str) -> None:
    problems = problems_of(with_condition(attribute=attribute, op="eq", values=[1]))
    assert problem_at(problems, "flags.f.strategies[0].when[0].attribute")


def test_unknown_operator_lists_the_known_ones() -> None:
    problems = problems_of(with_strategy(type="attribute", attribute="a", op="like", values=["x"]))
    problem = problem_at(problems, "flags.f.strategies[0].op", "'like'")
    for op in ("eq", "ne", "in", "not_in", "lt", "lte", "gt", "gte", "contains", "regex"):
        assert f"'{op}'" in problem


def test_condition_values_must_not_be_empty() -> None:
    problems = problems_of(with_condition(attribute="a", op="in", values=[]))
    assert problem_at(problems, "flags.f.strategies[0].when[0].values")


def test_attribute_strategy_requires_its_fields() -> None:
    problems = problems_of(with_strategy(type="attribute"))
    for field in ("attribute", "op", "values"):
        assert problem_at(problems, f"flags.f.strategies[0].{field}", "is required")


@pytest.mark.parametrize(
    "pattern",
    [
        "(a)\\1",  # backreference: not RE2
        "(?=a)",  # lookahead: not RE2
        "(?<!a)b",  # lookbehind: not RE2
        "(unclosed",
        "a{1000}{1000}",
    ],
)
def test_regexes_that_re2_rejects_are_rejected(pattern: str) -> None:
    problems = problems_of(
        with_strategy(type="attribute", attribute="a", op="regex", values=[pattern])
    )
    assert problem_at(problems, "flags.f.strategies[0].values", "invalid regex", "RE2")


def test_a_bad_regex_in_a_when_condition_has_its_path() -> None:
    problems = problems_of(with_condition(attribute="email", op="regex", values=["(x)\\1"]))
    assert problem_at(problems, "flags.f.strategies[0].when[0].values", "invalid regex")


def test_regex_longer_than_256_characters_is_rejected() -> None:
    problems = problems_of(
        with_strategy(type="attribute", attribute="a", op="regex", values=["a" * 257])
    )
    assert problem_at(problems, "flags.f.strategies[0].values", "257", "256")


def test_regex_of_exactly_256_characters_is_accepted() -> None:
    Ruleset.from_dict(
        with_strategy(type="attribute", attribute="a", op="regex", values=["a" * 256])
    )


def test_regex_values_must_be_strings() -> None:
    problems = problems_of(with_strategy(type="attribute", attribute="a", op="regex", values=[5]))
    assert problem_at(problems, "flags.f.strategies[0].values", "must be strings")


def test_regex_syntax_is_only_checked_for_the_regex_operator() -> None:
    ruleset = Ruleset.from_dict(
        with_strategy(type="attribute", attribute="a", op="eq", values=["(a)\\1"])
    )
    assert ruleset.flags["f"].strategies[0].params["values"] == ["(a)\\1"]


# --- schedule ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("after", "words"),
    [
        ("2026-12-01T00:00:00", ("timezone",)),
        ("2026-12-01", ("timezone",)),
        (1764547200, ("ISO 8601", "timezone")),
        (1764547200.5, ("ISO 8601",)),
        (True, ("ISO 8601",)),
        ("next tuesday", ()),
        ("2026-13-01T00:00:00Z", ()),
    ],
)
def test_bad_timestamps_are_rejected(after: Any, words: tuple[str, ...]) -> None:
    problems = problems_of(with_strategy(type="schedule", after=after))
    assert problem_at(problems, "flags.f.strategies[0].after", *words)


@pytest.mark.parametrize(
    ("after", "before"),
    [
        ("2026-12-01T00:00:00Z", "2026-12-01T00:00:00Z"),
        ("2026-12-02T00:00:00Z", "2026-12-01T00:00:00Z"),
        # the same instant written in two offsets is still not "earlier"
        ("2026-12-01T01:00:00+01:00", "2026-12-01T00:00:00Z"),
    ],
)
def test_after_must_be_earlier_than_before(after: str, before: str) -> None:
    problems = problems_of(with_strategy(type="schedule", after=after, before=before))
    assert problem_at(problems, "flags.f.strategies[0]", "earlier")


def test_a_schedule_needs_a_bound() -> None:
    problems = problems_of(with_strategy(type="schedule"))
    assert problem_at(problems, "flags.f.strategies[0]", "after", "before")


@pytest.mark.parametrize(
    "bounds",
    [
        {"after": "2026-12-01T00:00:00Z"},
        {"before": "2026-12-01T00:00:00+05:30"},
        {"after": "2026-12-01T00:30:00+01:00", "before": "2026-12-01T00:00:00Z"},
    ],
)
def test_good_schedules_are_accepted(bounds: dict[str, str]) -> None:
    Ruleset.from_dict(with_strategy(type="schedule", **bounds))


# --- when ----------------------------------------------------------------------------------


def test_when_conditions_are_checked_for_every_strategy_type() -> None:
    doc = with_flag(
        strategies=[
            {"type": "everyone", "when": [{"attribute": "a", "op": "eq"}]},
            {
                "type": "percentage",
                "percent": 5,
                "when": [{"attribute": "a", "op": "?", "values": [1]}],
            },
        ]
    )
    problems = problems_of(doc)
    assert problem_at(problems, "flags.f.strategies[0].when[0].values", "is required")
    assert problem_at(problems, "flags.f.strategies[1].when[0].op")


def test_a_bad_when_and_bad_params_are_both_reported() -> None:
    strategy = {"type": "percentage", "percent": 500, "when": [{"attribute": "a", "op": "eq"}]}
    problems = problems_of(with_flag(strategies=[strategy]))
    assert problem_at(problems, "flags.f.strategies[0].percent")
    assert problem_at(problems, "flags.f.strategies[0].when[0].values")


# --- limits --------------------------------------------------------------------------------


def nested_list(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


def test_a_document_nested_deeper_than_the_limit_is_refused_before_anything_else() -> None:
    # Containers only count: document(1) > flags(2) > flag(3) > lists(4..17): one too many
    too_deep = nested_list(LIMITS["depth"] - 2)
    doc = {"schema": 7, "flags": {"f": {"description": too_deep}}}
    assert problems_of(doc) == (
        f"<document>: the document nests mappings and lists deeper than {LIMITS['depth']} levels",
    )


def test_a_document_nested_exactly_to_the_limit_is_validated_normally() -> None:
    # document(1) > flags(2) > flag(3) > lists(4..16) > "x"
    at_limit = nested_list(LIMITS["depth"] - 3)
    problems = problems_of({"flags": {"f": {"description": at_limit}}})
    assert problem_at(problems, "flags.f.description", "string")


def test_a_document_with_too_many_values_is_refused() -> None:
    doc = {"flags": {}, "padding": [0] * LIMITS["nodes"]}
    assert problems_of(doc) == (
        f"<document>: the document has more than {LIMITS['nodes']:,} values",
    )


def test_too_many_flags() -> None:
    doc = {"flags": dict.fromkeys(f"f{i}" for i in range(LIMITS["flags"] + 1))}
    assert problem_at(problems_of(doc), "flags", f"at most {LIMITS['flags']}")


def test_too_many_test_users() -> None:
    doc = {"test_users": [f"u{i}" for i in range(LIMITS["test_users"] + 1)]}
    assert problem_at(problems_of(doc), "test_users", f"at most {LIMITS['test_users']}")


def test_too_many_strategies() -> None:
    doc = with_flag(strategies=[{"type": "everyone"}] * (LIMITS["strategies_per_flag"] + 1))
    assert problem_at(
        problems_of(doc), "flags.f.strategies", f"at most {LIMITS['strategies_per_flag']}"
    )


def test_strategies_up_to_the_limit_are_accepted() -> None:
    doc = with_flag(strategies=[{"type": "everyone"}] * LIMITS["strategies_per_flag"])
    assert len(Ruleset.from_dict(doc).flags["f"].strategies) == LIMITS["strategies_per_flag"]


def test_too_many_conditions() -> None:
    condition = {"attribute": "a", "op": "eq", "values": [1]}
    doc = with_strategy(type="everyone", when=[condition] * (LIMITS["conditions_per_strategy"] + 1))
    problem = problem_at(problems_of(doc), "flags.f.strategies[0].when")
    assert f"at most {LIMITS['conditions_per_strategy']}" in problem


def test_too_many_variants() -> None:
    count = LIMITS["variants_per_flag"] + 1
    doc = with_flag(variants={f"v{i}": 100 / count for i in range(count)})
    assert problem_at(
        problems_of(doc), "flags.f.variants", f"at most {LIMITS['variants_per_flag']}"
    )


# --- document-wide limits: what bounds the cost of a request -------------------------------


def flags_of(strategies: list[dict[str, Any]], per_flag: int = 100) -> dict[str, Any]:
    """``strategies`` spread over as many flags as it takes, ``per_flag`` a flag, in order."""
    return {
        "flags": {
            f"f{i // per_flag:05d}": {"strategies": strategies[i : i + per_flag]}
            for i in range(0, len(strategies), per_flag)
        }
    }


def regex(*patterns: str, attribute: str = "ua") -> dict[str, Any]:
    return {"type": "attribute", "attribute": attribute, "op": "regex", "values": list(patterns)}


def only_problem(doc: Any) -> str:
    error = error_of(doc)
    (problem,) = error.problems
    assert not error.more  # a limit stops validation, and says so itself
    return problem


def test_limits_name_every_limit_once_with_the_values_validation_uses() -> None:
    assert LIMITS["document_bytes"] == MAX_DOCUMENT_BYTES
    assert LIMITS["ids_per_strategy"] == accounts.MAX_IDS
    assert LIMITS["values_per_condition"] == conditions.MAX_VALUES
    assert LIMITS["regex_length"] == conditions.MAX_REGEX_LENGTH
    assert LIMITS["regex_patterns_per_condition"] == conditions.MAX_PATTERNS
    assert LIMITS["regex_program_per_condition"] == conditions.MAX_REGEX_PROGRAM
    assert LIMITS["regex_memory_per_condition"] == conditions.REGEX_MAX_MEM
    for name in ("strategies", "conditions", "checks", "regex_patterns", "regex_program"):
        assert LIMITS[name] > 0
    assert LIMITS["contains_texts"] > 0


def test_the_issue_document_of_800000_regexes_is_refused_at_the_limit() -> None:
    # Issue 9: 15.8 MiB of regexes was accepted after 29.5 s, then cost 0.85 s a request.
    patterns = [f"^acct-{j}$" for j in range(LIMITS["regex_patterns_per_condition"])]
    doc = {"flags": {f"f{i:05d}": {"strategies": [regex(*patterns)]} for i in range(40_000)}}
    over = LIMITS["regex_patterns"] // len(patterns)  # the first condition past the limit
    problem = only_problem(doc)
    assert problem.startswith(f"flags.f{over:05d}.strategies[0].values: ")
    assert f"limit of {LIMITS['regex_patterns']:,} regex patterns" in problem


def test_regex_patterns_up_to_the_ruleset_limit_are_accepted() -> None:
    total = LIMITS["regex_patterns"]
    per = LIMITS["regex_patterns_per_condition"]
    patterns = [f"^{i}$" for i in range(total)]
    strategies = [regex(*patterns[i : i + per]) for i in range(0, total, per)]
    Ruleset.from_dict(flags_of(strategies))
    strategies.append(regex("^one-more$"))
    problem = only_problem(flags_of(strategies))
    assert problem.startswith(f"flags.f00000.strategies[{len(strategies) - 1}].values: ")
    assert f"({total + 1:,} counted up to here)" in problem


def test_regex_conditions_in_the_ruleset_are_limited() -> None:
    # A condition is one RE2 search of the text, however few its patterns.
    limit = LIMITS["regex_conditions"]
    Ruleset.from_dict(flags_of([regex(f"^{i}$") for i in range(limit)]))
    problem = only_problem(flags_of([regex(f"^{i}$") for i in range(limit + 1)]))
    assert problem.startswith(f"flags.f00000.strategies[{limit}]: ")
    assert f"limit of {limit:,} regex conditions" in problem


def test_regex_patterns_in_when_conditions_count_with_their_path() -> None:
    per = LIMITS["regex_patterns_per_condition"]
    when = [regex(*(f"^{i}-{j}$" for j in range(per)), attribute=f"a{i}") for i in range(6)]
    for condition in when:
        del condition["type"]
    problem = only_problem(with_strategy(type="everyone", when=when))
    over = LIMITS["regex_patterns"] // per
    assert problem.startswith(f"flags.f.strategies[0].when[{over}].values: ")
    assert "regex patterns" in problem


def test_compiled_regex_size_of_the_ruleset_is_limited() -> None:
    # Few patterns, each large (\\pL is every letter: ~1,200 RE2 instructions): each
    # condition is under its own limit, the ruleset goes over its total.
    per_condition = [regex(*(rf"\pL+{i}-{j}" for j in range(4))) for i in range(3)]
    for strategy in per_condition:
        Ruleset.from_dict(with_strategy(**strategy))  # each one alone is accepted
    problem = only_problem(flags_of(per_condition))
    assert problem.startswith("flags.f00000.strategies[2].values: ")
    assert f"limit of {LIMITS['regex_program']:,} RE2 instructions" in problem


def test_a_regex_condition_over_its_own_limits_names_its_values() -> None:
    over = LIMITS["regex_patterns_per_condition"] + 1
    problem = only_problem(with_strategy(**regex(*(f"^{i}$" for i in range(over)))))
    assert problem.startswith("flags.f.strategies[0].values: ")
    assert f"at most {LIMITS['regex_patterns_per_condition']} patterns, got {over}" in problem
    problem = only_problem(with_strategy(**regex(*(rf"\pL+x{i}" for i in range(8)))))
    assert problem.startswith("flags.f.strategies[0].values: ")
    assert f"the limit is {LIMITS['regex_program_per_condition']:,}" in problem


def test_checks_made_one_by_one_on_every_request_are_limited() -> None:
    ne = {"type": "attribute", "attribute": "plan", "op": "ne", "values": ["free"]}
    limit = LIMITS["checks"]
    Ruleset.from_dict(flags_of([ne] * limit))
    problem = only_problem(flags_of([ne] * (limit + 1)))
    assert problem.startswith(f"flags.f{limit // 100:05d}.strategies[0]: ")
    assert f"limit of {limit:,} per-request checks" in problem


@pytest.mark.parametrize(
    "strategy",
    [
        {"type": "schedule", "after": "2026-12-01T00:00:00Z"},
        {"type": "everyone", "when": [{"attribute": "age", "op": "gte", "values": [18]}]},
    ],
)
def test_schedules_and_non_indexed_conditions_are_checks(strategy: dict[str, Any]) -> None:
    problem = only_problem(flags_of([strategy] * (LIMITS["checks"] + 1)))
    assert "per-request checks" in problem


def test_conditions_in_the_ruleset_are_limited() -> None:
    # eq/in conditions are indexed, but each distinct set of attributes is one more lookup.
    when = [{"attribute": f"a{i}", "op": "eq", "values": ["x"]} for i in range(20)]
    count = LIMITS["conditions"] // 20 + 1
    problem = only_problem(flags_of([{"type": "everyone", "when": when}] * count))
    assert f"limit of {LIMITS['conditions']:,} conditions" in problem
    assert problem.split(": ", 1)[0].endswith(".when[0]")


def test_strategies_in_the_ruleset_are_limited() -> None:
    count = LIMITS["strategies"] + 1
    problem = only_problem(flags_of([{"type": "everyone"}] * count))
    assert problem.startswith(f"flags.f{count // 100:05d}.strategies[0]: ")
    assert f"limit of {LIMITS['strategies']:,} strategies" in problem


def test_text_values_of_contains_conditions_are_limited() -> None:
    limit = LIMITS["contains_texts"]
    contains = {"type": "attribute", "attribute": "ua", "op": "contains"}
    doc = flags_of(
        [{**contains, "values": [f"bot{i}" for i in range(limit)]}, {**contains, "values": ["x"]}]
    )
    problem = only_problem(doc)
    assert problem.startswith("flags.f00000.strategies[1].values: ")
    assert f"limit of {limit:,} text values of contains conditions" in problem


def test_a_limit_exceeded_stops_validation_but_keeps_earlier_problems() -> None:
    doc = flags_of([{"type": "everyone"}] * (LIMITS["strategies"] + 1))
    doc["flags"]["a_bad"] = {"enabled": "yes"}  # validated first
    doc["flags"]["zz_bad"] = {"enabled": "yes"}  # after the limit: not reached
    doc["flags"] = dict(sorted(doc["flags"].items()))
    error = error_of(doc)
    assert [p.split(": ", 1)[0] for p in error.problems] == [
        "flags.a_bad.enabled",
        f"flags.f{LIMITS['strategies'] // 100:05d}.strategies[0]",
    ]


# --- many problems: bounded, and still with paths ----------------------------------------


def error_of(doc: Any) -> RulesetError:
    with pytest.raises(RulesetError) as info:
        Ruleset.from_dict(doc)
    return info.value


def test_thirty_two_thousand_bad_ids_report_the_cap_and_say_there_are_more() -> None:
    # Issue 9: this document took 150 s to validate (every path compared with every other).
    doc = {"flags": {"beta": {"strategies": [{"type": "accounts", "ids": list(range(32_000))}]}}}
    error = error_of(doc)
    assert len(error.problems) == MAX_PROBLEMS
    assert (
        error.problems[5]
        == "flags.beta.strategies[0].ids[5]: Input should be a valid string, got 5"
    )
    assert [p.split(": ", 1)[0] for p in error.problems] == [
        f"flags.beta.strategies[0].ids[{i}]" for i in range(MAX_PROBLEMS)
    ]
    assert error.more
    message = str(error).splitlines()
    assert message[0] == f"invalid ruleset ({MAX_PROBLEMS} problems, and more):"
    assert message[-1] == f"  {MORE_PROBLEMS}"
    assert len(message) == MAX_PROBLEMS + 2


def test_a_huge_document_of_bad_ids_in_many_strategies_completes() -> None:
    strategies = [{"type": "accounts", "ids": list(range(19_000))}] * LIMITS["strategies_per_flag"]
    error = error_of({"flags": {"beta": {"strategies": strategies}}})
    assert len(error.problems) == MAX_PROBLEMS
    assert error.more


class _Recorded(flagware.Strategy):
    """A custom strategy that records every ruleset entry validation builds."""

    built: ClassVar[list[int]] = []

    def __init__(self, n: int) -> None:
        self.built.append(n)

    def matches(self, account: flagware.Account) -> bool:
        return False


def test_validation_stops_at_the_cap_instead_of_checking_the_rest() -> None:
    flagware.register_strategy("validation_test_recorded")(_Recorded)
    try:
        _Recorded.built.clear()
        flags: dict[str, Any] = {f"bad{i:04d}": {"enabled": "yes"} for i in range(MAX_PROBLEMS)}
        flags.update(
            {
                f"late{i}": {"strategies": [{"type": "validation_test_recorded", "n": i}]}
                for i in range(50)
            }
        )
        error = error_of({"flags": flags})
    finally:
        flagware.unregister_strategy("validation_test_recorded")
    assert [p.split(": ", 1)[0] for p in error.problems] == [
        f"flags.bad{i:04d}.enabled" for i in range(MAX_PROBLEMS)
    ]
    assert error.more
    assert _Recorded.built == []  # the flags after the cap were not validated


def test_problems_up_to_the_cap_are_all_reported_without_the_more_line() -> None:
    error = error_of({"flags": {f"bad{i:04d}": {"enabled": "yes"} for i in range(MAX_PROBLEMS)}})
    assert len(error.problems) == MAX_PROBLEMS
    assert not error.more
    assert str(error).splitlines()[0] == f"invalid ruleset ({MAX_PROBLEMS} problems):"
    assert MORE_PROBLEMS not in str(error)


def test_one_problem_past_the_cap_is_announced() -> None:
    flags = {f"bad{i:04d}": {"enabled": "yes"} for i in range(MAX_PROBLEMS + 1)}
    error = error_of({"flags": flags})
    assert len(error.problems) == MAX_PROBLEMS
    assert error.more
    assert "flags.bad0100.enabled" not in str(error)


def test_a_container_problem_is_dropped_when_an_item_has_its_own_among_many() -> None:
    # The de-duplication is by path, now without comparing every path with every other.
    doc = with_strategy(type="last_digit", digits=[1, 12, 3, 14])
    problems = problems_of(doc)
    assert [p.split(": ", 1)[0] for p in problems] == [
        "flags.f.strategies[0].digits[1]",
        "flags.f.strategies[0].digits[3]",
    ]


# --- property tests ------------------------------------------------------------------------

KEYS = [
    "schema",
    "test_users",
    "unknown",
    "flags",
    "description",
    "enabled",
    "salt",
    "strategies",
    "variants",
    "type",
    "percent",
    "digits",
    "ids",
    "attribute",
    "op",
    "values",
    "after",
    "before",
    "when",
]
INTERESTING = st.sampled_from(
    [
        0,
        1,
        -1,
        9,
        10,
        100,
        100.01,
        12.345,
        True,
        False,
        "",
        "on",
        "NO",
        "released",
        "hidden",
        "everyone",
        "percentage",
        "schedule",
        "regex",
        "in",
        "(a)\\1",
        "2026-12-01T00:00:00Z",
        "2026-12-01T00:00:00",
        "x" * 300,
    ]
)
SCALARS = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | INTERESTING
)
JSON_LIKE = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=25,
)


def _containers(value: Any, found: list[Any]) -> list[Any]:
    if isinstance(value, dict):
        found.append(value)
        for child in value.values():
            _containers(child, found)
    elif isinstance(value, list):
        found.append(value)
        for child in value:
            _containers(child, found)
    return found


@st.composite
def near_valid_documents(draw: st.DrawFn) -> dict[str, Any]:
    """VALID with one to four small edits: a value replaced, a key or item removed or added."""
    doc = copy.deepcopy(VALID)
    for _ in range(draw(st.integers(1, 4))):
        target = draw(st.sampled_from(_containers(doc, [])))
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if isinstance(target, dict):
            if action == "add" or not target:
                key = draw(st.sampled_from(KEYS) | st.text(max_size=8) | st.integers())
                target[key] = draw(JSON_LIKE)
            else:
                key = draw(st.sampled_from(list(target)))
                if action == "delete":
                    del target[key]
                else:
                    target[key] = draw(JSON_LIKE)
        elif action == "add" or not target:
            target.append(draw(JSON_LIKE))
        else:
            index = draw(st.integers(0, len(target) - 1))
            if action == "delete":
                del target[index]
            else:
                target[index] = draw(JSON_LIKE)
    return doc


def check_validates_or_explains(doc: Any) -> None:
    problems: tuple[str, ...] = ()
    try:
        ruleset = Ruleset.from_dict(doc)
    except RulesetError as exc:
        problems = exc.problems
    if problems:
        assert all(isinstance(p, str) and ": " in p for p in problems)
    else:
        assert isinstance(ruleset, Ruleset)
        assert Ruleset.from_dict(ruleset.to_dict()) == ruleset


FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(JSON_LIKE)
def test_arbitrary_values_only_ever_raise_ruleset_error(doc: Any) -> None:
    check_validates_or_explains(doc)


@FAST
@given(st.dictionaries(st.sampled_from(KEYS), JSON_LIKE, max_size=4))
def test_arbitrary_mappings_only_ever_raise_ruleset_error(doc: dict[str, Any]) -> None:
    check_validates_or_explains(doc)


@FAST
@given(near_valid_documents())
def test_near_valid_documents_only_ever_raise_ruleset_error(doc: dict[str, Any]) -> None:
    check_validates_or_explains(doc)
