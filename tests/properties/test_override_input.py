"""Override headers and tokens, fuzzed.

The header parser never raises, on any text or bytes (non-ASCII, control characters, huge),
and whatever it accepts is well formed and renders back to itself. Token verification
never raises, and accepts only the very token that was issued, for its own account and
with its own secret.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
from hypothesis import assume, event, given
from hypothesis import strategies as st
from itsdangerous.encoding import base64_decode

from flagware.overrides import (
    MAX_HEADER_BYTES,
    MAX_OVERRIDES,
    issue_override_token,
    parse_override_header,
    read_override_token,
)
from flagware.ruleset.parse import FLAG_NAME, RESERVED_VARIANTS, VARIANT_NAME
from tests.properties.generators import FLAG_NAME as flag_names
from tests.properties.generators import VARIANT_NAME as variant_names
from tests.properties.generators import override_headers, token_mutations

WELL_FORMED_NAME = re.compile(FLAG_NAME.removesuffix("$") + r"\Z")
WELL_FORMED_VARIANT = re.compile(VARIANT_NAME.removesuffix("$") + r"\Z")
NOW = 1_780_000_000.0
SECRET = "properties-token-secret"


def render(overrides: dict[str, Any]) -> str:
    return ", ".join(
        f"{name}={'on' if v is True else 'off' if v is False else v}"
        for name, v in overrides.items()
    )


def assert_well_formed(raw: str | bytes, parsed: dict[str, Any] | None) -> None:
    event("refused" if parsed is None else "parsed")
    if parsed is None:
        return
    as_bytes = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    assert len(as_bytes) <= MAX_HEADER_BYTES
    assert as_bytes.isascii()
    assert 1 <= len(parsed) <= MAX_OVERRIDES
    for name, value in parsed.items():
        assert WELL_FORMED_NAME.match(name), name
        if not isinstance(value, bool):
            assert isinstance(value, str)
            assert WELL_FORMED_VARIANT.match(value), value
            assert value.lower() not in RESERVED_VARIANTS | {"1", "0"}
    # What the parser accepted means the same once rendered again (tokens carry it so).
    assert parse_override_header(render(parsed)) == parsed


@given(override_headers)
def test_the_header_parser_never_raises_and_accepts_only_well_formed_overrides(
    raw: str | bytes,
) -> None:
    assert_well_formed(raw, parse_override_header(raw))


@given(st.dictionaries(flag_names, st.booleans() | variant_names, min_size=1, max_size=60))
def test_rendered_overrides_parse_back_unless_over_the_limits(wanted: dict[str, Any]) -> None:
    header = render(wanted)
    parsed = parse_override_header(header)
    if len(header) <= MAX_HEADER_BYTES and len(wanted) <= MAX_OVERRIDES:
        assert parsed == wanted
    else:
        assert parsed is None


# --- Tokens. ---------------------------------------------------------------------------------

account_ids = st.sampled_from(["acct-1", "acct-2", "testuser1"]) | st.text(min_size=1)
grants = st.dictionaries(flag_names, st.booleans() | variant_names, min_size=1, max_size=5)
secrets_ = st.sampled_from([SECRET, "other", b"bytes-secret"]) | st.text(min_size=1, max_size=20)


@given(st.text(st.characters(exclude_categories=()), max_size=300), account_ids)
def test_arbitrary_strings_are_never_accepted_as_tokens(token: str, account: str) -> None:
    assert read_override_token(SECRET, token, account, now=NOW) is None


@given(st.data(), account_ids, grants, secrets_)
def test_a_mutated_token_is_never_accepted(
    data: st.DataObject, account: str, grant: dict[str, Any], secret: str
) -> None:
    token = issue_override_token(secret, account, grant, ttl=3600, now=NOW)
    assert read_override_token(secret, token, account, now=NOW) == grant
    mutated = data.draw(token_mutations(token), label="mutated")
    assume(mutated != token)
    assert read_override_token(secret, mutated, account, now=NOW) is None


def _key(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def _respelled(token: str) -> list[str]:
    """Other spellings of ``token`` that itsdangerous decodes to the same bytes."""
    payload, _, signature = token.rpartition(".")
    decoded = base64_decode(signature)
    last = [
        c
        for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        if c != signature[-1] and base64_decode(signature[:-1] + c) == decoded
    ]
    assert last  # a 20-byte signature leaves 2 bits of its last character unused
    return [
        f"{payload}.{signature[:-1]}{last[0]}",  # the unused low bits set differently
        token + "\x80",  # non-ASCII characters in the signature were skipped
        f"{payload}.{signature[:5]}!{signature[5:]}",  # so were ASCII ones outside base64url
        f"{payload}.{signature}==",  # and padding
        f"{payload}.{signature[:9]}\n{signature[9:]}",
    ]


def test_a_token_respelled_to_decode_the_same_is_refused() -> None:
    """Found by test_a_mutated_token_is_never_accepted: the signature's lenient decoding
    let several spellings of one token verify (issue 9, fuzzing)."""
    for compressible in (False, True):  # a long grant compresses: the payload starts with "."
        grant: dict[str, Any] = {f"flag_{i}": True for i in range(30 if compressible else 1)}
        token = issue_override_token(SECRET, "acct-1", grant, now=NOW)
        assert token.startswith(".") is compressible
        assert read_override_token(SECRET, token, "acct-1", now=NOW) == grant
        for respelled in _respelled(token):
            assert read_override_token(SECRET, respelled, "acct-1", now=NOW) is None, respelled


@pytest.mark.parametrize(
    ("ttl", "now"),
    [
        pytest.param(1, math.inf, id="now-inf"),  # found by the property below: OverflowError
        pytest.param(math.inf, NOW, id="ttl-inf"),
        pytest.param(math.nan, NOW, id="ttl-nan"),  # was a ValueError about NaN to integer
        pytest.param(10**400, NOW, id="ttl-beyond-float"),
        pytest.param(1e308, 1e308, id="sum-overflows"),
        pytest.param(60, math.nan, id="now-nan"),
    ],
)
def test_a_ttl_or_time_that_makes_no_expiry_is_a_value_error(ttl: float, now: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        issue_override_token(SECRET, "acct-1", {"beta": True}, ttl=ttl, now=now)


@given(account_ids, account_ids, grants, secrets_, secrets_)
def test_a_token_is_accepted_only_for_its_account_and_with_its_secret(
    owner: str, other: str, grant: dict[str, Any], secret: str, other_secret: str
) -> None:
    token = issue_override_token(secret, owner, grant, ttl=60, now=NOW)
    assert read_override_token(secret, token, owner, now=NOW) == grant
    assert read_override_token(secret, token, owner, now=NOW + 60) is None  # expired
    if other != owner:
        assert read_override_token(secret, token, other, now=NOW) is None
    if _key(other_secret) != _key(secret):
        assert read_override_token(other_secret, token, owner, now=NOW) is None
    # A rotated key list still verifies it while it holds the old key.
    assert read_override_token([secret, "newer"], token, owner, now=NOW) == grant


@given(
    grants,
    st.floats(allow_nan=True, allow_infinity=True)
    | st.integers(-(10**30), 10**30)
    | st.sampled_from([10**400, -(10**400)]),
    st.floats(allow_nan=True, allow_infinity=True) | st.none(),
)
def test_issuing_a_token_takes_any_ttl_and_time_or_refuses_with_value_error(
    grant: dict[str, Any], ttl: float, now: float | None
) -> None:
    try:
        token = issue_override_token(SECRET, "acct-1", grant, ttl=ttl, now=now)
    except ValueError:
        return
    assert read_override_token(SECRET, token, "acct-1", now=now) in (grant, None)
