"""Prerequisites: a flag on only where the flags it requires are (as the variant named),
validated across the ruleset (unknown flags and variants, cycles, long chains), evaluated
alike by the plan, the checkers and the reference, and kept right across edits."""

from __future__ import annotations

from typing import Any

import pytest

import flagware
from flagware import Account, Engine, MemoryStore, Ruleset, RulesetError
from flagware.engine import _reference as reference
from flagware.ruleset.prerequisites import MAX_CHAIN, MAX_PREREQUISITES

PEOPLE = [Account(f"acct-{i}", number=i) for i in range(300)]
EVERYONE: dict[str, Any] = {"strategies": [{"type": "everyone"}]}


def half(salt: str = "half") -> dict[str, Any]:
    return {"strategies": [{"type": "percentage", "percent": 50}], "salt": salt}


def requires(*names: str, **variants: str) -> dict[str, Any]:
    entries: list[dict[str, Any]] = [{"flag": n} for n in names]
    entries += [{"flag": n, "variant": v} for n, v in variants.items()]
    return {**EVERYONE, "prerequisites": entries}


def on_for(engine: Engine, flag: str, people: list[Account] = PEOPLE) -> set[str]:
    """Who has ``flag``, by every way of asking, which must agree."""
    by_plan = {a.id for a in people if engine.evaluate_all(a)[flag]}
    by_lazy = {a.id for a in people if engine.evaluate_all(a, lazy=True)[flag]}
    by_checker = {a.id for a in people if engine.is_released_to(flag, a)}
    by_reference = {a.id for a in people if reference.decide(engine.ruleset, flag, a, 0.0)[0]}
    assert by_plan == by_lazy == by_checker == by_reference
    return by_plan


def problems(flags: dict[str, Any]) -> list[str]:
    with pytest.raises(RulesetError) as info:
        Ruleset.from_dict({"flags": flags})
    return list(info.value.problems)


def test_a_flag_is_on_only_where_its_prerequisite_is() -> None:
    engine = Engine(Ruleset.from_dict({"flags": {"base": half(), "child": requires("base")}}))
    base = on_for(engine, "base")
    assert on_for(engine, "child") == base
    outside = next(a for a in PEOPLE if a.id not in base)
    assert engine.explain("child", outside).reason == "prerequisite base is off (prerequisites[0])"
    inside = next(a for a in PEOPLE if a.id in base)
    assert engine.explain("child", inside).reason == "strategy everyone matched (strategies[0])"


def test_a_prerequisite_keeps_a_rollout_inside_its_own() -> None:
    # Both are rollouts: the child's bucket is the rollout byte the plan takes back out.
    flags = {"base": half("one"), "child": {**half("two"), "prerequisites": [{"flag": "base"}]}}
    engine = Engine(Ruleset.from_dict(flags and {"flags": flags}))
    alone = Engine(Ruleset.from_dict({"flags": {"child": half("two")}}))
    assert on_for(engine, "child") == on_for(engine, "base") & on_for(alone, "child")
    assert on_for(engine, "child")  # some accounts are in both halves


def test_a_variant_prerequisite_needs_that_variant() -> None:
    flags = {
        "pricing": {**EVERYONE, "variants": {"annual": 50, "monthly": 50}},
        "annual_banner": requires(pricing="annual"),
    }
    engine = Engine(Ruleset.from_dict({"flags": flags}))
    annual = {a.id for a in PEOPLE if engine.evaluate_all(a).variant("pricing") == "annual"}
    assert 0 < len(annual) < len(PEOPLE)
    assert on_for(engine, "annual_banner") == annual
    monthly = next(a for a in PEOPLE if a.id not in annual)
    assert engine.explain("annual_banner", monthly).reason == (
        "prerequisite pricing is variant monthly, not annual (prerequisites[0])"
    )


def test_chains_and_diamonds_agree_everywhere() -> None:
    flags = {
        "a": half("a"),
        "b": {**half("b"), "prerequisites": [{"flag": "a"}]},
        "c": {"strategies": [{"type": "last_digit", "digits": [1, 2, 3, 4, 5]}]},
        "d": requires("b", "c"),
        "e": requires("d", "a"),
    }
    engine = Engine(Ruleset.from_dict({"flags": flags}))
    expected = on_for(engine, "a") & on_for(engine, "b") & on_for(engine, "c")
    assert on_for(engine, "d") == expected
    assert on_for(engine, "e") == expected


