"""Audit records: a damaged entry is read for what it holds, never raises; a Change built by
hand (it is public) works as before."""

from __future__ import annotations

import math
from typing import Any

import pytest

import flagware
from flagware._presenting import UNKNOWN_TIME, local_time, time_ago, utc_time
from flagware.stores.audit import parse_audit_entry

GOOD: dict[bytes, bytes] = {
    b"version": b"7",
    b"previous": b"6",
    b"actor": b"ann",
    b"at": b"1700000000.5",
    b"action": b"set_flag",
    b"summary": b'{"flags_changed": ["beta"], "unknown": "hidden"}',
    b"doc": b'{"flags": {"beta": {}}, "test_users": ["t"]}',
}


def test_a_good_entry_reads_whole() -> None:
    change = parse_audit_entry(GOOD)
    assert change == flagware.Change(
        7, 6, "ann", 1700000000.5, "set_flag",
        {"flags_changed": ["beta"], "unknown": "hidden"},
        {"flags": {"beta": {}}, "test_users": ["t"]},
    )  # fmt: skip
    assert change.unreadable == ()


def test_the_constructor_keeps_its_arguments() -> None:
    by_name = flagware.Change(
        version=2,
        previous_version=1,
        actor="ann",
        at=0.0,
        action="save",
        summary={},
        document={},
    )
    assert by_name.unreadable == ()
    assert flagware.Change(2, 1, "ann", 0.0, "save", {}, {}, ("actor",)).unreadable == ("actor",)


@pytest.mark.parametrize(
    ("field", "value", "unreadable"),
    [
        (b"previous", b"-1", "previous_version"),
        (b"previous", "\u0663".encode(), "previous_version"),
        (b"actor", b"\xc3", "actor"),
        (b"action", b"\x80", "action"),
        (b"at", b"NaN", "at"),
        (b"at", b"-inf", "at"),
        (b"at", b"253402300800", "at"),  # one second after 9999-12-31 23:59:59 UTC
        (b"at", b"1" * 100, "at"),
        (b"summary", b'{"unknown": 1}', "summary"),
        (b"summary", b"null", "summary"),
        (b"doc", b'{"flags": {"beta": []}}', "document"),
        (b"doc", b'{"test_users": [1]}', "document"),
        (b"doc", b'{"flags": {}, "x": ' + b"[" * 70 + b"]" * 70 + b"}", "document"),
    ],
)
def test_a_damaged_field_is_named_and_given_a_placeholder(
    field: bytes, value: bytes, unreadable: str
) -> None:
    change = parse_audit_entry({**GOOD, field: value})
    assert change is not None
    assert change.unreadable == (unreadable,)
    placeholders: dict[str, Any] = {
        "previous_version": -1,
        "summary": {},
        "document": {},
        "actor": value.decode("utf-8", "replace"),
        "action": value.decode("utf-8", "replace"),
    }
    if unreadable == "at":
        assert math.isnan(change.at)
    else:
        assert getattr(change, unreadable) == placeholders[unreadable]
    assert change.version == 7


def test_an_entry_that_is_not_a_mapping_or_has_no_version_is_dropped() -> None:
    assert parse_audit_entry([(b"version", b"1")]) is None  # type: ignore[arg-type]
    assert parse_audit_entry({k: v for k, v in GOOD.items() if k != b"version"}) is None
    assert parse_audit_entry({**GOOD, b"version": b"\xff"}) is None
    assert parse_audit_entry({**GOOD, b"version": b"1" * 20}) is None


@pytest.mark.parametrize(
    "summary",
    [["beta"], "beta", "beta2", 7, None, {"flags_changed": "beta2"}, {"flags_added": [1, None]}],
)
def test_touches_never_raises_and_never_matches_part_of_a_name(summary: Any) -> None:
    change = flagware.Change(1, 0, "a", 0.0, "save", summary, {})
    assert change.touches("beta") is False
    assert change.touched_flags() == []


@pytest.mark.parametrize("at", [math.nan, math.inf, -math.inf, 1e20, -1e20, 1e300])
def test_times_out_of_range_read_unknown(at: float) -> None:
    assert utc_time(at) == UNKNOWN_TIME
    assert local_time(at) == UNKNOWN_TIME
    assert time_ago(at, 1700000000.0) == UNKNOWN_TIME


def test_times_in_range_are_shown() -> None:
    assert utc_time(0.0) == "1970-01-01 00:00:00 UTC"
    assert local_time(1700000000.0).startswith("2023-11-")
    assert time_ago(1700000000.0 - 150, 1700000000.0) == "2 min ago"
