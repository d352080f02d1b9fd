"""The Ruleset value: the contract's example, defaults, round trips, equality, immutability."""

from __future__ import annotations

import copy
import dataclasses
from datetime import datetime, timezone
from typing import Any

import pytest

from flagware import Account, Engine, Flag, Ruleset, StrategySpec
from flagware.ruleset.documents import decode_document
from flagware.strategies import Percentage, Schedule

# The example document of CONTRACT.md (its longest comments shortened to fit the line length).
CONTRACT_EXAMPLE = """
schema: 1
test_users: [testuser1, testuser2]   # account ids that see every feature and may override
unknown: released                    # flags the ruleset lacks: released | hidden
flags:
  cool_feature:
    description: New checkout flow
    strategies:                      # released if ANY strategy matches; [] = test users only
      - {type: last_digit, digits: [1, 2]}
      - {type: accounts, ids: [acct-42, acct-7]}
      - {type: percentage, percent: 12.5}          # stable bucket of the account id
      - {type: attribute, attribute: country, op: in, values: [NL, DE]}
      - {type: schedule, after: "2026-12-01T00:00:00Z"}
      - {type: everyone}
      - {type: percentage, percent: 10,              # `when`: conditions that must ALL hold
         when: [{attribute: country, op: in, values: [NL]},
                {attribute: plan, op: eq, values: [pro]}]}
  old_search:
    enabled: false                   # kill switch: off for everyone, test users included
  checkout_button:
    strategies: [{type: everyone}]
    variants: {control: 50, green: 50}   # weights; a released account gets a stable variant
"""


@pytest.fixture
def example() -> Ruleset:
    return Ruleset.from_dict(decode_document(CONTRACT_EXAMPLE, "yaml"))


def rich_document() -> dict[str, Any]:
    return {
        "schema": 1,
        "test_users": ["zed", "amy"],
        "unknown": "hidden",
        "flags": {
            "beta": {
                "description": "Beta",
                "salt": "beta-2",
                "strategies": [
                    {"type": "percentage", "percent": 0.01},
                    {"type": "schedule", "after": "2026-01-01T00:00:00+02:00"},
                    {"type": "schedule", "before": "2030-01-01T00:00:00Z"},
                    {
                        "type": "attribute",
                        "attribute": "age",
                        "op": "gte",
                        "values": [18, 21.5, True, "x"],
                    },
                    {
                        "type": "last_digit",
                        "digits": [9, 0],
                        "when": [{"attribute": "email", "op": "regex", "values": ["@corp\\."]}],
                    },
                ],
                "variants": {"a": 12.5, "b": 87.5},
            },
            "killed": {"enabled": False, "strategies": [{"type": "everyone"}]},
            "empty": None,
        },
    }


# --- the contract example ------------------------------------------------------------------


def test_contract_example_loads(example: Ruleset) -> None:
    assert set(example.flags) == {"cool_feature", "old_search", "checkout_button"}
    assert example.test_users == frozenset({"testuser1", "testuser2"})
    assert example.unknown == "released"


def test_contract_example_strategies_in_order(example: Ruleset) -> None:
    cool = example.flags["cool_feature"]
    assert cool.description == "New checkout flow"
    assert [s.type for s in cool.strategies] == [
        "last_digit",
        "accounts",
        "percentage",
        "attribute",
        "schedule",
        "everyone",
        "percentage",
    ]
    gated = cool.strategies[-1]
    assert [(c.attribute, c.op, c.values) for c in gated.when] == [
        ("country", "in", ("NL",)),
        ("plan", "eq", ("pro",)),
    ]
    assert all(not s.when for s in cool.strategies[:-1])


def test_contract_example_kill_switch_and_variants(example: Ruleset) -> None:
    assert example.flags["old_search"].enabled is False
    assert example.flags["old_search"].strategies == ()
    assert example.flags["checkout_button"].variants == (("control", 50), ("green", 50))
    assert example.flags["cool_feature"].variants == ()


