"""FlagSet: one account's flags, read-only, with reasons and variants."""

from __future__ import annotations

from typing import Any

import pytest

from flagware import Account, Engine, Evaluation, FlagSet, Ruleset

DOC: dict[str, Any] = {
    "test_users": ["tester"],
    "flags": {
        "on_for_all": {"strategies": [{"type": "everyone"}]},
        "off_for_all": {"strategies": [{"type": "accounts", "ids": ["someone-else"]}]},
        "ab": {
            "strategies": [{"type": "everyone"}],
            "variants": {"control": 50, "green": 50},
        },
        "killed": {"enabled": False, "strategies": [{"type": "everyone"}]},
    },
}
ACCOUNT = Account(id="acct-1")


def evaluated(account: Account | None = ACCOUNT, **top: Any) -> FlagSet:
    return Engine(Ruleset.from_dict({**DOC, **top})).evaluate_all(account)


# --- read-only -------------------------------------------------------------------------------


def test_attributes_cannot_be_set_or_deleted() -> None:
    fs = evaluated()
    with pytest.raises(AttributeError, match="read-only"):
        fs.anything = True  # type: ignore[attr-defined]
    with pytest.raises(AttributeError, match="read-only"):
        fs._released = frozenset()  # type: ignore[misc]
    with pytest.raises(AttributeError, match="read-only"):
        del fs._released
    assert fs["on_for_all"]


def test_items_cannot_be_assigned_or_deleted() -> None:
    fs = evaluated()
    with pytest.raises(TypeError):
        fs["off_for_all"] = True  # type: ignore[index]
    with pytest.raises(TypeError):
        del fs["on_for_all"]  # type: ignore[attr-defined]
    assert not fs["off_for_all"]
    assert fs["on_for_all"]


def test_as_dict_is_a_copy() -> None:
    fs = evaluated()
    copy = fs.as_dict()
    copy["off_for_all"] = True
    assert not fs["off_for_all"]
    assert fs.as_dict()["off_for_all"] is False


# --- reading ---------------------------------------------------------------------------------


def test_reading_an_evaluated_flagset() -> None:
    fs = evaluated()
    assert fs.as_dict() == {"on_for_all": True, "off_for_all": False, "ab": True, "killed": False}
    assert fs.enabled_flags() == {"on_for_all", "ab"}
    assert list(fs) == ["on_for_all", "off_for_all", "ab", "killed"]
    assert len(fs) == 4
    assert "killed" in fs
    assert "undefined" not in fs
    assert fs.is_enabled("undefined")
    assert fs.account is ACCOUNT
    assert set(fs.variants()) == {"ab"}
    assert fs.variants()["ab"] in {"control", "green"}


def test_evaluation() -> None:
    fs = evaluated()
    assert fs.evaluation("off_for_all") == Evaluation(
        "off_for_all", False, None, "no strategy matched"
    )
    ab = fs.evaluation("ab")
    assert ab.enabled
    assert ab.variant == fs.variant("ab")
    assert ab.reason == "strategy everyone matched (strategies[0])"


def test_repr_names_the_account_and_counts() -> None:
    assert repr(evaluated()) == "<FlagSet acct-1: 2/4 on>"
    assert repr(evaluated(None)) == "<FlagSet anonymous: 2/4 on>"


def test_hidden_unknown_policy() -> None:
    fs = evaluated(unknown="hidden")
    assert not fs.is_enabled("undefined")
    assert not fs["undefined"]


# --- from_mapping ----------------------------------------------------------------------------


def test_from_mapping_bools_and_variants() -> None:
    fs = FlagSet.from_mapping({"a": True, "b": False, "ab": "green"})
    assert fs.as_dict() == {"a": True, "b": False, "ab": True}
    assert fs.variant("ab") == "green"
    assert fs.variant("a") is None
    assert fs.variant("b") is None
    assert fs.variants() == {"ab": "green"}
    assert fs.enabled_flags() == {"a", "ab"}
    assert fs.reason("a") == "set explicitly (FlagSet.from_mapping)"
    assert fs.is_enabled("missing")
    assert fs.account is None


def test_from_mapping_unknown_and_account() -> None:
    fs = FlagSet.from_mapping({"a": True}, unknown="hidden", account=ACCOUNT)
    assert not fs.is_enabled("missing")
    assert fs.account is ACCOUNT


@pytest.mark.parametrize("value", [1, 0, None, 1.0, ["green"], {"on": True}])
def test_from_mapping_rejects_other_values(value: object) -> None:
    with pytest.raises(TypeError, match="'a'"):
        FlagSet.from_mapping({"a": value})  # type: ignore[dict-item]