def test_a_killed_prerequisite_turns_its_dependents_off() -> None:
    flags = {"base": {**EVERYONE, "enabled": False}, "child": requires("base")}
    engine = Engine(Ruleset.from_dict({"flags": flags}))
    assert on_for(engine, "child") == set()


def test_test_users_see_a_flag_whatever_its_prerequisites() -> None:
    flags = {"base": {"strategies": []}, "child": requires("base")}
    engine = Engine(Ruleset.from_dict({"flags": flags, "test_users": ["tester"]}))
    tester = Account("tester")
    assert engine.evaluate_all(tester)["child"] is True
    assert engine.explain("child", tester).reason == "test user"
    assert engine.evaluate_all(PEOPLE[0])["child"] is False


def test_anonymous_requests_follow_prerequisites() -> None:
    flags = {
        "base": {"strategies": [{"type": "everyone"}], "variants": {"x": 50, "y": 50}},
        "on_x": requires(base="x"),
        "on_y": requires(base="y"),
        "gated_off": requires("nobody"),
        "nobody": {"strategies": []},
    }
    engine = Engine(Ruleset.from_dict({"flags": flags}))
    anonymous = engine.evaluate_all(None)
    assert anonymous.as_dict() == {
        name: reference.decide(engine.ruleset, name, None, 0.0)[0] for name in flags
    }
    assert anonymous["on_x"] is True  # an anonymous request gets the first variant
    assert anonymous["on_y"] is False
    assert anonymous["gated_off"] is False


class FirstCallOnly(flagware.Strategy):
    """On for the first call only: what a lazy FlagSet answered must stay its answer."""

    def __init__(self) -> None:
        self.calls = 0

    def matches(self, account: Account) -> bool:
        self.calls += 1
        return self.calls == 1


def test_a_lazy_flagset_keeps_a_gated_flags_first_answer() -> None:
    flagware.register_strategy("prerequisites_test_first_call")(FirstCallOnly)
    try:
        doc = {
            "flags": {
                "base": {"strategies": [{"type": "prerequisites_test_first_call"}]},
                "gated": requires("base"),
            }
        }
        engine = Engine(Ruleset.from_dict(doc))
        flags = engine.evaluate_all(PEOPLE[0], lazy=True)
        assert flags["gated"] is True  # its checker asked base first: on
        assert flags.as_dict()["gated"] is True  # the plan does not take it back out
    finally:
        flagware.unregister_strategy("prerequisites_test_first_call")


def test_a_gated_rollout_read_first_stays_off_in_the_whole_set() -> None:
    # Found by the plan property: the rollout holds, the prerequisite does not; the flag's
    # "off", answered one at a time, must survive the plan's rollout bytes.
    doc = {
        "flags": {
            "base": {"enabled": False, "strategies": []},
            "gated": {**half(), "prerequisites": [{"flag": "base"}]},
        }
    }
    engine = Engine(Ruleset.from_dict(doc))
    for account in PEOPLE:  # half of them inside the rollout
        flags = engine.evaluate_all(account, lazy=True)
        assert flags["gated"] is False
        assert flags.as_dict() == {"base": False, "gated": False}
        assert flags.enabled_flags() == frozenset()


def test_an_edit_of_a_prerequisite_reaches_its_dependents() -> None:
    # The dependent's compiled checker reads the prerequisite: it must not outlive it.
    store = MemoryStore({"flags": {"base": {"strategies": []}, "child": requires("base")}})
    engine = store.engine()
    assert on_for(engine, "child", PEOPLE[:20]) == set()
    store.set_flag("base", EVERYONE)
    after = store.engine()
    assert after.ruleset.flags["child"] is engine.ruleset.flags["child"]  # kept, unchanged
    assert on_for(after, "child", PEOPLE[:20]) == {a.id for a in PEOPLE[:20]}


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (
            {"child": requires("missing")},
            "flags.child.prerequisites[0].flag: unknown flag 'missing' (a prerequisite must be "
            "defined)",
        ),
        (
            {"child": requires("child")},
            "flags.child.prerequisites[0].flag: a flag cannot require itself",
        ),
        (
            {"base": EVERYONE, "child": requires(base="annual")},
            "flags.child.prerequisites[0].variant: flag 'base' has no variant 'annual' "
            "(it has: none)",
        ),
        (
            {"base": EVERYONE, "child": requires("base", "base")},
            "flags.child.prerequisites[1]: listed twice",
        ),
        (
            {"a": requires("b"), "b": requires("a")},
            "flags.a.prerequisites[0].flag: prerequisites form a cycle: a -> b -> a",
        ),
        (
            {"a": requires("b"), "b": requires("c"), "c": requires("a")},
            "flags.a.prerequisites[0].flag: prerequisites form a cycle: a -> b -> c -> a",
        ),
    ],
)
def test_a_bad_prerequisite_is_named_with_its_path(flags: dict[str, Any], expected: str) -> None:
    assert problems(flags) == [expected]


