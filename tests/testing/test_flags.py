"""TestFlags: the flags flagware.flags reads in a test, set and undone."""

from __future__ import annotations

import pytest

import flagware
from flagware.testing import TestFlags


def test_active_inside_the_block_only() -> None:
    assert not flagware.flags.active
    with TestFlags({"beta": True, "button": "green", "old": False}) as flags:
        assert flagware.flags.is_enabled("beta")
        assert flagware.flags.variant("button") == "green"
        assert not flagware.flags["old"]
        assert flagware.current_flags() is flags.flagset
    assert not flagware.flags.active


def test_set_update_and_remove_take_effect_at_once() -> None:
    with TestFlags() as flags:
        flags.set("beta", False)
        assert not flagware.flags.is_enabled("beta")
        flags.update({"checkout.v2": True}, beta=True, button="green")
        assert flagware.flags.is_enabled("checkout.v2")
        assert flagware.flags.is_enabled("beta")
        assert flagware.flags.variant("button") == "green"
        assert flags.as_dict() == {"beta": True, "checkout.v2": True, "button": "green"}
        flags.remove("beta")
        flags.remove("never_set")
        assert "beta" not in flagware.flags
        assert flagware.flags.is_enabled("beta")  # unknown: released


def test_unknown_policy() -> None:
    with TestFlags({"beta": True}, unknown="hidden") as flags:
        assert not flagware.flags.is_enabled("never_set")
        flags.unknown = "released"
        assert flags.unknown == "released"
        assert flagware.flags.is_enabled("never_set")
        with pytest.raises(ValueError, match="released' or 'hidden"):
            flags.unknown = "maybe"  # type: ignore[assignment]
        assert flags.unknown == "released"


def test_restores_the_flags_current_before_whatever_was_set() -> None:
    with flagware.use_flags({"outer": True}) as outer:
        with TestFlags({"outer": False}) as flags:
            flags.set("inner", True)
            flags.set("outer", False)
            assert not flagware.flags.is_enabled("outer")
        assert flagware.current_flags() is outer


def test_an_invalid_value_changes_nothing() -> None:
    with TestFlags({"beta": True}) as flags:
        before = flagware.current_flags()
        with pytest.raises(TypeError, match="expected a bool or a variant name"):
            flags.set("beta", 3)  # type: ignore[arg-type]
        assert flagware.current_flags() is before
        assert flags.as_dict() == {"beta": True}


def test_set_before_the_block_is_used_by_it() -> None:
    flags = TestFlags()
    flags.set("beta", False)
    assert not flagware.flags.active
    with flags:
        assert not flagware.flags.is_enabled("beta")


def test_one_activation_at_a_time() -> None:
    with TestFlags() as flags:
        with pytest.raises(RuntimeError, match="already active"), flags:
            pass
        assert flagware.flags.active
    with flags:  # again, after leaving
        assert flagware.flags.active


def test_pytest_does_not_collect_it() -> None:
    assert TestFlags.__test__ is False
    assert repr(TestFlags({"a": True})) == "<TestFlags {'a': True} unknown=released>"
