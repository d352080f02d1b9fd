"""Reference semantics of ``schedule``: from ``after`` (inclusive) until ``before`` (exclusive)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from flagware import Account
from flagware.strategies import Schedule

AFTER = datetime(2026, 12, 1, tzinfo=timezone.utc).timestamp()
BEFORE = datetime(2027, 1, 1, tzinfo=timezone.utc).timestamp()
ACCOUNT = Account(id="acct-1", number=1)


def schedule(**bounds: Any) -> Schedule:
    return Schedule.model_validate(bounds)


WINDOW = schedule(after="2026-12-01T00:00:00Z", before="2027-01-01T00:00:00Z")


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (AFTER - 1, False),
        (AFTER - 0.001, False),
        (AFTER, True),  # after is inclusive
        (AFTER + 1, True),
        (BEFORE - 0.001, True),
        (BEFORE, False),  # before is exclusive
        (BEFORE + 1, False),
    ],
)
def test_window_bounds(now: float, expected: bool) -> None:
    assert WINDOW.matches_at(ACCOUNT, now, "flag") is expected


def test_only_after() -> None:
    strategy = schedule(after="2026-12-01T00:00:00Z")
    assert not strategy.matches_at(ACCOUNT, AFTER - 1, "flag")
    assert strategy.matches_at(ACCOUNT, AFTER, "flag")
    assert strategy.matches_at(ACCOUNT, AFTER + 10 * 365 * 86400, "flag")


def test_only_before() -> None:
    strategy = schedule(before="2027-01-01T00:00:00Z")
    assert strategy.matches_at(ACCOUNT, 0.0, "flag")
    assert strategy.matches_at(ACCOUNT, BEFORE - 1, "flag")
    assert not strategy.matches_at(ACCOUNT, BEFORE, "flag")


def test_offsets_are_honoured() -> None:
    # 01:00 at +01:00 is midnight UTC.
    strategy = schedule(after="2026-12-01T01:00:00+01:00")
    assert strategy.matches_at(ACCOUNT, AFTER, "flag")
    assert not strategy.matches_at(ACCOUNT, AFTER - 1, "flag")


def test_datetime_objects_are_accepted() -> None:
    strategy = schedule(after=datetime(2026, 12, 1, tzinfo=timezone.utc))
    assert strategy.matches_at(ACCOUNT, AFTER, "flag")
    assert not strategy.matches_at(ACCOUNT, AFTER - 1, "flag")


@pytest.mark.parametrize("account", [None, ACCOUNT, Account(id="other")])
def test_schedules_match_anonymous_requests_and_ignore_the_account(
    account: Account | None,
) -> None:
    assert WINDOW.matches_at(account, AFTER, "flag")
    assert not WINDOW.matches_at(account, BEFORE, "flag")


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone"):
        schedule(after=datetime(2026, 12, 1))  # naive: the point of the test
