"""Ruleset documents, fuzzed: ``Ruleset.from_dict`` returns a Ruleset or raises
RulesetError (nothing else, whatever it is given); a Ruleset round-trips through
``to_dict``; and its engine evaluates any account without raising."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st

from flagware import Account, Engine, FlagSet, Ruleset, RulesetError
from tests.properties.generators import (
    accounts,
    json_like,
    loaded_like,
    near_valid_documents,
    valid_documents,
)


def from_dict_or_problems(doc: Any) -> Ruleset | None:
    """The Ruleset of ``doc``, or None if it was refused with a proper RulesetError."""
    try:
        ruleset = Ruleset.from_dict(doc)
    except RulesetError as exc:
        refused: RulesetError | None = exc
    else:
        refused = None
    event("refused" if refused is not None else "a ruleset")
    if refused is not None:
        assert refused.problems, "a RulesetError must list its problems"
        assert all(isinstance(p, str) and p for p in refused.problems)
        str(refused)  # the message renders, whatever the document held
        return None
    assert isinstance(ruleset, Ruleset)
    return ruleset


def assert_round_trips(ruleset: Ruleset) -> None:
    doc = ruleset.to_dict()
    json.dumps(doc, allow_nan=False)  # the canonical document is plain JSON
    again = Ruleset.from_dict(doc)
    assert again == ruleset
    assert again.to_dict() == doc


def read_everything(flags: FlagSet, names: list[str]) -> None:
    """Every way of reading a FlagSet, on every flag and on one it does not define."""
    values = flags.as_dict()
    assert set(values) == set(names)
    flags.variants()
    flags.enabled_flags()
    for name in [*names, "not_in_the_ruleset"]:
        enabled = flags.is_enabled(name)
        assert isinstance(enabled, bool)
        variant = flags.variant(name)
        assert variant is None or (enabled and isinstance(variant, str))
        assert isinstance(flags.reason(name), str)
        flags.evaluation(name)
    repr(flags)


def assert_evaluates(ruleset: Ruleset, account: Account | None, now: float) -> None:
    engine = Engine(ruleset, clock=lambda: now)
    names = list(ruleset.flags)
    for test_user in (False, True):
        read_everything(engine.evaluate_all(account, test_user=test_user), names)
        read_everything(engine.evaluate_all(account, test_user=test_user, lazy=True), names)
    if account is not None:
        # A test user sees every flag that is not kill-switched, and nothing else decides.
        tester = engine.evaluate_all(account, test_user=True)
        assert tester.as_dict() == {name: flag.enabled for name, flag in ruleset.flags.items()}
    for name in names:
        assert isinstance(engine.is_released_to(name, account), bool)
        engine.explain(name, account)


NOW = st.floats(-1e11, 1e11) | st.sampled_from([0.0, 1_780_000_000.0])


@given(json_like)
def test_arbitrary_json_values_are_a_ruleset_or_a_ruleset_error(doc: Any) -> None:
    ruleset = from_dict_or_problems(doc)
    if ruleset is not None:
        assert_round_trips(ruleset)


@given(loaded_like)
def test_arbitrary_loader_values_are_a_ruleset_or_a_ruleset_error(doc: Any) -> None:
    """What YAML or TOML can hand over: bytes, dates, sets, tuples, non-string keys."""
    ruleset = from_dict_or_problems(doc)
    if ruleset is not None:
        assert_round_trips(ruleset)


@given(near_valid_documents(), accounts(), NOW)
def test_near_valid_documents_are_a_ruleset_or_a_ruleset_error(
    doc: Any, account: Account, now: float
) -> None:
    ruleset = from_dict_or_problems(doc)
    if ruleset is not None:
        assert_round_trips(ruleset)
        assert_evaluates(ruleset, account, now)


@given(valid_documents(), st.lists(accounts(), min_size=1, max_size=2), NOW)
def test_valid_documents_round_trip_and_their_engine_evaluates_any_account(
    doc: dict[str, Any], sample: list[Account], now: float
) -> None:
    ruleset = Ruleset.from_dict(doc)
    assert set(ruleset.flags) == set(doc["flags"])
    assert_round_trips(ruleset)
    for account in [*sample, None]:
        assert_evaluates(ruleset, account, now)
