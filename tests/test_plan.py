"""The indexed plan (Engine.evaluate_all) must agree with the reference semantics.

flagware.engine._reference.decide is the plain, one-flag-at-a-time meaning of a ruleset; the plan
compiles the same ruleset into indexes. Random rulesets over a small universe of accounts
and attribute values make the index paths (direct tables, groups, hash checks, residuals,
anonymous rules, test users, kill switches) collide as often as possible.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flagware
from flagware import Account, Engine, Ruleset
from flagware.engine import _reference as reference
from flagware.engine.flagset import FIRST_READS

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
T = NOW.timestamp()

IDS = [f"a{i}" for i in range(10)]
TEST_USERS = ["t0", "t1"]
FLAG_NAMES = [f"f{i}" for i in range(6)]
ATTRIBUTES = ["country", "plan", "age", "tags", "beta"]
OPS = ["eq", "ne", "in", "not_in", "lt", "lte", "gt", "gte", "contains", "regex"]
# Values each attribute's conditions compare with: few, so rules and accounts collide often.
# Several types per attribute: the compiled ne/not_in (one set lookup), ordering (one bound
# per type) and contains (a lookup per item) must keep booleans apart from 0 and 1.
SCALARS: dict[str, list[Any]] = {
    "country": ["NL", "DE", "US", 1, True],
    "plan": ["free", "pro", "x"],
    "age": [0, 1, 17, 18, 30.5, True, "18", 17.0],
    "tags": ["NL", "pro", "x", 1, True],
    "beta": [True, False, 1, 0, "x", 0.0],
}
# Patterns of one condition are searched as one RE2 program: quoting, flags and anchors
# must stay inside their own alternative.
PATTERNS = ["^N", "L$", "pro", "^(D|U)", ".", "e", "(?i)^nl$", r"\Qo N", r"\Qx)\E", "^$"]
PERCENTS = [0, 0.01, 1, 10, 12.5, 33.33, 50, 99.99, 100]
OFFSETS = [-7200, -1, 0, 1, 7200]
VARIANTS = [{"control": 50, "green": 50}, {"a": 10, "b": 20.5, "c": 69.5}]


# --- custom strategies, so rulesets can use them ---------------------------------------------


class EvenNumber(flagware.Strategy):
    def __init__(self, odd: bool = False) -> None:
        self.odd = odd

    def matches(self, account: Account) -> bool:
        if account.number is None:
            return False
        return account.number % 2 == int(self.odd)


class RaisesForPro(flagware.Strategy):
    def __init__(self) -> None:
        pass

    def matches(self, account: Account) -> bool:
        if account.attributes.get("plan") == "pro":
            raise RuntimeError("pro accounts break this strategy")
        return account.id.endswith(("1", "3"))


@pytest.fixture(autouse=True, scope="module")
def _custom_strategies() -> Iterator[None]:
    """Registered only while this module runs, so other modules see the built-ins alone."""
    flagware.register_strategy("plan_test_even")(EvenNumber)
    flagware.register_strategy("plan_test_raises")(RaisesForPro)
    yield
    flagware.unregister_strategy("plan_test_even")
    flagware.unregister_strategy("plan_test_raises")


# --- ruleset documents -----------------------------------------------------------------------


def iso_at(offset: int) -> str:
    return (NOW + timedelta(seconds=offset)).isoformat().replace("+00:00", "Z")


# Indexed operators and the country attribute are favoured: they exercise the indexes.
_ops = st.sampled_from(["eq", "in"] * 3 + OPS)
_attributes = st.sampled_from(["country", "country", "beta", *ATTRIBUTES])
_patterns = st.lists(st.sampled_from(PATTERNS), min_size=1, max_size=4)
_values = {
    name: st.lists(st.sampled_from(pool), min_size=1, max_size=5) for name, pool in SCALARS.items()
}


@st.composite
def _conditions(draw: st.DrawFn) -> dict[str, Any]:
    op = draw(_ops)
    attribute = draw(_attributes)
    values = draw(_patterns if op == "regex" else _values[attribute])
    return {"attribute": attribute, "op": op, "values": values}


conditions = _conditions()


_offset_pairs = st.lists(st.sampled_from(OFFSETS), min_size=2, max_size=2)
_shapes = st.sampled_from(["after", "before", "both"])


@st.composite
def _schedules(draw: st.DrawFn) -> dict[str, Any]:
    after, before = sorted(draw(_offset_pairs))
    shape = draw(_shapes)
    if shape == "both" and after == before:
        shape = "after"
    doc: dict[str, Any] = {"type": "schedule"}
    if shape in ("after", "both"):
        doc["after"] = iso_at(after)
    if shape in ("before", "both"):
        doc["before"] = iso_at(before)
    return doc


strategy_bodies = st.one_of(
    st.just({"type": "everyone"}),
    st.builds(
        lambda ids: {"type": "accounts", "ids": ids},
        st.lists(st.sampled_from(IDS + TEST_USERS), min_size=1, max_size=4),
    ),
    st.builds(
        lambda digits: {"type": "last_digit", "digits": digits},
        st.lists(st.integers(0, 9), min_size=1, max_size=4, unique=True),
    ),
    st.builds(
        lambda percent: {"type": "percentage", "percent": percent},
        st.sampled_from(PERCENTS) | st.integers(0, 10_000).map(lambda p: p / 100),
    ),
    conditions.map(lambda c: {"type": "attribute", **c}),
    _schedules(),
    st.builds(lambda odd: {"type": "plan_test_even", "odd": odd}, st.booleans()),
    st.just({"type": "plan_test_raises"}),
)


_when_lists = st.lists(conditions, max_size=3)


@st.composite
def _strategy_docs(draw: st.DrawFn) -> dict[str, Any]:
    doc = dict(draw(strategy_bodies))
    when = draw(_when_lists)
    if when:
        doc["when"] = when
    return doc


_strategy_lists = st.lists(_strategy_docs(), max_size=4)
_one_in_six = st.integers(0, 5).map(lambda n: n == 0)
_one_in_four = st.integers(0, 3).map(lambda n: n == 0)
_variant_docs = st.sampled_from(VARIANTS)
_salts = st.sampled_from([*FLAG_NAMES, "shared"])


@st.composite
def _flag_docs(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {"strategies": draw(_strategy_lists)}
    if draw(_one_in_six):
        doc["enabled"] = False
    if draw(st.booleans()):
        doc["variants"] = draw(_variant_docs)
    if draw(_one_in_four):
        doc["salt"] = draw(_salts)
    return doc


flag_docs = _flag_docs()
_name_lists = st.lists(st.sampled_from(FLAG_NAMES), min_size=1, max_size=6, unique=True)
_test_user_lists = st.lists(st.sampled_from([*TEST_USERS, "a0"]), unique=True)
_unknown = st.sampled_from(["released", "hidden"])


SEGMENT_NAMES = ["s0", "s1", "s2"]
_segment_count = st.integers(0, 3)


def _no_regex(entry: dict[str, Any]) -> bool:
    """Whether an entry (a strategy, or a condition) tests no regex: each use of a segment
    counts its patterns again, and a few uses go over the ruleset's budget of 50."""
    return all(c.get("op") != "regex" for c in [entry, *entry.get("when", [])])


