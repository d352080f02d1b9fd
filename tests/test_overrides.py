"""The override header grammar, signed override tokens, and the log helpers."""

from __future__ import annotations

import logging
import random
import re
import types
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from itsdangerous import URLSafeSerializer

from flagware import overrides
from flagware.overrides import (
    MAX_HEADER_BYTES,
    MAX_OVERRIDES,
    RateLimitedLog,
    issue_override_token,
    parse_override_header,
    read_override_token,
    sanitize,
)

FLAG = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,99}\Z")
VARIANT = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}\Z")
SECRET = "token-secret"
NOW = 1_700_000_000.0


def _header(n: int, name_len: int = 4) -> str:
    """A valid header of ``n`` entries with names of ``name_len`` characters."""
    return ",".join(f"{'f' + str(i).zfill(name_len - 1)}=on" for i in range(n))


# --- parse_override_header: valid forms ---------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("beta=on", True),
        ("beta=ON", True),
        ("beta=On", True),
        ("beta=true", True),
        ("beta=TRUE", True),
        ("beta=1", True),
        ("beta=off", False),
        ("beta=OFF", False),
        ("beta=false", False),
        ("beta=False", False),
        ("beta=0", False),
        ("beta=green", "green"),
        ("beta=Green_2.b-c", "Green_2.b-c"),
        ("beta=_x", "_x"),
    ],
)
def test_values(raw: str, expected: bool | str) -> None:
    assert parse_override_header(raw) == {"beta": expected}


def test_several_entries_keep_their_order() -> None:
    parsed = parse_override_header("cool_feature=on, old_search=off, checkout_button=green")
    assert parsed == {"cool_feature": True, "old_search": False, "checkout_button": "green"}
    assert list(parsed) == ["cool_feature", "old_search", "checkout_button"]


@pytest.mark.parametrize(
    "raw",
    ["a=on,b=off", " a=on , b=off ", "a = on,\tb\t=\toff", "\ta=on,b=off\t", "a  =  on,   b=off"],
)
def test_spaces_and_tabs_around_tokens(raw: str) -> None:
    assert parse_override_header(raw) == {"a": True, "b": False}


def test_bytes_are_accepted() -> None:
    assert parse_override_header(b"beta=on, ab=green") == {"beta": True, "ab": "green"}


@pytest.mark.parametrize("name", ["_", "A", "a.b-c_d", "x" * 100, "Flag9"])
def test_flag_name_forms(name: str) -> None:
    assert parse_override_header(f"{name}=off") == {name: False}


def test_limits_are_inclusive() -> None:
    fifty = _header(MAX_OVERRIDES)
    parsed = parse_override_header(fifty)
    assert parsed is not None
    assert len(parsed) == MAX_OVERRIDES
    # Exactly MAX_HEADER_BYTES long, padded with spaces (which are allowed).
    exact = "beta=on" + " " * (MAX_HEADER_BYTES - len("beta=on"))
    assert len(exact) == MAX_HEADER_BYTES
    assert parse_override_header(exact) == {"beta": True}
    assert parse_override_header(exact.encode()) == {"beta": True}


