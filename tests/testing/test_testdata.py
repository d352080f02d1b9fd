"""TestData: a real store (the whole store contract), changed flag by flag mid-test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import flagware.testing
from flagware import Account, MemoryStore, Ruleset, RulesetError, Store
from flagware.testing import DOC_A, FlagBuilder, StoreContract, StoreFactory, TestData

ACCT_1, ACCT_2 = Account("acct-1"), Account("acct-2")


class TestTestDataStore(StoreContract):
    """TestData passes the contract every store passes: any API taking a store takes it."""

    @pytest.fixture
    def make_store(self) -> Iterator[StoreFactory]:
        made: list[Store] = []

        def make(doc: dict[str, Any]) -> Store:
            store = TestData(doc)
            made.append(store)
            return store

        yield make
        for store in made:
            store.close()


@pytest.fixture
def td() -> Iterator[TestData]:
    store = TestData()
    yield store
    store.close()


def on(td: TestData, name: str, account: Account | None = ACCT_1) -> bool:
    return td.engine().evaluate_all(account).is_enabled(name)


def test_is_a_memory_store_reached_from_the_package() -> None:
    assert flagware.testing.TestData is TestData
    with TestData() as store:
        assert isinstance(store, MemoryStore)
        assert store.ruleset() == Ruleset.from_dict({})
        assert store.version == 1
        assert repr(store) == "<TestData (version 1, 0 flags)>"


def test_pytest_does_not_collect_it() -> None:
    assert TestData.__test__ is False


def test_set_true_false_and_a_variant(td: TestData) -> None:
    td.set("new_checkout", True)
    assert on(td, "new_checkout")
    assert on(td, "new_checkout", None)  # anonymous too: everyone
    td.set("new_checkout", False)
    assert not on(td, "new_checkout")
    td.set("button", "green")
    flags = td.engine().evaluate_all(ACCT_2)
    assert (flags.is_enabled("button"), flags.variant("button")) == (True, "green")
    assert td.ruleset().to_dict()["flags"] == {
        "new_checkout": {"strategies": []},
        "button": {"strategies": [{"type": "everyone"}], "variants": {"green": 100.0}},
    }


def test_set_refuses_what_is_not_a_value(td: TestData) -> None:
    with pytest.raises(TypeError, match="expected a bool or a variant name"):
        td.set("beta", 1)  # type: ignore[arg-type]
    assert td.version == 1


def test_each_change_takes_effect_for_the_next_evaluation(td: TestData) -> None:
    td.update(td.flag("beta").for_accounts("acct-1"))
    assert on(td, "beta")
    assert not on(td, "beta", ACCT_2)
    before = td.engine().evaluate_all(ACCT_2)
    td.update(td.flag("beta").percent(100))
    assert on(td, "beta", ACCT_2)
    assert not before.is_enabled("beta")  # an evaluation already made keeps its flags
    assert [s["type"] for s in td.ruleset().to_dict()["flags"]["beta"]["strategies"]] == [
        "accounts",
        "percentage",
    ]


def test_a_new_flag_is_on_for_test_users_only() -> None:
    with TestData({"test_users": ["tester"]}) as td:
        td.update(td.flag("dark"))
        assert td.ruleset().to_dict()["flags"]["dark"] == {"strategies": []}
        assert on(td, "dark", Account("tester"))
        assert not on(td, "dark")


def test_the_builder_starts_from_the_stored_flag(td: TestData) -> None:
    td.update(td.flag("ab").on().variants({"control": 50, "green": 50}))
    assert td.flag("ab").to_dict() == {
        "strategies": [{"type": "everyone"}],
        "variants": {"control": 50.0, "green": 50.0},
    }
    td.update(td.flag("ab").off())  # the variants stay; only the strategies change
    assert td.flag("ab").to_dict() == {
        "strategies": [],
        "variants": {"control": 50.0, "green": 50.0},
    }
    td.update(td.flag("ab").variants(None))
    assert td.flag("ab").to_dict() == {"strategies": []}


def test_kill_is_off_for_test_users_too_and_revive_brings_the_rollout_back() -> None:
    tester = Account("tester")
    with TestData({"test_users": ["tester"]}) as td:
        td.update(td.flag("beta").for_accounts("acct-1"))
        td.update(td.flag("beta").kill())
        assert not on(td, "beta")
        assert not on(td, "beta", tester)
        assert td.ruleset().flags["beta"].enabled is False
        td.update(td.flag("beta").revive())
        assert on(td, "beta")
        assert on(td, "beta", tester)
        td.update(td.flag("beta").kill().on())  # on() lifts the kill switch
        assert on(td, "beta", ACCT_2)


def test_any_strategy_by_type(td: TestData) -> None:
    builder = td.flag("pro").strategy("attribute", attribute="plan", op="eq", values=["pro"])
    td.update(builder)
    assert on(td, "pro", Account("a", attributes={"plan": "pro"}))
    assert not on(td, "pro", Account("b", attributes={"plan": "free"}))


def test_builders_are_values(td: TestData) -> None:
    base = td.flag("beta")
    on_builder = base.on()
    assert base.to_dict() == {}
    assert on_builder == FlagBuilder("beta", {"strategies": [{"type": "everyone"}]})
    copied = on_builder.to_dict()
    copied["strategies"].append({"type": "accounts", "ids": ["x"]})
    assert on_builder.to_dict() == {"strategies": [{"type": "everyone"}]}


@pytest.mark.parametrize(
    ("builder", "path"),
    [
        (FlagBuilder("beta").percent(150), r"flags\.beta\.strategies\[0\]\.percent"),
        (FlagBuilder("beta").on().variants({"a": 60, "b": 60}), r"flags\.beta\.variants"),
        (FlagBuilder("beta").strategy("no_such_strategy"), "no_such_strategy"),
        (FlagBuilder("not a name").on(), "not a name"),
    ],
    ids=["percent", "weights", "strategy", "name"],
)
def test_a_change_is_validated_as_a_ruleset_change(
    td: TestData, builder: FlagBuilder, path: str
) -> None:
    td.set("beta", True)
    before, version = td.ruleset(), td.version
    with pytest.raises(RulesetError, match=path):
        td.update(builder)
    assert td.ruleset() is before
    assert td.version == version
    assert on(td, "beta")


def test_changes_are_versioned_and_recorded(td: TestData) -> None:
    td.set("beta", True)
    td.update(td.flag("beta").kill(), actor="alice")
    assert td.version == 3
    latest, first = td.history()[:2]
    assert (latest.actor, latest.action, latest.version) == ("alice", "set_flag", 3)
    assert (first.actor, first.action) == ("TestData", "set_flag")
    assert td.set("beta", True).changed
    assert not td.set("beta", True).changed  # the same flag again: no new version


def test_update_still_takes_a_change_function(td: TestData) -> None:
    commit = td.update(lambda doc: {**doc, "test_users": ["tester"]})
    assert commit.version == 2
    assert td.ruleset().test_users == frozenset({"tester"})


def test_starting_flags_make_one_validated_first_version() -> None:
    with TestData(DOC_A, flags={"beta": True, "ab": "green", "new": False}) as td:
        assert td.version == 1
        assert on(td, "beta", ACCT_2)
        assert td.engine().evaluate_all(ACCT_2).variant("ab") == "green"
        assert td.ruleset().test_users == frozenset({"tester"})  # the rest of DOC_A stays
        assert not on(td, "new")
    with pytest.raises(RulesetError):
        TestData(flags={"bad name": True})
    with pytest.raises(TypeError):
        TestData(flags={"beta": None})  # type: ignore[dict-item]


def test_unknown_flags_follow_the_ruleset_policy() -> None:
    with TestData() as released, TestData({"unknown": "hidden"}) as hidden:
        assert on(released, "never_set")
        assert not on(hidden, "never_set")


def test_the_clock_reaches_schedules() -> None:
    with TestData(clock=lambda: 0.0) as td:
        td.update(td.flag("launch").strategy("schedule", after="2030-01-01T00:00:00Z"))
        assert not on(td, "launch")