def test_contract_example_schedule_is_an_aware_instant(example: Ruleset) -> None:
    schedule = example.flags["cool_feature"].strategies[4].strategy
    assert isinstance(schedule, Schedule)
    assert schedule.after == datetime(2026, 12, 1, tzinfo=timezone.utc)
    assert schedule.before is None


# --- to_dict -------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [rich_document, lambda: decode_document(CONTRACT_EXAMPLE, "yaml")])
def test_to_dict_round_trips(make: Any) -> None:
    ruleset = Ruleset.from_dict(make())
    again = Ruleset.from_dict(ruleset.to_dict())
    assert again == ruleset
    assert again.to_dict() == ruleset.to_dict()


def test_to_dict_is_stable() -> None:
    ruleset = Ruleset.from_dict(rich_document())
    first = ruleset.to_dict()
    for _ in range(3):
        ruleset = Ruleset.from_dict(ruleset.to_dict())
        assert ruleset.to_dict() == first


def test_to_dict_is_canonical() -> None:
    doc = Ruleset.from_dict(rich_document()).to_dict()
    assert doc["schema"] == 1
    assert doc["test_users"] == ["amy", "zed"]  # sorted
    assert doc["unknown"] == "hidden"
    assert doc["flags"]["killed"] == {"enabled": False, "strategies": [{"type": "everyone"}]}
    assert doc["flags"]["empty"] == {"strategies": []}
    beta = doc["flags"]["beta"]
    assert beta["description"] == "Beta"
    assert beta["salt"] == "beta-2"
    assert beta["variants"] == {"a": 12.5, "b": 87.5}
    assert beta["strategies"][4] == {
        "type": "last_digit",
        "digits": [9, 0],
        "when": [{"attribute": "email", "op": "regex", "values": ["@corp\\."]}],
    }


def test_to_dict_leaves_defaults_out_of_flags() -> None:
    doc = Ruleset.from_dict({"flags": {"f": {"description": "", "enabled": True}}}).to_dict()
    assert doc["flags"]["f"] == {"strategies": []}


def test_to_dict_keeps_the_schedule_instant() -> None:
    ruleset = Ruleset.from_dict(rich_document())
    strategy = Ruleset.from_dict(ruleset.to_dict()).flags["beta"].strategies[1].strategy
    assert isinstance(strategy, Schedule)
    assert strategy.after == datetime(2025, 12, 31, 22, tzinfo=timezone.utc)


def test_to_dict_keeps_value_types_of_conditions() -> None:
    doc = Ruleset.from_dict(rich_document()).to_dict()
    values = doc["flags"]["beta"]["strategies"][3]["values"]
    assert values == [18, 21.5, True, "x"]
    assert [type(v) for v in values] == [int, float, bool, str]


def test_to_dict_is_a_fresh_copy() -> None:
    ruleset = Ruleset.from_dict(rich_document())
    doc = ruleset.to_dict()
    doc["flags"]["beta"]["strategies"][0]["percent"] = 100
    doc["test_users"].append("mallory")
    doc["flags"].clear()
    assert ruleset.to_dict() == Ruleset.from_dict(rich_document()).to_dict()
    assert ruleset.flags["beta"].strategies[0].to_dict() == {"type": "percentage", "percent": 0.01}


def test_changing_the_input_document_later_changes_nothing() -> None:
    doc = rich_document()
    ruleset = Ruleset.from_dict(doc)
    before = ruleset.to_dict()
    doc["flags"]["beta"]["strategies"][3]["values"].append(99)
    doc["flags"]["beta"]["strategies"][4]["digits"].append(5)
    doc["test_users"].append("mallory")
    del doc["flags"]["killed"]
    assert ruleset.to_dict() == before
    assert ruleset.flags["beta"].strategies[4].strategy.digits == (9, 0)
    assert "mallory" not in ruleset.test_users


def test_percent_keeps_its_value() -> None:
    ruleset = Ruleset.from_dict(
        {"flags": {"f": {"strategies": [{"type": "percentage", "percent": 12.5}]}}}
    )
    strategy = ruleset.flags["f"].strategies[0].strategy
    assert isinstance(strategy, Percentage)
    assert strategy.percent == 12.5