# --- parse_override_header: rejected --------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(None, id="none"),
        pytest.param("", id="empty"),
        pytest.param(b"", id="empty-bytes"),
        pytest.param(" ", id="blank"),
        pytest.param("beta", id="missing-equals"),
        pytest.param("beta=on, alpha", id="missing-equals-second"),
        pytest.param("beta on", id="space-instead-of-equals"),
        pytest.param("beta:on", id="colon"),
        pytest.param("beta=", id="empty-value"),
        pytest.param("=on", id="empty-name"),
        pytest.param("beta=on,,alpha=off", id="empty-entry"),
        pytest.param("beta=on, ,alpha=off", id="blank-entry"),
        pytest.param("beta=on,", id="trailing-comma"),
        pytest.param(",beta=on", id="leading-comma"),
        pytest.param("beta=on;alpha=off", id="semicolon"),
        pytest.param("beta=on,beta=off", id="duplicate"),
        pytest.param("beta=on, beta =on", id="duplicate-same-value"),
        pytest.param("beta=on=off", id="two-equals"),
        pytest.param("1beta=on", id="name-starts-with-digit"),
        pytest.param("-beta=on", id="name-starts-with-dash"),
        pytest.param(".beta=on", id="name-starts-with-dot"),
        pytest.param("be ta=on", id="name-with-space"),
        pytest.param("be/ta=on", id="name-with-slash"),
        pytest.param("x" * 101 + "=on", id="name-too-long"),
        pytest.param("beta=2", id="value-digit"),
        pytest.param("beta=10", id="value-10"),
        pytest.param("beta=-1", id="value-negative"),
        pytest.param("beta=gr een", id="value-with-space"),
        pytest.param("beta=9green", id="value-starts-with-digit"),
        pytest.param("beta=green!", id="value-punctuation"),
        pytest.param("beta=" + "v" * 65, id="value-too-long"),
        pytest.param('beta="on"', id="quoted-value"),
        pytest.param("beta=grün", id="non-ascii-str"),
        pytest.param("bétä=on", id="non-ascii-name"),
        pytest.param(b"beta=gr\xc3\xbcn", id="non-ascii-utf8-bytes"),
        pytest.param(b"beta=\xff", id="non-utf8-bytes"),
        pytest.param(b"beta=on, x=\x80", id="high-byte"),
        pytest.param("beta=on\r\nSet-Cookie: x=y", id="crlf-injection"),
        pytest.param("beta=on\n", id="trailing-lf"),
        pytest.param("beta=on\r", id="trailing-cr"),
        pytest.param("beta=on\nalpha=off", id="lf-separator"),
        pytest.param("beta=on\x00", id="nul"),
        pytest.param(b"beta\x00=on", id="nul-bytes"),
        pytest.param("beta=on\x0b", id="vertical-tab"),
        pytest.param("beta=\u00a0on", id="nbsp"),
        pytest.param("beta=o\u200bn", id="zero-width-space"),
    ],
)
def test_malformed_headers_are_rejected_whole(raw: str | bytes | None) -> None:
    assert parse_override_header(raw) is None


def test_over_max_header_bytes_is_rejected() -> None:
    too_long = "beta=on" + " " * (MAX_HEADER_BYTES + 1 - len("beta=on"))
    assert parse_override_header(too_long) is None
    assert parse_override_header(too_long.encode()) is None


def test_a_valid_header_over_the_byte_limit_is_rejected() -> None:
    # 20 entries of 102+ bytes each: fewer than 50 entries, but over 2 KiB.
    long_names = _header(20, name_len=100)
    assert len(long_names) > MAX_HEADER_BYTES
    assert parse_override_header(long_names) is None


def test_over_max_entries_is_rejected() -> None:
    header = _header(MAX_OVERRIDES + 1)
    assert len(header) < MAX_HEADER_BYTES
    assert parse_override_header(header) is None


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(_header(10_000), id="10000-entries"),
        pytest.param("beta=on," * 12_500 + "beta=on", id="100KB-entries"),
        pytest.param("a" * 100_000 + "=on", id="100KB-name"),
        pytest.param(b"x=" + b"\xff" * 100_000, id="100KB-bytes"),
        pytest.param("," * 100_000, id="100KB-commas"),
    ],
)
def test_huge_headers_are_rejected(raw: str | bytes) -> None:
    assert parse_override_header(raw) is None


# --- parse_override_header: properties ----------------------------------------------------


def _check_result(raw: str | bytes, parsed: dict[str, bool | str] | None) -> None:
    if parsed is None:
        return
    size = len(raw.encode("utf-8")) if isinstance(raw, str) else len(raw)
    assert size <= MAX_HEADER_BYTES
    assert 1 <= len(parsed) <= MAX_OVERRIDES
    for name, value in parsed.items():
        assert FLAG.match(name)
        assert isinstance(value, bool) or (
            VARIANT.match(value) and value.lower() not in {"on", "off", "true", "false"}
        )


