"""Every strategy describes itself: a summary and its form fields (so the panel and the CLI
need no list of types), and the operators come from one definition."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, get_args

import pytest

import flagware
from flagware._presenting import strategy_summary
from flagware.admin.forms import EDITED_KEYS, KEPT_KEYS
from flagware.ruleset.parse import FLAG_KEYS
from flagware.strategies import BUILTIN_STRATEGIES, strategy_class
from flagware.strategies.base import Describes, FieldKind
from flagware.strategies.conditions import OPERATORS, Condition
from tests.strategies.test_registry import BUILTIN_PARAMS


@pytest.mark.parametrize("name", list(BUILTIN_STRATEGIES))
def test_every_built_in_declares_its_summary_and_its_fields(name: str) -> None:
    cls = BUILTIN_STRATEGIES[name]
    assert "summary" in vars(cls), f"{name} must say what it releases to (summary)"
    assert "fields" in vars(cls), f"{name} must declare its fields"
    assert cls.fields is not None
    # The fields are the strategy's parameters, no more and no fewer.
    assert {f.name for f in cls.fields} == set(cls.model_fields)
    if not cls.fields:
        assert cls.note, f"{name} has no fields: its form needs a note instead"
    for spec in cls.fields:
        assert spec.label
        assert spec.kind in get_args(FieldKind)
        if spec.kind == "choice":
            assert spec.default in spec.choices
    params = cls.model_validate(BUILTIN_PARAMS[name]).model_dump(mode="json", exclude_none=True)
    summary = cls.summary(params)
    assert isinstance(summary, str)
    assert summary
    assert summary != Describes.summary.__func__(cls, params)  # type: ignore[attr-defined]


def test_the_registry_gives_the_class_of_every_type() -> None:
    for name, cls in BUILTIN_STRATEGIES.items():
        assert strategy_class(name) is cls
    assert strategy_class("describing_never_registered") is None


def test_the_operators_are_defined_once() -> None:
    assert OPERATORS == ("eq", "ne", "in", "not_in", "lt", "lte", "gt", "gte", "contains", "regex")
    assert get_args(Condition.model_fields["op"].annotation) == OPERATORS
    (op,) = (f for f in BUILTIN_STRATEGIES["attribute"].fields or () if f.name == "op")
    assert op.choices == OPERATORS


def test_the_form_keeps_every_flag_key_it_does_not_edit() -> None:
    assert set(EDITED_KEYS) <= set(FLAG_KEYS)
    assert set(EDITED_KEYS) | set(KEPT_KEYS) == set(FLAG_KEYS)
    assert not set(EDITED_KEYS) & set(KEPT_KEYS)
    assert {"enabled", "salt"} <= set(KEPT_KEYS)


@flagware.register_strategy("describing_plain")
class Plain(flagware.Strategy):
    """A custom strategy that says nothing about itself: the defaults describe it."""

    def __init__(self, size: int) -> None:
        self.size = size

    def matches(self, account: flagware.Account) -> bool:
        return False


@flagware.register_strategy("describing_broken")
class Broken(flagware.Strategy):
    """A custom strategy whose summary fails: its parameters are shown instead."""

    def __init__(self, size: int) -> None:
        self.size = size

    @classmethod
    def summary(cls, params: Mapping[str, Any]) -> str:
        raise RuntimeError("bug in the application")

    def matches(self, account: flagware.Account) -> bool:
        return False


def spec(doc: dict[str, Any]) -> flagware.StrategySpec:
    return (
        flagware.Ruleset.from_dict({"flags": {"f": {"strategies": [doc]}}}).flags["f"].strategies[0]
    )


def test_a_custom_strategy_has_sensible_defaults() -> None:
    assert Plain.fields is None  # undeclared: the panel edits JSON
    assert Plain.note == ""
    assert strategy_class("describing_plain") is Plain
    assert strategy_summary(spec({"type": "describing_plain", "size": 3})) == (
        "describing_plain(size=3)"
    )


def test_a_failing_summary_does_not_break_a_page(caplog: pytest.LogCaptureFixture) -> None:
    assert strategy_summary(spec({"type": "describing_broken", "size": 3})) == (
        "describing_broken(size=3)"
    )
    assert "summary() failed" in caplog.text