# --- defaults ------------------------------------------------------------------------------


@pytest.mark.parametrize("doc", [{}, {"flags": {}}, {"schema": 1, "test_users": [], "flags": {}}])
def test_optional_top_level_keys_have_defaults(doc: dict[str, Any]) -> None:
    ruleset = Ruleset.from_dict(doc)
    assert dict(ruleset.flags) == {}
    assert ruleset.test_users == frozenset()
    assert ruleset.unknown == "released"
    assert ruleset.to_dict() == {"schema": 1, "test_users": [], "unknown": "released", "flags": {}}


def test_empty_ruleset_equals_the_default_constructed_one() -> None:
    assert Ruleset.from_dict({}) == Ruleset()


def test_flag_defaults() -> None:
    flag = Ruleset.from_dict({"flags": {"f": {}}}).flags["f"]
    assert flag.name == "f"
    assert flag.description == ""
    assert flag.enabled is True
    assert flag.strategies == ()
    assert flag.variants == ()
    assert flag.salt is None
    assert flag.rollout_salt == "f"


def test_salt_replaces_the_name_as_rollout_salt() -> None:
    flag = Ruleset.from_dict({"flags": {"f": {"salt": "f-v2"}}}).flags["f"]
    assert flag.rollout_salt == "f-v2"


def test_unknown_hidden_is_kept() -> None:
    assert Ruleset.from_dict({"unknown": "hidden"}).unknown == "hidden"


# --- a null flag ---------------------------------------------------------------------------


def test_a_null_flag_in_yaml_is_an_empty_flag() -> None:
    doc = decode_document("test_users: [tester]\nflags:\n  beta:\n", "yaml")
    assert doc == {"test_users": ["tester"], "flags": {"beta": None}}
    ruleset = Ruleset.from_dict(doc)
    assert ruleset.flags["beta"].strategies == ()
    assert ruleset.flags["beta"].enabled is True
    assert ruleset == Ruleset.from_dict({"test_users": ["tester"], "flags": {"beta": {}}})


def test_a_null_flag_is_released_to_test_users_only() -> None:
    ruleset = Ruleset.from_dict(decode_document("test_users: [tester]\nflags:\n  beta:\n", "yaml"))
    engine = Engine(ruleset)
    assert engine.is_released_to("beta", Account(id="tester")) is True
    assert engine.is_released_to("beta", Account(id="someone", number=1)) is False
    assert engine.is_released_to("beta", None) is False


# --- equality ------------------------------------------------------------------------------


def test_equal_documents_give_equal_rulesets() -> None:
    assert Ruleset.from_dict(rich_document()) == Ruleset.from_dict(rich_document())


def test_order_of_test_users_and_flags_does_not_matter() -> None:
    doc = rich_document()
    reordered = copy.deepcopy(doc)
    reordered["test_users"].reverse()
    reordered["flags"] = dict(reversed(list(doc["flags"].items())))
    assert Ruleset.from_dict(reordered) == Ruleset.from_dict(doc)


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["test_users"].append("bob"),
        lambda d: d.update(unknown="released"),
        lambda d: d["flags"].pop("empty"),
        lambda d: d["flags"]["beta"].update(description="Beta!"),
        lambda d: d["flags"]["beta"].update(salt="beta-3"),
        lambda d: d["flags"]["killed"].update(enabled=True),
        lambda d: d["flags"]["beta"]["strategies"][0].update(percent=0.02),
        lambda d: d["flags"]["beta"]["strategies"].reverse(),
        lambda d: d["flags"]["beta"]["strategies"][4]["when"][0].update(op="eq"),
        lambda d: d["flags"]["beta"].update(variants={"a": 50, "b": 50}),
    ],
)
def test_any_change_makes_rulesets_unequal(change: Any) -> None:
    doc = rich_document()
    change(doc)
    assert Ruleset.from_dict(doc) != Ruleset.from_dict(rich_document())


def test_a_ruleset_is_not_equal_to_its_document() -> None:
    ruleset = Ruleset.from_dict({})
    assert ruleset != ruleset.to_dict()