@given(st.text())
def test_arbitrary_text_never_raises(raw: str) -> None:
    _check_result(raw, parse_override_header(raw))


@given(st.binary())
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    _check_result(raw, parse_override_header(raw))


_ALPHABET = "abcXYZ_019.-=, \t\r\n\x00é"


@given(st.text(alphabet=_ALPHABET, max_size=80))
def test_near_miss_text_never_raises(raw: str) -> None:
    # A small alphabet of the grammar's own characters finds the edge cases faster.
    _check_result(raw, parse_override_header(raw))


_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,20}", fullmatch=True)
_variants = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,20}", fullmatch=True).filter(
    lambda v: v.lower() not in {"on", "off", "true", "false"}
)


def _render(value: bool | str) -> str:
    return "on" if value is True else "off" if value is False else value


@given(st.dictionaries(_names, st.booleans() | _variants, min_size=1, max_size=MAX_OVERRIDES))
def test_rendered_overrides_parse_back(wanted: dict[str, bool | str]) -> None:
    header = ", ".join(f"{name}={_render(value)}" for name, value in wanted.items())
    if len(header) <= MAX_HEADER_BYTES:
        assert parse_override_header(header) == wanted
        assert parse_override_header(header.encode()) == wanted
    else:
        assert parse_override_header(header) is None


# --- tokens ---------------------------------------------------------------------------------

GRANT: dict[str, bool | str] = {"beta": True, "old_search": False, "button": "green"}


def _issue(secret: overrides.Secret = SECRET, account: str = "acct-1", **kwargs: object) -> str:
    kwargs.setdefault("now", NOW)
    return issue_override_token(secret, account, GRANT, **kwargs)  # type: ignore[arg-type]


def test_token_round_trip() -> None:
    token = _issue()
    assert isinstance(token, str)
    assert read_override_token(SECRET, token, "acct-1", now=NOW) == GRANT


def test_token_round_trip_with_the_real_clock() -> None:
    token = issue_override_token(SECRET, "acct-1", {"beta": "green"})
    assert read_override_token(SECRET, token, "acct-1") == {"beta": "green"}


@pytest.mark.parametrize("other", ["acct-2", "acct-10", "acct-", "ACCT-1", "acct-1 ", ""])
def test_token_is_bound_to_its_account(other: str) -> None:
    assert read_override_token(SECRET, _issue(), other, now=NOW) is None


@pytest.mark.parametrize(
    ("ttl", "valid_until"),
    [(60, NOW + 60), (timedelta(minutes=5), NOW + 300), (1, NOW + 1)],
)
def test_token_expires(ttl: float | timedelta, valid_until: float) -> None:
    token = _issue(ttl=ttl)
    assert read_override_token(SECRET, token, "acct-1", now=NOW) == GRANT
    assert read_override_token(SECRET, token, "acct-1", now=valid_until - 0.5) == GRANT
    assert read_override_token(SECRET, token, "acct-1", now=valid_until) is None
    assert read_override_token(SECRET, token, "acct-1", now=valid_until + 86_400) is None


def test_token_issued_long_ago_is_expired_by_the_real_clock() -> None:
    token = _issue(now=NOW - 10 * 365 * 86_400)
    assert read_override_token(SECRET, token, "acct-1") is None


def _flip(char: str) -> str:
    return "A" if char != "A" else "B"