_plain_strategies = st.lists(_strategy_docs().filter(_no_regex), min_size=1, max_size=3)
_plain_when_lists = st.lists(conditions.filter(_no_regex), max_size=3)


@st.composite
def _segment_docs(draw: st.DrawFn, earlier: list[str]) -> dict[str, Any]:
    """A segment: strategies, and now and then a reference to an earlier segment."""
    strategies = draw(_plain_strategies)
    if earlier and draw(st.booleans()):
        reference: dict[str, Any] = {"type": "segment", "name": draw(st.sampled_from(earlier))}
        when = draw(_plain_when_lists)
        if when:
            reference["when"] = when
        strategies.insert(draw(st.integers(0, len(strategies))), reference)
    return {"strategies": strategies}


@st.composite
def _segment_maps(draw: st.DrawFn) -> dict[str, Any]:
    names = SEGMENT_NAMES[: draw(_segment_count)]
    return {name: draw(_segment_docs(names[:i])) for i, name in enumerate(names)}


def _with_segments_and_prerequisites(
    draw: st.DrawFn, flags: dict[str, Any], segments: dict[str, Any]
) -> None:
    """Segment references in some flags' strategies, and prerequisites on earlier flags
    (a variant of one, where it has variants)."""
    names = list(flags)
    for i, name in enumerate(names):
        doc = flags[name]
        if segments and draw(_one_in_four):
            reference: dict[str, Any] = {
                "type": "segment",
                "name": draw(st.sampled_from(list(segments))),
            }
            when = draw(_plain_when_lists)
            if when:
                reference["when"] = when
            doc["strategies"] = [*doc["strategies"], reference]
        if i and draw(_one_in_four):
            required = draw(
                st.lists(st.sampled_from(names[:i]), min_size=1, max_size=2, unique=True)
            )
            prerequisites = []
            for other in required:
                entry: dict[str, Any] = {"flag": other}
                variants = flags[other].get("variants")
                if variants and draw(st.booleans()):
                    entry["variant"] = draw(st.sampled_from(sorted(variants)))
                prerequisites.append(entry)
            doc["prerequisites"] = prerequisites


