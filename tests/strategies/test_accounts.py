"""Reference semantics of ``accounts`` (allowlists), ``last_digit`` and ``everyone``."""

from __future__ import annotations

import pytest

from flagware import Account
from flagware.strategies import Accounts, Everyone, LastDigit

NOW = 1_800_000_000.0
SALT = "flag"


def last_digit(*digits: int) -> LastDigit:
    return LastDigit.model_validate({"digits": list(digits)})


# --- accounts ------------------------------------------------------------------------------


def test_accounts_matches_exactly_the_listed_ids() -> None:
    strategy = Accounts.model_validate({"ids": ["acct-42", "acct-7"]})
    assert strategy.matches_at(Account(id="acct-42"), NOW, SALT)
    assert strategy.matches_at(Account(id="acct-7"), NOW, SALT)
    assert not strategy.matches_at(Account(id="acct-4"), NOW, SALT)
    assert not strategy.matches_at(Account(id="ACCT-42"), NOW, SALT)
    assert not strategy.matches_at(Account(id="acct-42 "), NOW, SALT)


def test_accounts_ignores_number_and_attributes() -> None:
    strategy = Accounts.model_validate({"ids": ["acct-42"]})
    assert not strategy.matches_at(
        Account(id="other", number=42, attributes={"id": "acct-42"}), NOW, SALT
    )


def test_accounts_never_matches_anonymous_requests() -> None:
    assert not Accounts.model_validate({"ids": ["acct-42"]}).matches_at(None, NOW, SALT)


# --- last_digit ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "expected"),
    [(4211, True), (2, True), (1, True), (0, False), (10, False), (4213, False), (12, True)],
)
def test_last_digit_uses_the_account_number(number: int, expected: bool) -> None:
    assert last_digit(1, 2).matches_at(Account(id="x", number=number), NOW, SALT) is expected


@pytest.mark.parametrize(("number", "expected"), [(-1, True), (-4211, True), (-3, False)])
def test_last_digit_of_a_negative_number_ignores_the_sign(number: int, expected: bool) -> None:
    assert last_digit(1).matches_at(Account(id="x", number=number), NOW, SALT) is expected


def test_last_digit_zero() -> None:
    strategy = last_digit(0)
    assert strategy.matches_at(Account(id="x", number=0), NOW, SALT)
    assert strategy.matches_at(Account(id="x", number=1230), NOW, SALT)
    assert not strategy.matches_at(Account(id="x", number=1231), NOW, SALT)


def test_last_digit_without_a_number_never_matches() -> None:
    strategy = last_digit(*range(10))
    assert not strategy.matches_at(Account(id="acct-41"), NOW, SALT)
    assert not strategy.matches_at(Account(id="1", attributes={"number": 1}), NOW, SALT)


def test_last_digit_never_matches_anonymous_requests() -> None:
    assert not last_digit(*range(10)).matches_at(None, NOW, SALT)


def test_all_ten_digits_match_every_numbered_account() -> None:
    strategy = last_digit(*range(10))
    assert all(strategy.matches_at(Account(id="x", number=n), NOW, SALT) for n in range(-25, 25))


def test_account_last_digit_property() -> None:
    assert Account(id="x", number=4211).last_digit == 1
    assert Account(id="x", number=-4217).last_digit == 7
    assert Account(id="x").last_digit is None


@pytest.mark.parametrize("number", [True, "42", 4.0])
def test_account_number_must_be_an_int(number: object) -> None:
    with pytest.raises(TypeError, match=r"Account\.number"):
        Account(id="x", number=number)  # type: ignore[arg-type]


# --- everyone ------------------------------------------------------------------------------


@pytest.mark.parametrize("account", [None, Account(id="x"), Account(id="y", number=3)])
def test_everyone_matches_every_request_including_anonymous(account: Account | None) -> None:
    assert Everyone().matches_at(account, NOW, SALT)