def test_tampered_signature_is_rejected() -> None:
    token = _issue()
    payload, _, signature = token.rpartition(".")
    for i in (0, len(signature) // 2, len(signature) - 1):
        forged = signature[:i] + _flip(signature[i]) + signature[i + 1 :]
        assert read_override_token(SECRET, f"{payload}.{forged}", "acct-1", now=NOW) is None
    assert read_override_token(SECRET, payload, "acct-1", now=NOW) is None
    assert read_override_token(SECRET, payload + ".", "acct-1", now=NOW) is None


def test_tampered_payload_is_rejected() -> None:
    token = _issue()
    other = _issue(account="acct-2")
    payload, _, signature = token.rpartition(".")
    other_payload = other.rpartition(".")[0]
    # acct-2's payload under acct-1's signature.
    assert read_override_token(SECRET, f"{other_payload}.{signature}", "acct-2", now=NOW) is None
    forged = _flip(payload[0]) + payload[1:]
    assert read_override_token(SECRET, f"{forged}.{signature}", "acct-1", now=NOW) is None


def test_token_signed_with_another_salt_is_rejected() -> None:
    # Same secret, but not a flagware override token (e.g. the app's session cookie).
    foreign = URLSafeSerializer(SECRET, salt="session").dumps(
        {"a": "acct-1", "o": "beta=on", "e": int(NOW) + 60}
    )
    assert read_override_token(SECRET, foreign, "acct-1", now=NOW) is None


@pytest.mark.parametrize(
    "payload",
    [
        ["acct-1", "beta=on", 2_000_000_000],
        "beta=on",
        {"a": "acct-1", "o": "beta=on"},
        {"a": "acct-1", "o": "beta=on", "e": "2000000000"},
        {"a": "acct-1", "o": "beta=on", "e": 2_000_000_000.5},
        {"a": 1, "o": "beta=on", "e": 2_000_000_000},
        {"a": "acct-1", "o": {"beta": True}, "e": 2_000_000_000},
        {"a": "acct-1", "o": "beta=maybe!", "e": 2_000_000_000},
    ],
)
def test_genuine_signature_over_a_malformed_payload_is_rejected(payload: object) -> None:
    # Signed with the real secret and salt: only the payload checks stand in the way.
    token = URLSafeSerializer(SECRET, salt=overrides._TOKEN_SALT).dumps(payload)
    assert read_override_token(SECRET, token, "acct-1", now=NOW) is None


@pytest.mark.parametrize("wrong", ["token-secret ", "Token-secret", b"other", ["other"]])
def test_wrong_secret_is_rejected(wrong: overrides.Secret) -> None:
    assert read_override_token(wrong, _issue(), "acct-1", now=NOW) is None


def test_key_rotation() -> None:
    old_token = _issue(secret="old")
    new_token = _issue(secret=["old", "new"])
    assert read_override_token(["old", "new"], old_token, "acct-1", now=NOW) == GRANT
    assert read_override_token(["old", "new"], new_token, "acct-1", now=NOW) == GRANT
    # The last secret signs.
    assert read_override_token("new", new_token, "acct-1", now=NOW) == GRANT
    assert read_override_token("old", new_token, "acct-1", now=NOW) is None
    # Once the old secret is retired, its tokens stop working.
    assert read_override_token(["new"], old_token, "acct-1", now=NOW) is None


def test_bytes_secret() -> None:
    token = _issue(secret=b"\x00binary\xff")
    assert read_override_token(b"\x00binary\xff", token, "acct-1", now=NOW) == GRANT


@pytest.mark.parametrize("ttl", [0, -1, 0.0, -0.5, timedelta(0), timedelta(seconds=-5)])
def test_non_positive_ttl_raises(ttl: float | timedelta) -> None:
    with pytest.raises(ValueError, match="ttl"):
        _issue(ttl=ttl)


@pytest.mark.parametrize(
    "grant",
    [
        {"1beta": True},
        {"be ta": True},
        {"beta": "on"},
        {"beta": "OFF"},
        {"beta": "true"},
        {"beta": "gr een"},
        {"beta": "9x"},
        {"beta": ""},
        {"beta": None},
        {"x" * 101: True},
        {f"f{i}": True for i in range(MAX_OVERRIDES + 1)},
        {f"{'f' * 95}{i:04d}": True for i in range(30)},
    ],
)
def test_invalid_overrides_raise_at_issue_time(grant: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        issue_override_token(SECRET, "acct-1", grant, now=NOW)  # type: ignore[arg-type]


@pytest.mark.parametrize("secret", ["", b"", []])
def test_empty_secret_raises(secret: overrides.Secret) -> None:
    with pytest.raises(ValueError, match="secret"):
        issue_override_token(secret, "acct-1", {"beta": True})


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(None, id="none"),
        pytest.param("", id="empty"),
        pytest.param("garbage", id="garbage"),
        pytest.param("a.b.c.d", id="dots"),
        pytest.param("\x00\r\n.é", id="control-and-non-ascii"),
        pytest.param("x" * 100_000, id="100KB"),
        pytest.param("e30." + "A" * 1_000_000, id="1MB"),
    ],
)
def test_junk_tokens_are_rejected(token: str | None) -> None:
    assert read_override_token(SECRET, token, "acct-1", now=NOW) is None