@st.composite
def ruleset_docs(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(_name_lists)
    flags = {name: draw(flag_docs) for name in names}
    segments = draw(_segment_maps())
    _with_segments_and_prerequisites(draw, flags, segments)
    doc = {
        "schema": 1,
        "test_users": draw(_test_user_lists),
        "unknown": draw(_unknown),
        "flags": flags,
    }
    if segments:
        doc["segments"] = segments
    return doc


# --- accounts --------------------------------------------------------------------------------

attribute_values: dict[str, st.SearchStrategy[Any]] = {
    "country": st.sampled_from(["NL", "DE", "US", None, "nl", 1, "\ud800NL", ["NL"]]),
    "plan": st.sampled_from(["free", "pro", None, True, "pro NL", "x)"]),
    "age": st.sampled_from([0, 1, 17, 18, 30.5, 17.0, True, False, "18", "2", None, 10**20]),
    "tags": st.lists(st.sampled_from(["NL", "pro", "x", 1, True, 1.0, ["x"]]), max_size=3)
    | st.sampled_from(["pro NL", "", ("x", "NL"), frozenset({"pro", 0})]),
    "beta": st.sampled_from([True, False, 1, 0, 1.0, 0.0, "True", "x"]),
}


_account_ids = st.sampled_from(IDS + TEST_USERS)
_numbers = st.none() | st.integers(-30, 30)


@st.composite
def _accounts(draw: st.DrawFn) -> Account:
    attributes = {}
    for name, values in attribute_values.items():
        if draw(st.booleans()):
            attributes[name] = draw(values)
    return Account(id=draw(_account_ids), number=draw(_numbers), attributes=attributes)


accounts = _accounts()


# --- the property ----------------------------------------------------------------------------


def assert_plan_agrees(ruleset: Ruleset, account: Account | None, now: float = T) -> None:
    engine = Engine(ruleset, clock=lambda: now)
    fs = engine.evaluate_all(account)
    explicit = engine.evaluate_all(account, now=now)
    for name in [*ruleset.flags, "not_in_ruleset"]:
        expected, why = reference.decide(ruleset, name, account, now)
        assert fs.is_enabled(name) == expected, (name, account, why)
        assert explicit.is_enabled(name) == expected, (name, account, why)
        assert fs.reason(name) == why
        flag = ruleset.flags.get(name)
        want_variant = reference.variant_for(flag, account) if expected and flag else None
        assert fs.variant(name) == want_variant
    expected_values = {
        name: reference.decide(ruleset, name, account, now)[0] for name in ruleset.flags
    }
    assert fs.as_dict() == expected_values
    # One flag at a time: is_released_to, and a lazy FlagSet's first reads (each flag's own
    # checker), then the plan for the rest, keeping the answers already given.
    lazy = engine.evaluate_all(account, now=now, lazy=True)
    past_first_reads = engine.evaluate_all(account, now=now, lazy=True)
    one_read = engine.evaluate_all(account, now=now, lazy=True)
    undefined = [f"undefined_{i}" for i in range(FIRST_READS - 2)]
    for name in undefined:  # the next defined flags: two by their checkers, then the plan
        assert past_first_reads.is_enabled(name) == (ruleset.unknown == "released")
    for name in [*reversed(ruleset.flags), "not_in_ruleset"]:
        expected = reference.decide(ruleset, name, account, now)[0]
        assert engine.is_released_to(name, account, now=now) == expected, (name, account)
        assert lazy.is_enabled(name) == expected, (name, account)
        assert past_first_reads.is_enabled(name) == expected, (name, account)
    if ruleset.flags:
        first = next(iter(ruleset.flags))
        assert one_read[first] == expected_values[first]
    assert one_read.as_dict() == expected_values
    assert lazy.as_dict() == expected_values
    assert lazy.enabled_flags() == fs.enabled_flags()
    assert lazy.variants() == fs.variants()
    assert past_first_reads.as_dict() == expected_values


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(ruleset_docs(), st.lists(accounts, min_size=1, max_size=6))
def test_plan_agrees_with_reference(doc: dict[str, Any], sample: list[Account]) -> None:
    ruleset = Ruleset.from_dict(doc)
    everyone = [*sample, None, *(Account(id=t, number=7) for t in TEST_USERS)]
    for account in everyone:
        assert_plan_agrees(ruleset, account)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ruleset_docs(), accounts, st.sampled_from([*OFFSETS, -3600, 3600]))