def test_a_ruleset_is_unhashable() -> None:
    with pytest.raises(TypeError):
        hash(Ruleset.from_dict({}))


# --- immutability --------------------------------------------------------------------------


def test_flags_mapping_is_read_only() -> None:
    ruleset = Ruleset.from_dict(rich_document())
    with pytest.raises(TypeError):
        ruleset.flags["new"] = Flag(name="new")  # type: ignore[index]
    with pytest.raises(TypeError):
        del ruleset.flags["beta"]  # type: ignore[attr-defined]
    assert not hasattr(ruleset.flags, "pop")
    assert set(ruleset.flags) == {"beta", "killed", "empty"}


@pytest.mark.parametrize(
    ("attribute", "value"), [("unknown", "hidden"), ("test_users", frozenset()), ("flags", {})]
)
def test_ruleset_attributes_cannot_be_reassigned(attribute: str, value: Any) -> None:
    ruleset = Ruleset.from_dict(rich_document())
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(ruleset, attribute, value)


def test_flags_and_strategy_specs_are_frozen() -> None:
    flag = Ruleset.from_dict(rich_document()).flags["beta"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        flag.enabled = False  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        flag.strategies[0].type = "everyone"  # type: ignore[misc]
    assert isinstance(flag.strategies, tuple)
    assert isinstance(flag.variants, tuple)


def test_builtin_strategies_are_frozen() -> None:
    strategy = Ruleset.from_dict(rich_document()).flags["beta"].strategies[0].strategy
    with pytest.raises(ValueError, match="frozen"):
        strategy.percent = 100  # type: ignore[union-attr]


def test_test_users_is_a_frozenset() -> None:
    assert isinstance(Ruleset.from_dict(rich_document()).test_users, frozenset)


def test_constructing_directly_copies_the_flags_mapping() -> None:
    flags = {"f": Flag(name="f")}
    ruleset = Ruleset(flags=flags, test_users={"a"}, unknown="hidden")  # type: ignore[arg-type]
    flags["g"] = Flag(name="g")
    assert set(ruleset.flags) == {"f"}
    assert ruleset.test_users == frozenset({"a"})
    assert ruleset == Ruleset.from_dict(
        {"test_users": ["a"], "unknown": "hidden", "flags": {"f": {}}}
    )


def test_repr_summarises() -> None:
    text = repr(Ruleset.from_dict(rich_document()))
    assert "3 flags" in text
    assert "2 test users" in text
    assert "unknown=hidden" in text


def test_a_parsed_flag_is_the_flag_its_fields_make() -> None:
    """The parser builds flags and their strategies without the dataclasses' __init__: each
    must still hold every field, equal to what the class given the same values holds."""
    doc = {
        "flags": {
            "full": {
                "description": "all the keys",
                "enabled": False,
                "client": True,
                "salt": "s",
                "strategies": [
                    {"type": "percentage", "percent": 10},
                    {
                        "type": "accounts",
                        "ids": ["a-1"],
                        "when": [{"attribute": "plan", "op": "eq", "values": ["pro"]}],
                    },
                ],
                "variants": {"a": 50, "b": 50},
                "prerequisites": [{"flag": "bare"}],
                "owner": "team-a",
                "tags": ["t"],
                "created": "2026-01-02",
                "expires": "2027-01-02",
            },
            "bare": {},
        }
    }
    for parsed in Ruleset.from_dict(doc).flags.values():
        values = {f.name: getattr(parsed, f.name) for f in dataclasses.fields(Flag)}
        rebuilt = Flag(**values)
        assert {f.name: getattr(rebuilt, f.name) for f in dataclasses.fields(Flag)} == values
        assert set(vars(parsed)) >= set(values)
        assert parsed._canonical == rebuilt._canonical
        for spec in parsed.strategies:
            fields = {f.name: getattr(spec, f.name) for f in dataclasses.fields(StrategySpec)}
            assert set(vars(spec)) >= set(fields)
            assert StrategySpec(**fields).to_dict() == spec.to_dict()
        with pytest.raises(dataclasses.FrozenInstanceError):
            parsed.enabled = True  # type: ignore[misc]