def test_oversized_genuine_token_is_rejected() -> None:
    # Correctly signed, but far over the size any issued token can have (the padding is
    # random so that itsdangerous cannot compress it away).
    pad = random.Random(0).randbytes(20_000).hex()
    token = URLSafeSerializer(SECRET, salt=overrides._TOKEN_SALT).dumps(
        {"a": "acct-1", "o": "beta=on", "e": 2_000_000_000, "pad": pad}
    )
    assert len(token) > 4 * MAX_HEADER_BYTES
    assert read_override_token(SECRET, token, "acct-1", now=NOW) is None


# --- RateLimitedLog and sanitize ------------------------------------------------------------


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "flagware"]


def test_rate_limited_log_holds_back_repeats(caplog: pytest.LogCaptureFixture) -> None:
    log = RateLimitedLog(interval=3600)
    with caplog.at_level(logging.WARNING, logger="flagware"):
        for i in range(20):
            log.warning("refused %s", i)
    assert _messages(caplog) == ["refused 0"]
    assert caplog.records[0].levelno == logging.WARNING


def test_rate_limited_log_logs_again_after_the_interval(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(overrides, "time", types.SimpleNamespace(monotonic=lambda: clock[0]))
    log = RateLimitedLog(interval=0.05)
    with caplog.at_level(logging.WARNING, logger="flagware"):
        log.warning("first")
        clock[0] += 0.01
        log.warning("held")
        log.warning("held")
        log.warning("held")
        clock[0] += 0.05
        log.warning("second %s", "call")
        clock[0] += 0.06
        log.warning("third")
    assert _messages(caplog) == [
        "first",
        "second call (3 similar messages suppressed)",
        "third",
    ]


def test_rate_limited_logs_are_independent(caplog: pytest.LogCaptureFixture) -> None:
    one, two = RateLimitedLog(interval=3600), RateLimitedLog(interval=3600)
    with caplog.at_level(logging.WARNING, logger="flagware"):
        one.warning("one")
        two.warning("two")
        one.warning("one again")
    assert _messages(caplog) == ["one", "two"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "None"),
        ("", "''"),
        ("beta=on", "'beta=on'"),
        ("a\r\nSet-Cookie: x", "'a??Set-Cookie: x'"),
        ("nul\x00tab\tesc\x1bdel\x7f", "'nul?tab?esc?del?'"),
        ("grün\u2028", "'gr?n?'"),
        (b"bytes\xff\x00", "'bytes??'"),
        ("quote'\"\\", repr("quote'\"\\")),
    ],
)
def test_sanitize(value: str | bytes | None, expected: str) -> None:
    assert sanitize(value) == expected


def test_sanitize_truncates() -> None:
    assert sanitize("x" * 80) == repr("x" * 80)
    assert sanitize("x" * 81) == repr("x" * 80 + "...")
    assert sanitize("y" * 1_000_000) == repr("y" * 80 + "...")
    assert sanitize("abcdef", limit=3) == repr("abc...")
    assert sanitize(b"\n" * 100, limit=5) == repr("?????...")


@given(st.text() | st.binary())
def test_sanitize_output_is_printable_ascii(value: str | bytes) -> None:
    clean = sanitize(value)
    assert all(" " <= c <= "~" for c in clean)
    # At most 83 characters, each escaped to two at worst by repr, plus the quotes.
    assert len(clean) <= 2 * (80 + len("...")) + 2