def test_plan_agrees_with_reference_at_other_times(
    doc: dict[str, Any], account: Account, offset: int
) -> None:
    ruleset = Ruleset.from_dict(doc)
    assert_plan_agrees(ruleset, account, T + offset)
    assert_plan_agrees(ruleset, None, T + offset)


# Rulesets made only of indexed pieces (ids, digits, eq/in), so many rules of many flags
# share the same dimensions and the lookup tables must keep them apart.
_few_ids = st.sampled_from(IDS[:4])
_indexed_conditions = st.builds(
    lambda attribute, op, values: {"attribute": attribute, "op": op, "values": values},
    st.sampled_from(["country", "plan"]),
    st.sampled_from(["eq", "in"]),
    st.lists(st.sampled_from(["NL", "DE", "pro", "free"]), min_size=1, max_size=2),
)
_indexed_bodies = st.one_of(
    st.builds(
        lambda ids: {"type": "accounts", "ids": ids}, st.lists(_few_ids, min_size=1, max_size=2)
    ),
    st.builds(
        lambda digits: {"type": "last_digit", "digits": digits},
        st.lists(st.integers(0, 3), min_size=1, max_size=2, unique=True),
    ),
    _indexed_conditions.map(lambda c: {"type": "attribute", **c}),
    st.sampled_from([{"type": "percentage", "percent": 50}, {"type": "everyone"}]),
)
_indexed_strategies = st.builds(
    lambda body, when: {**body, "when": when} if when else body,
    _indexed_bodies,
    st.lists(_indexed_conditions, max_size=2),
)
indexed_ruleset_docs = st.builds(
    lambda flags: {"flags": flags},
    st.dictionaries(
        st.sampled_from(FLAG_NAMES[:4]),
        st.builds(
            lambda strategies: {"strategies": strategies},
            st.lists(_indexed_strategies, min_size=1, max_size=4),
        ),
        min_size=1,
    ),
)
indexed_accounts = st.builds(
    lambda id_, number, country, plan: Account(
        id=id_, number=number, attributes={"country": country, "plan": plan}
    ),
    _few_ids,
    st.none() | st.integers(0, 3),
    st.sampled_from(["NL", "DE", None]),
    st.sampled_from(["pro", "free", None]),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(indexed_ruleset_docs, st.lists(indexed_accounts, min_size=1, max_size=8))
def test_plan_agrees_with_reference_on_indexed_rules(
    doc: dict[str, Any], sample: list[Account]
) -> None:
    ruleset = Ruleset.from_dict(doc)
    for account in sample:
        assert_plan_agrees(ruleset, account)


# --- hand-written index paths ----------------------------------------------------------------


def ruleset_of(*strategies: dict[str, Any], **top: Any) -> Ruleset:
    return Ruleset.from_dict({"flags": {"f": {"strategies": list(strategies)}}, **top})


def released(ruleset: Ruleset, account: Account | None) -> bool:
    assert_plan_agrees(ruleset, account)
    return Engine(ruleset, clock=lambda: T).evaluate_all(account)["f"]


def country(value: Any, **more: Any) -> Account:
    return Account(id="a1", number=1, attributes={"country": value, **more})


def test_same_dimension_twice_intersects() -> None:
    ruleset = ruleset_of(
        {
            "type": "attribute",
            "attribute": "country",
            "op": "in",
            "values": ["NL", "DE"],
            "when": [{"attribute": "country", "op": "eq", "values": ["NL"]}],
        }
    )
    assert released(ruleset, country("NL"))
    assert not released(ruleset, country("DE"))
    assert not released(ruleset, country("US"))


def test_same_dimension_twice_with_a_hash() -> None:
    ruleset = ruleset_of(
        {
            "type": "percentage",
            "percent": 100,
            "when": [
                {"attribute": "country", "op": "in", "values": ["NL", "DE"]},
                {"attribute": "country", "op": "in", "values": ["DE", "US"]},
            ],
        }
    )
    assert released(ruleset, country("DE"))
    assert not released(ruleset, country("NL"))
    assert not released(ruleset, country("US"))


def test_ids_and_attributes_together() -> None:
    ruleset = ruleset_of(
        {
            "type": "accounts",
            "ids": ["a1", "a2"],
            "when": [{"attribute": "country", "op": "eq", "values": ["NL"]}],
        },
        {
            "type": "last_digit",
            "digits": [5],
            "when": [{"attribute": "plan", "op": "eq", "values": ["pro"]}],
        },
    )
    assert released(ruleset, country("NL"))
    assert not released(ruleset, Account(id="a3", attributes={"country": "NL"}))
    assert not released(ruleset, country("DE"))
    assert released(ruleset, Account(id="zz", number=15, attributes={"plan": "pro"}))
    assert not released(ruleset, Account(id="zz", number=15, attributes={"plan": "free"}))


def test_bool_and_int_equality() -> None:
    # Python's True == 1 and 1 == 1.0; the index must answer exactly as == does.
    ints = ruleset_of({"type": "attribute", "attribute": "beta", "op": "eq", "values": [1]})
    bools = ruleset_of({"type": "attribute", "attribute": "beta", "op": "in", "values": [True]})
    for ruleset in (ints, bools):
        for value in (True, 1, 1.0, False, 0, "1", "True"):
            released(ruleset, Account(id="a1", attributes={"beta": value}))
    assert released(ints, Account(id="a1", attributes={"beta": 1.0}))
    assert not released(ints, Account(id="a1", attributes={"beta": "1"}))


def test_bool_and_int_in_intersection() -> None:
    ruleset = ruleset_of(
        {
            "type": "attribute",
            "attribute": "beta",
            "op": "in",
            "values": [1, "x"],
            "when": [{"attribute": "beta", "op": "eq", "values": [True]}],
        }
    )
    for value in (True, 1, 1.0, False, "x"):
        released(ruleset, Account(id="a1", attributes={"beta": value}))


def test_unhashable_attribute_values() -> None:
    eq = ruleset_of({"type": "attribute", "attribute": "country", "op": "eq", "values": ["NL"]})
    in_ = ruleset_of(
        {
            "type": "everyone",
            "when": [
                {"attribute": "country", "op": "in", "values": ["NL", "DE"]},
                {"attribute": "plan", "op": "eq", "values": ["pro"]},
            ],
        }
    )
    ne = ruleset_of({"type": "attribute", "attribute": "country", "op": "ne", "values": ["NL"]})
    contains = ruleset_of(
        {"type": "attribute", "attribute": "country", "op": "contains", "values": ["NL"]}
    )
    for value in (["NL"], {"NL": 1}, {"NL"}, ("NL", ["DE"])):
        account = country(value, plan="pro")
        assert not released(eq, account)
        assert not released(in_, account)
        assert released(ne, account)
    assert released(contains, country(["NL"], plan="pro"))
    assert not released(contains, country({"DE"}, plan="pro"))


def test_rules_that_can_never_match() -> None:
    ruleset = Ruleset.from_dict(
        {
            "test_users": ["t0"],
            "flags": {
                "f": {
                    "strategies": [
                        {
                            "type": "attribute",
                            "attribute": "country",
                            "op": "eq",
                            "values": ["NL"],
                            "when": [{"attribute": "country", "op": "eq", "values": ["DE"]}],
                        },
                        {"type": "percentage", "percent": 0},
                        {
                            "type": "percentage",
                            "percent": 0,
                            "when": [{"attribute": "country", "op": "eq", "values": ["NL"]}],
                        },
                    ]
                }
            },
        }
    )
    for value in ("NL", "DE", None):
        assert not released(ruleset, country(value))
    assert not released(ruleset, None)
    assert released(ruleset, Account(id="t0"))  # test users still see it


def test_missing_and_none_attributes_never_match() -> None:
    ruleset = ruleset_of(
        {"type": "attribute", "attribute": "country", "op": "ne", "values": ["NL"]},
        {"type": "attribute", "attribute": "country", "op": "not_in", "values": ["NL"]},
    )
    assert not released(ruleset, country(None))
    assert not released(ruleset, Account(id="a1"))
    assert released(ruleset, country("DE"))


def test_schedule_with_conditions_is_not_anonymous() -> None:
    ruleset = ruleset_of(
        {
            "type": "schedule",
            "after": iso_at(-10),
            "when": [{"attribute": "country", "op": "eq", "values": ["NL"]}],
        }
    )
    assert not released(ruleset, None)
    assert released(ruleset, country("NL"))
    assert not released(ruleset, country("DE"))


def test_percentage_with_a_residual_condition() -> None:
    ruleset = ruleset_of(
        {
            "type": "percentage",
            "percent": 50,
            "when": [{"attribute": "age", "op": "gte", "values": [18]}],
        }
    )
    for i in range(200):
        released(ruleset, Account(id=f"u{i}", attributes={"age": 18 + i % 2 * -1}))


def test_custom_strategy_that_raises_matches_nobody_in_the_plan() -> None:
    ruleset = ruleset_of({"type": "plan_test_raises"}, {"type": "plan_test_even", "odd": True})
    assert not released(ruleset, Account(id="a0", number=2, attributes={"plan": "pro"}))
    assert released(ruleset, Account(id="a0", number=3, attributes={"plan": "pro"}))
    assert released(ruleset, Account(id="a1", number=2))
    assert not released(ruleset, None)


def test_two_rules_of_one_flag_on_the_same_dimensions_do_not_mix() -> None:
    ruleset = ruleset_of(
        {
            "type": "accounts",
            "ids": ["a1"],
            "when": [{"attribute": "country", "op": "eq", "values": ["NL"]}],
        },
        {
            "type": "accounts",
            "ids": ["a2"],
            "when": [{"attribute": "country", "op": "eq", "values": ["DE"]}],
        },
    )
    assert released(ruleset, Account(id="a1", attributes={"country": "NL"}))
    assert released(ruleset, Account(id="a2", attributes={"country": "DE"}))
    assert not released(ruleset, Account(id="a1", attributes={"country": "DE"}))
    assert not released(ruleset, Account(id="a2", attributes={"country": "NL"}))


def test_rules_of_two_flags_on_the_same_dimensions_do_not_mix() -> None:
    ruleset = Ruleset.from_dict(
        {
            "flags": {
                name: {
                    "strategies": [
                        {
                            "type": "last_digit",
                            "digits": [digit],
                            "when": [{"attribute": "plan", "op": "eq", "values": [plan]}],
                        }
                    ]
                }
                for name, digit, plan in (("f", 1, "pro"), ("g", 2, "free"))
            }
        }
    )
    for number in (1, 2):
        for plan in ("pro", "free"):
            assert_plan_agrees(ruleset, Account(id="a", number=number, attributes={"plan": plan}))
    fs = Engine(ruleset).evaluate_all(Account(id="a", number=1, attributes={"plan": "free"}))
    assert fs.enabled_flags() == frozenset()


def test_negated_conditions_keep_booleans_apart_from_numbers() -> None:
    ne = ruleset_of({"type": "attribute", "attribute": "beta", "op": "ne", "values": [1]})
    not_in = ruleset_of(
        {"type": "attribute", "attribute": "beta", "op": "not_in", "values": [True, "x"]}
    )
    assert released(ne, Account(id="a1", attributes={"beta": True}))
    assert not released(ne, Account(id="a1", attributes={"beta": 1.0}))
    assert released(not_in, Account(id="a1", attributes={"beta": 1}))
    assert not released(not_in, Account(id="a1", attributes={"beta": True}))


def test_ordering_against_several_values_of_several_types() -> None:
    ruleset = ruleset_of(
        {"type": "attribute", "attribute": "age", "op": "lt", "values": [18, 65.5, "m", True]}
    )
    for value, expected in ((64, True), (65.5, False), (70, False), ("a", True), ("z", False)):
        assert released(ruleset, Account(id="a1", attributes={"age": value})) is expected
    assert not released(ruleset, Account(id="a1", attributes={"age": False}))


def test_contains_looks_up_items_and_searches_text() -> None:
    ruleset = ruleset_of(
        {"type": "attribute", "attribute": "tags", "op": "contains", "values": ["beta", 1]}
    )
    for value, expected in (
        (["alpha", "beta"], True),
        ([True], False),
        ([1.0], True),
        ("my-beta-tag", True),
        ("1", False),
        ([["beta"]], False),
    ):
        assert released(ruleset, Account(id="a1", attributes={"tags": value})) is expected


def test_patterns_of_one_condition_do_not_leak_into_each_other() -> None:
    ruleset = ruleset_of(
        {
            "type": "attribute",
            "attribute": "ua",
            "op": "regex",
            "values": [r"\Qa)|(b", "(?i)^x$", "^y"],
        }
    )
    for value, expected in (
        ("a)|(b", True),
        ("b", False),  # `|` was quoted, not an alternative
        ("X", True),
        ("zX", False),  # (?i) and ^ stay inside their own pattern
        ("yes", True),
        ("Yes", False),
    ):
        assert released(ruleset, Account(id="a1", attributes={"ua": value})) is expected
