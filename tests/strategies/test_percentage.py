"""Reference semantics of ``percentage``: a stable, salted, monotonic slice of account ids."""

from __future__ import annotations

import itertools

import pytest

from flagware import Account
from flagware.strategies import Percentage, hashing

NOW = 1_800_000_000.0
IDS = [f"acct-{i}" for i in range(4000)]


def pct(percent: float) -> Percentage:
    return Percentage.model_validate({"percent": percent})


def released(percent: float, salt: str = "flag") -> set[str]:
    strategy = pct(percent)
    return {i for i in IDS if strategy.matches_at(Account(id=i), NOW, salt)}


def test_zero_percent_matches_nobody() -> None:
    assert released(0) == set()


def test_hundred_percent_matches_everybody() -> None:
    assert released(100) == set(IDS)


@pytest.mark.parametrize("percent", [10, 12.5, 50, 90])
def test_the_share_released_is_about_the_percentage(percent: float) -> None:
    share = len(released(percent)) / len(IDS) * 100
    assert abs(share - percent) < 3


def test_raising_the_percentage_only_adds_accounts() -> None:
    steps = [released(p) for p in (1, 5, 12.5, 12.51, 30, 70, 99.99)]
    for smaller, larger in itertools.pairwise(steps):
        assert smaller <= larger
        assert len(smaller) <= len(larger)


def test_the_decision_is_stable() -> None:
    assert released(25) == released(25)


def test_the_salt_picks_an_independent_slice() -> None:
    a, b = released(20, "flag_a"), released(20, "flag_b")
    assert a != b
    # Independent slices of 20 % overlap in about 4 % of accounts, not 20 %.
    assert len(a & b) / len(IDS) < 0.08


def test_the_bucket_decides_at_the_basis_point() -> None:
    # An account in bucket 1249 is inside 12.5 % (buckets 0..1249) but not 12.49 %.
    account_id = next(
        i for i in (f"u{n}" for n in range(100_000)) if hashing.bucket("f", i) == 1249
    )
    account = Account(id=account_id)
    assert pct(12.5).matches_at(account, NOW, "f")
    assert not pct(12.49).matches_at(account, NOW, "f")


def test_the_decision_ignores_number_attributes_and_time() -> None:
    strategy = pct(50)
    base = strategy.matches_at(Account(id="acct-1"), NOW, "flag")
    other = Account(id="acct-1", number=7, attributes={"country": "NL"})
    assert strategy.matches_at(other, 0.0, "flag") is base


def test_anonymous_requests_never_match_even_at_100_percent() -> None:
    assert not pct(100).matches_at(None, NOW, "flag")
