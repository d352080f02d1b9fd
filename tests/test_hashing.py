"""Bucketing is a public contract: these values must never change.

Changing the hash re-buckets every account, so a 10 % rollout would suddenly reach a
different 10 %. The golden values below were computed once and are pinned forever.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections import Counter

import mmh3
from hypothesis import given
from hypothesis import strategies as st

from flagware import Account, Engine, Ruleset
from flagware.strategies import Percentage, hashing

# (salt, account id, bucket) -- pinned; do not "fix" these if they fail.
GOLDEN_BUCKETS = [
    ("cool_feature", "acct-42", 9348),
    ("cool_feature", "acct-7", 6641),
    ("cool_feature", "acct-1000", 2239),
    ("checkout_button", "acct-42", 3372),
    ("checkout_button:variant", "acct-42", 5309),
    ("beta", "user-1", 1421),
    ("beta", "ünïcødé", 106),
    ("", "acct-42", 6567),
    ("x", "a", 1104),
]

# (salt, seed) -- pinned.
GOLDEN_SEEDS = [
    ("cool_feature", 4154148387),
    ("checkout_button", 3204949709),
    ("checkout_button:variant", 3442885520),
    ("beta", 2022730153),
    ("", 0),
    ("ünïcødé", 2210329462),
]

ids = st.text(min_size=1, max_size=40)
salts = st.text(max_size=40)
raw_hashes = st.integers(min_value=0, max_value=2**32 - 1)
points = st.integers(min_value=0, max_value=hashing.BUCKETS)


def murmur3_x86_32(data: bytes, seed: int) -> int:
    """A plain-Python MurmurHash3 (x86, 32-bit), independent of the mmh3 package."""
    c1, c2, mask = 0xCC9E2D51, 0x1B873593, 0xFFFFFFFF

    def rotl(x: int, r: int) -> int:
        return ((x << r) | (x >> (32 - r))) & mask

    h = seed & mask
    whole = len(data) // 4 * 4
    for i in range(0, whole, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = rotl((k * c1) & mask, 15) * c2 & mask
        h = (rotl(h ^ k, 13) * 5 + 0xE6546B64) & mask
    tail = data[whole:]
    if tail:
        k = int.from_bytes(tail, "little")
        k = rotl((k * c1) & mask, 15) * c2 & mask
        h ^= k
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & mask
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & mask
    return h ^ (h >> 16)


def independent_bucket(salt: str, account_id: str) -> int:
    seed = mmh3.hash(salt.encode("utf-8"), 0, signed=False)
    return mmh3.hash(account_id.encode("utf-8"), seed, signed=False) * 10000 >> 32


def engine(flags: dict[str, object], **top: object) -> Engine:
    return Engine(Ruleset.from_dict({"flags": flags, **top}))


def percentage_flag(percent: float, **extra: object) -> dict[str, object]:
    return {"strategies": [{"type": "percentage", "percent": percent}], **extra}


def synthetic_accounts(n: int, prefix: str = "acct-") -> list[Account]:
    return [Account(id=f"{prefix}{i}") for i in range(n)]


def within_sigmas(observed: int, n: int, p: float, sigmas: float = 5.0) -> bool:
    return abs(observed - n * p) <= sigmas * math.sqrt(n * p * (1 - p))


# --- golden values ---------------------------------------------------------------------------


def test_golden_buckets_never_change() -> None:
    assert [(s, i, hashing.bucket(s, i)) for s, i, _ in GOLDEN_BUCKETS] == GOLDEN_BUCKETS


def test_golden_seeds_never_change() -> None:
    assert [(s, hashing.seed_for(s)) for s, _ in GOLDEN_SEEDS] == GOLDEN_SEEDS


def test_golden_buckets_match_the_language_neutral_definition() -> None:
    for salt, account_id, expected in GOLDEN_BUCKETS:
        assert independent_bucket(salt, account_id) == expected
        seed = murmur3_x86_32(salt.encode("utf-8"), 0)
        raw = murmur3_x86_32(account_id.encode("utf-8"), seed)
        assert raw * 10000 >> 32 == expected


def test_golden_seeds_match_plain_python_murmur3() -> None:
    for salt, expected in GOLDEN_SEEDS:
        assert murmur3_x86_32(salt.encode("utf-8"), 0) == expected


def test_variant_salt_and_basis_points() -> None:
    assert hashing.variant_salt("checkout_button") == "checkout_button:variant"
    assert hashing.basis_points(12.5) == 1250
    assert hashing.basis_points(0.01) == 1
    assert hashing.basis_points(0.29) == 29  # 0.29 * 100 is 28.999999999999996
    assert hashing.basis_points(100) == hashing.BUCKETS


def test_golden_percentage_decisions_through_the_engine() -> None:
    # cool_feature buckets: acct-42 -> 9348, acct-7 -> 6641, acct-1000 -> 2239.
    eng = engine({"cool_feature": percentage_flag(66.42)})
    released = {
        i: eng.evaluate_all(Account(id=i)).is_enabled("cool_feature")
        for i in ("acct-42", "acct-7", "acct-1000")
    }
    assert released == {"acct-42": False, "acct-7": True, "acct-1000": True}
    # The boundary is exclusive: bucket 6641 is out at 66.41 %.
    assert not engine({"cool_feature": percentage_flag(66.41)}).is_released_to(
        "cool_feature", Account(id="acct-7")
    )


def test_salt_replaces_the_flag_name_in_the_bucket() -> None:
    # A flag salted "cool_feature" buckets exactly like the flag named cool_feature.
    renamed = engine({"renamed": percentage_flag(66.42, salt="cool_feature")})
    assert renamed.is_released_to("renamed", Account(id="acct-7"))
    assert not renamed.is_released_to("renamed", Account(id="acct-42"))


# --- stability across processes --------------------------------------------------------------

_CHILD = """
import json, sys
from flagware.strategies import hashing
pairs = json.loads(sys.argv[1])
print(json.dumps([[hashing.bucket(s, i), hashing.seed_for(s)] for s, i in pairs]))
"""


def _buckets_in_subprocess(pairs: list[tuple[str, str]], hashseed: str) -> list[list[int]]:
    env = {**os.environ, "PYTHONHASHSEED": hashseed}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(pairs)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    result: list[list[int]] = json.loads(out.stdout)
    return result


def test_buckets_are_the_same_in_other_processes_and_hash_seeds() -> None:
    pairs = [(s, i) for s, i, _ in GOLDEN_BUCKETS] + [("flag", f"acct-{n}") for n in range(50)]
    here = [[hashing.bucket(s, i), hashing.seed_for(s)] for s, i in pairs]
    for hashseed in ("0", "1", "4242", "random"):
        assert _buckets_in_subprocess(pairs, hashseed) == here, hashseed


# --- properties ------------------------------------------------------------------------------


@given(salts, ids)
def test_bucket_is_in_range(salt: str, account_id: str) -> None:
    assert 0 <= hashing.bucket(salt, account_id) < hashing.BUCKETS


@given(salts, ids)
def test_bucket_agrees_with_independent_computation(salt: str, account_id: str) -> None:
    assert hashing.bucket(salt, account_id) == independent_bucket(salt, account_id)


@given(raw_hashes, points)
def test_threshold_is_equivalent_to_scaled_comparison(h: int, p: int) -> None:
    assert ((h * 10000 >> 32) < p) == (h < hashing.threshold(p))


@given(points)
def test_threshold_is_the_smallest_raw_hash_outside(p: int) -> None:
    t = hashing.threshold(p)
    assert t * 10000 >> 32 >= p or t == 2**32
    if t > 0:
        assert (t - 1) * 10000 >> 32 < p


def test_threshold_extremes() -> None:
    assert hashing.threshold(0) == 0
    assert hashing.threshold(hashing.BUCKETS) == 2**32


@given(ids, points, points)
def test_percentage_ramp_is_monotonic(account_id: str, p: int, q: int) -> None:
    low, high = sorted((p, q))
    account = Account(id=account_id)
    strategy_low = Percentage(percent=low / 100)
    strategy_high = Percentage(percent=high / 100)
    if strategy_low.matches_at(account, 0.0, "ramp"):
        assert strategy_high.matches_at(account, 0.0, "ramp")


@given(ids, points, points)
def test_engine_ramp_is_monotonic(account_id: str, p: int, q: int) -> None:
    low, high = sorted((p, q))
    account = Account(id=account_id)
    if engine({"ramp": percentage_flag(low / 100)}).evaluate_all(account)["ramp"]:
        assert engine({"ramp": percentage_flag(high / 100)}).evaluate_all(account)["ramp"]


def test_released_sets_grow_with_the_percentage() -> None:
    accounts = synthetic_accounts(3000)
    previous: set[str] = set()
    for percent in (0, 1, 5, 12.5, 25, 50, 75, 99.99, 100):
        eng = engine({"ramp": percentage_flag(percent)})
        now_in = {a.id for a in accounts if eng.evaluate_all(a)["ramp"]}
        assert previous <= now_in
        previous = now_in
    assert len(previous) == len(accounts)


# --- distribution ----------------------------------------------------------------------------


def test_share_released_is_close_to_the_percentage() -> None:
    accounts = synthetic_accounts(20_000)
    eng = engine({"quarter": percentage_flag(25)})
    released = sum(eng.evaluate_all(a)["quarter"] for a in accounts)
    assert within_sigmas(released, len(accounts), 0.25)


def test_deciles_are_uniform() -> None:
    n = 20_000
    counts = Counter(hashing.bucket("uniform", f"user-{i}") // 1000 for i in range(n))
    expected = n / 10
    chi_square = sum((counts[d] - expected) ** 2 / expected for d in range(10))
    # 9 degrees of freedom: 33.7 is the 0.01 % critical value.
    assert chi_square < 33.7


def test_flags_bucket_independently() -> None:
    accounts = synthetic_accounts(20_000)
    eng = engine({"one": percentage_flag(50), "two": percentage_flag(50)})
    both = 0
    for account in accounts:
        fs = eng.evaluate_all(account)
        both += fs["one"] and fs["two"]
    assert within_sigmas(both, len(accounts), 0.25)


def test_zero_percent_matches_nobody() -> None:
    eng = engine({"none": percentage_flag(0)})
    assert not any(eng.evaluate_all(a)["none"] for a in synthetic_accounts(2000))
    assert not eng.evaluate_all(None)["none"]


def test_hundred_percent_matches_every_account_but_not_anonymous() -> None:
    eng = engine({"all": percentage_flag(100)})
    assert all(eng.evaluate_all(a)["all"] for a in synthetic_accounts(2000))
    assert not eng.evaluate_all(None)["all"]
    assert not eng.is_released_to("all", None)


# --- variants --------------------------------------------------------------------------------


def variant_flag(percent: float, variants: dict[str, float]) -> dict[str, object]:
    return {"strategies": [{"type": "percentage", "percent": percent}], "variants": variants}


def test_variants_are_stable_across_engines() -> None:
    doc = {"ab": variant_flag(100, {"control": 50, "green": 50})}
    first, second = engine(doc), engine(doc)
    for account in synthetic_accounts(500):
        chosen = first.evaluate_all(account).variant("ab")
        assert chosen in {"control", "green"}
        assert second.evaluate_all(account).variant("ab") == chosen
        assert first.explain("ab", account).variant == chosen


def test_golden_variant() -> None:
    # checkout_button:variant buckets acct-42 at 5309: past the first 50 %.
    eng = engine({"checkout_button": variant_flag(100, {"control": 50, "green": 50})})
    assert eng.evaluate_all(Account(id="acct-42")).variant("checkout_button") == "green"
    eng = engine({"checkout_button": variant_flag(100, {"control": 53.1, "green": 46.9})})
    assert eng.evaluate_all(Account(id="acct-42")).variant("checkout_button") == "control"


def test_variant_weights_are_respected() -> None:
    accounts = synthetic_accounts(20_000)
    eng = engine({"abc": variant_flag(100, {"a": 10, "b": 30, "c": 60})})
    counts = Counter(eng.evaluate_all(a).variant("abc") for a in accounts)
    assert set(counts) == {"a", "b", "c"}
    for name, share in (("a", 0.1), ("b", 0.3), ("c", 0.6)):
        assert within_sigmas(counts[name], len(accounts), share), counts


def test_variant_does_not_depend_on_the_rollout_percentage() -> None:
    narrow = engine({"ab": variant_flag(10, {"control": 50, "green": 50})})
    full = engine({"ab": variant_flag(100, {"control": 50, "green": 50})})
    for account in synthetic_accounts(3000):
        fs = narrow.evaluate_all(account)
        if fs["ab"]:
            assert fs.variant("ab") == full.evaluate_all(account).variant("ab")
        else:
            assert fs.variant("ab") is None


def test_released_accounts_split_evenly_in_a_small_rollout() -> None:
    accounts = synthetic_accounts(20_000)
    eng = engine({"ab": variant_flag(10, {"control": 50, "green": 50})})
    counts = Counter(fs.variant("ab") for fs in (eng.evaluate_all(a) for a in accounts) if fs["ab"])
    released = counts["control"] + counts["green"]
    assert within_sigmas(released, len(accounts), 0.10)
    assert within_sigmas(counts["control"], released, 0.5), counts
