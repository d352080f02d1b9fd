"""The CLI's small parsers and the ``set`` edit rules, without a store."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from flagware.cli.connect import redact
from flagware.cli.editing import FlagEdit, apply_edit
from flagware.cli.evaluate import parse_attribute, parse_instant
from flagware.cli.tokens import parse_ttl


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("1h", 3600), ("2d", 172800), ("1.5h", 5400), ("45", 45),
     (" 10M ", 600), ("365d", 365 * 86400)],
)  # fmt: skip
def test_ttl_units(text: str, seconds: float) -> None:
    assert parse_ttl(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "0s", "0", "-5m", "1y", "1 h 5m", "366d", "1e3s", "inf"])
def test_ttl_refuses_what_is_not_a_positive_duration_up_to_a_year(text: str) -> None:
    with pytest.raises(ValueError):
        parse_ttl(text)


@pytest.mark.parametrize(
    ("text", "pair"),
    [
        ("plan=pro", ("plan", "pro")),
        ("age:=42", ("age", 42)),
        ("ratio:=0.5", ("ratio", 0.5)),
        ("beta:=true", ("beta", True)),
        ('tags:=["a", "b"]', ("tags", ["a", "b"])),
        ("note=a=b", ("note", "a=b")),
        ("empty=", ("empty", "")),
        ("age=42", ("age", "42")),  # without ':' a value stays a string
    ],
)
def test_attributes(text: str, pair: tuple[str, Any]) -> None:
    assert parse_attribute(text) == pair


@pytest.mark.parametrize("text", ["plan", "=pro", ":=1", "age:=4x", "name:=pro"])
def test_attributes_refuse_what_they_cannot_read(text: str) -> None:
    with pytest.raises(ValueError):
        parse_attribute(text)


def test_instants_with_and_without_an_offset() -> None:
    assert parse_instant("2030-01-01T00:00:00Z") == datetime(2030, 1, 1, tzinfo=timezone.utc)
    plus_two = parse_instant("2030-01-01T12:00:00+02:00")
    assert plus_two.utcoffset() == timedelta(hours=2)
    local = parse_instant("2030-01-01T12:00")
    assert local.tzinfo is not None  # local time, made explicit
    assert local.replace(tzinfo=None) == datetime(2030, 1, 1, 12, 0)
    with pytest.raises(ValueError):
        parse_instant("next tuesday")


def test_redact_hides_only_the_password() -> None:
    assert redact("redis://user:pw@host:6379/0") == "redis://user:***@host:6379/0"
    assert redact("redis://:pw@host:6379/0") == "redis://:***@host:6379/0"
    assert redact("redis://host:6379/0") == "redis://host:6379/0"


FLAG: dict[str, Any] = {
    "description": "New checkout",
    "strategies": [
        {"type": "percentage", "percent": 10.0, "when": [{"attribute": "plan", "op": "eq",
                                                          "values": ["pro"]}]},
        {"type": "accounts", "ids": ["acct-42", "acct-7"]},
        {"type": "percentage", "percent": 5.0},
        {"type": "schedule", "after": "2030-01-01T00:00:00Z"},
    ],
}  # fmt: skip


def edited(change: FlagEdit) -> tuple[dict[str, Any], list[str]]:
    flag = copy.deepcopy(FLAG)
    notes = apply_edit(flag, change)
    return flag, notes


def test_percent_replaces_the_plain_percentage_only() -> None:
    flag, _ = edited(FlagEdit(percent=25))
    assert flag["strategies"][0] == FLAG["strategies"][0]  # conditional: untouched
    assert flag["strategies"][2] == {"type": "percentage", "percent": 25}
    assert len(flag["strategies"]) == 4


def test_percent_is_appended_when_there_is_no_plain_one_and_zero_removes_it() -> None:
    flag = {"strategies": [copy.deepcopy(FLAG["strategies"][0])]}
    apply_edit(flag, FlagEdit(percent=25))
    assert flag["strategies"][1] == {"type": "percentage", "percent": 25}
    apply_edit(flag, FlagEdit(percent=0))
    assert flag["strategies"] == [FLAG["strategies"][0]]


def test_accounts_replace_add_and_remove() -> None:
    flag, _ = edited(FlagEdit(accounts=("a", "b", "a")))
    assert flag["strategies"][1] == {"type": "accounts", "ids": ["a", "b"]}
    flag, notes = edited(
        FlagEdit(add_accounts=("acct-1", "acct-7"), remove_accounts=("acct-42", "nobody"))
    )
    assert flag["strategies"][1] == {"type": "accounts", "ids": ["acct-7", "acct-1"]}
    assert notes == ["acct-7 was already listed", "nobody was not listed"]


def test_an_emptied_account_list_removes_the_strategy() -> None:
    for change in (FlagEdit(accounts=()), FlagEdit(remove_accounts=("acct-42", "acct-7"))):
        flag, _ = edited(change)
        assert [s["type"] for s in flag["strategies"]] == ["percentage", "percentage", "schedule"]


def test_last_digits_everyone_and_description() -> None:
    flag, _ = edited(FlagEdit(last_digits=(3, 1, 3), everyone=True, description=""))
    assert flag["strategies"][-2:] == [{"type": "last_digit", "digits": [1, 3]},
                                       {"type": "everyone"}]  # fmt: skip
    assert "description" not in flag
    apply_edit(flag, FlagEdit(last_digits=(), everyone=False, description="Back"))
    assert flag["strategies"] == FLAG["strategies"]
    assert flag["description"] == "Back"


def test_an_empty_edit_is_empty() -> None:
    assert FlagEdit().is_empty()
    assert not FlagEdit(everyone=False).is_empty()
    flag, notes = edited(FlagEdit())
    assert (flag, notes) == (FLAG, [])
