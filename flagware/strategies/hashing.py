"""Stable bucketing of accounts for percentage rollouts and variants.

The algorithm is part of flagware's public contract: changing it re-buckets every account,
so a 10 % rollout would suddenly reach a different 10 %. Do not change it.

Language-neutral definition (any MurmurHash3 implementation reproduces it)::

    seed(salt)          = murmur3_x86_32(utf8(salt), seed=0)
    hash(salt, id)      = murmur3_x86_32(utf8(id), seed=seed(salt))      # unsigned 32-bit
    bucket(salt, id)    = hash(salt, id) * 10000 >> 32                   # 0 .. 9999
    in_rollout(percent) = bucket < round(percent * 100)                  # 0.01 % steps

The salt of a flag's rollout is the flag's ``salt`` (default: its name); the salt of its
variant choice is ``salt + ":variant"``, so which variant an account gets is independent of
whether it is inside the rollout. Raising ``percent`` only adds accounts: the ramp is
monotonic.
"""

from __future__ import annotations

import mmh3

# Every hash takes bytes the caller encoded. mmh3 5.3.1's ``mmh3.hash(str, ...)`` is faster
# but crashes the interpreter (SIGSEGV) on a lone surrogate, which an account id decoded
# from JSON (a session, a token) can hold; never hand it a str.

__all__ = ["BUCKETS", "basis_points", "bucket", "seed_for", "threshold", "variant_salt"]

BUCKETS = 10_000
_HASH_SPACE = 1 << 32


def seed_for(salt: str) -> int:
    """The 32-bit MurmurHash3 seed derived from a salt."""
    return mmh3.mmh3_32_uintdigest(salt.encode("utf-8", "surrogatepass"), 0)


def bucket(salt: str, account_id: str) -> int:
    """The account's bucket, 0 to 9999, for this salt."""
    h = mmh3.mmh3_32_uintdigest(account_id.encode("utf-8", "surrogatepass"), seed_for(salt))
    return h * BUCKETS >> 32


def basis_points(percent: float) -> int:
    """A percentage as a whole number of 0.01 % steps (12.5 -> 1250)."""
    return round(percent * 100)


def threshold(points: int) -> int:
    """The smallest raw hash that is *outside* a rollout of ``points`` basis points.

    ``bucket < points`` is equivalent to ``raw_hash < threshold(points)``, which lets the
    engine compare raw hashes without scaling each one.
    """
    return -(-points * _HASH_SPACE // BUCKETS)


def variant_salt(salt: str) -> str:
    """The salt used to pick a released account's variant."""
    return salt + ":variant"