def test_from_mapping_rejects_non_string_names() -> None:
    with pytest.raises(TypeError, match="names must be str"):
        FlagSet.from_mapping({1: True})  # type: ignore[dict-item]


def test_from_mapping_does_not_follow_later_changes_of_the_mapping() -> None:
    values: dict[str, bool | str] = {"a": True}
    fs = FlagSet.from_mapping(values)
    values["a"] = False
    values["b"] = True
    assert fs["a"]
    assert fs.as_dict() == {"a": True}


# --- with_overrides --------------------------------------------------------------------------


def test_with_overrides_forces_values_and_variants() -> None:
    fs = evaluated()
    forced = fs.with_overrides({"on_for_all": False, "off_for_all": True, "ab": "green"})
    assert forced.as_dict() == {
        "on_for_all": False,
        "off_for_all": True,
        "ab": True,
        "killed": False,
    }
    assert forced.variant("ab") == "green"
    assert forced.reason("off_for_all") == "override"
    assert forced.reason("killed") == "kill switch: enabled is false"
    assert forced.account is ACCOUNT
    # The original is untouched.
    assert fs["on_for_all"]
    assert not fs["off_for_all"]


def test_overriding_a_variant_flag_off_clears_its_variant() -> None:
    forced = evaluated().with_overrides({"ab": False})
    assert not forced["ab"]
    assert forced.variant("ab") is None
    assert "ab" not in forced.variants()


def test_overrides_stack_and_cover_undefined_flags() -> None:
    fs = evaluated(unknown="hidden").with_overrides({"new_flag": True})
    again = fs.with_overrides({"on_for_all": False})
    assert again["new_flag"]
    assert not again["on_for_all"]
    assert not again["other_undefined"]
    assert again.as_dict()["new_flag"] is True
    assert "new_flag" in again.enabled_flags()


def test_override_on_keeps_a_computed_variant() -> None:
    fs = evaluated().with_overrides({"ab": True})
    assert fs.variant("ab") == evaluated().variant("ab")


# --- reading every value at once ---------------------------------------------------------------

MIXED: dict[str, Any] = {
    "test_users": ["tester"],
    "flags": {
        **{
            f"pct_{i}": {"strategies": [{"type": "percentage", "percent": 10 * i}]}
            for i in range(8)
        },
        "pct_and_list": {
            "strategies": [
                {"type": "percentage", "percent": 30},
                {"type": "accounts", "ids": ["acct-3", "acct-7"]},
            ]
        },
        "digit": {"strategies": [{"type": "last_digit", "digits": [1, 2, 3]}]},
        "ab": {
            "strategies": [{"type": "percentage", "percent": 60}],
            "variants": {"a": 50, "b": 50},
        },
        "killed": {"enabled": False, "strategies": [{"type": "everyone"}]},
        "everyone": {"strategies": [{"type": "everyone"}]},
    },
}


def one_by_one(fs: FlagSet) -> tuple[dict[str, bool], frozenset[str], dict[str, str]]:
    names = [*fs, *fs._overrides]
    values = {name: fs.is_enabled(name) for name in names}
    variants = {name: v for name in names if (v := fs.variant(name)) is not None}
    return values, frozenset(name for name, on in values.items() if on), variants


@pytest.mark.parametrize("overrides", [{}, {"pct_3": False, "killed": True, "undefined": "x"}])
def test_every_value_at_once_agrees_with_reading_each(overrides: dict[str, Any]) -> None:
    engine = Engine(Ruleset.from_dict(MIXED))
    seen = set()
    for i in range(300):
        fs = engine.evaluate_all(Account(id=f"acct-{i}", number=i)).with_overrides(overrides)
        assert (fs.as_dict(), fs.enabled_flags(), fs.variants()) == one_by_one(fs)
        seen.add(fs.variants().get("ab"))
        fs.as_dict()["everyone"] = False  # a copy: the next FlagSet is not affected
    assert seen == {"a", "b", None}  # the accounts cover both variants and the flag off


def test_every_value_at_once_for_a_deferred_evaluation() -> None:
    fs = Engine(Ruleset.from_dict(MIXED)).evaluate_all(Account(id="acct-5", number=5), lazy=True)
    assert (fs.as_dict(), fs.enabled_flags(), fs.variants()) == one_by_one(fs)


def test_a_hand_built_flagset_lists_only_the_names_it_defines() -> None:
    fs = FlagSet(frozenset({"a", "not_defined"}), ("a", "b"))
    assert fs.as_dict() == {"a": True, "b": False}
    assert fs.enabled_flags() == {"a"}
    listed = FlagSet(["a", "not_defined"], ("a", "b"))  # any Container
    assert listed.as_dict() == {"a": True, "b": False}