def test_prerequisite_problems_are_listed_with_the_others() -> None:
    found = problems(
        {
            "broken": {"strategies": [{"type": "percentage", "percent": 101}]},
            "needs_broken": requires("broken"),
            "needs_typo": requires("brokne"),
        }
    )
    assert any(p.startswith("flags.broken.strategies[0].percent:") for p in found), found
    assert "flags.needs_typo.prerequisites[0].flag: unknown flag 'brokne'" in " ".join(found)
    assert not any(p.startswith("flags.needs_broken") for p in found), found  # broken's own


def test_an_edit_that_refuses_a_gated_flag_checks_none_of_its_old_prerequisites() -> None:
    ruleset = Ruleset.from_dict({"flags": {"base": EVERYONE, "child": requires("base")}})
    doc = ruleset.to_dict()
    doc["flags"]["child"] = []  # refused, and what it required is gone with it
    del doc["flags"]["base"]
    with pytest.raises(RulesetError) as cold:
        Ruleset.from_dict(doc)
    with pytest.raises(RulesetError) as edit:
        ruleset._edited(doc, {"base", "child"})
    assert edit.value.problems == cold.value.problems
    assert not any("prerequisites" in p for p in edit.value.problems), edit.value.problems


def test_a_chain_of_prerequisites_is_bounded() -> None:
    def chain(length: int) -> dict[str, Any]:
        flags: dict[str, Any] = {"f0": EVERYONE}
        for i in range(1, length):
            flags[f"f{i}"] = requires(f"f{i - 1}")
        return flags

    Ruleset.from_dict({"flags": chain(MAX_CHAIN)})
    (problem,) = problems(chain(MAX_CHAIN + 1))
    assert f"may hold at most {MAX_CHAIN} flags" in problem
    (problem,) = problems(chain(5_000))  # no recursion error, one clear line
    assert f"may hold at most {MAX_CHAIN} flags" in problem


@pytest.mark.parametrize(
    ("entry", "path"),
    [
        ({"flag": "bad name"}, "flags.child.prerequisites[0].flag"),
        ({"flag": "base", "colour": "red"}, "flags.child.prerequisites[0].colour"),
        ({"variant": "x"}, "flags.child.prerequisites[0].flag"),
        ({"flag": 5}, "flags.child.prerequisites[0].flag"),
    ],
)
def test_a_malformed_prerequisite_is_refused_at_its_path(entry: dict[str, Any], path: str) -> None:
    found = problems({"base": EVERYONE, "child": {**EVERYONE, "prerequisites": [entry]}})
    assert any(p.startswith(f"{path}:") for p in found), found


def test_a_flag_lists_a_bounded_number_of_prerequisites() -> None:
    flags: dict[str, Any] = {f"p{i}": EVERYONE for i in range(MAX_PREREQUISITES + 1)}
    flags["child"] = requires(*[f"p{i}" for i in range(MAX_PREREQUISITES + 1)])
    (problem,) = problems(flags)
    assert problem.startswith("flags.child.prerequisites:")


def test_deleting_a_required_flag_is_refused_and_the_last_good_ruleset_serves() -> None:
    store = MemoryStore({"flags": {"base": EVERYONE, "child": requires("base")}})
    with pytest.raises(RulesetError) as info:
        store.delete_flag("base")
    assert "flags.child.prerequisites[0].flag: unknown flag 'base'" in info.value.problems[0]
    assert store.version == 1
    assert store.engine().is_released_to("child", PEOPLE[0])


def test_prerequisites_round_trip() -> None:
    flags = {
        "base": {**EVERYONE, "variants": {"a": 50, "b": 50}},
        "child": requires("base", base="a"),
    }
    ruleset = Ruleset.from_dict({"flags": flags})
    assert ruleset.to_dict()["flags"]["child"]["prerequisites"] == [
        {"flag": "base"},
        {"flag": "base", "variant": "a"},
    ]
    assert Ruleset.from_dict(ruleset.to_dict()) == ruleset
    assert [p.describe() for p in ruleset.flags["child"].prerequisites] == ["base", "base = a"]
