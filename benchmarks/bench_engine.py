"""How long `Engine.evaluate_all` takes per account, for 10 to 10,000 mixed flags.

The ruleset mix is the one from the core issue: 20 % plain on/off, 20 % allowlists of 50
ids, 30 % percentage rollouts, 20 % two-attribute rules, 10 % last-digit. Two baselines
run in the same process on the same accounts:

- ``naive``: a plain Python loop over the rules, the way one would write it first
  (per flag, per strategy, an if-chain; sha-free: it uses the same murmur3 bucket);
- ``reference``: flagware's own unindexed semantics (`flagware.engine._reference.decide`).

Prints medians of several rounds (this machine is noisy) and the ratios between them.

    python benchmarks/bench_engine.py [--rounds 7] [--sizes 10,100,1000,10000]
"""

from __future__ import annotations

import argparse
import gc
import platform
import random
import statistics
import sys
import time
from typing import Any

import mmh3

import flagware
from flagware.engine import _reference as reference
from flagware.strategies import hashing

COUNTRIES = ["NL", "DE", "FR", "US", "GB", "BE", "ES", "IT"]
PLANS = ["free", "pro", "team", "enterprise"]


def make_document(n_flags: int, seed: int = 7) -> dict[str, Any]:
    """A ruleset of ``n_flags`` flags in the issue's mix."""
    rng = random.Random(seed)
    flags: dict[str, Any] = {}
    for i in range(n_flags):
        slot = i % 10
        name = f"flag_{i:05d}"
        if slot < 2:  # 20 % plain on/off
            flags[name] = (
                {"strategies": [{"type": "everyone"}]} if slot == 0 else {"enabled": False}
            )
        elif slot < 4:  # 20 % allowlists of 50 ids
            ids = [f"acct-{rng.randrange(100_000)}" for _ in range(50)]
            flags[name] = {"strategies": [{"type": "accounts", "ids": ids}]}
        elif slot < 7:  # 30 % percentage rollouts
            pct = rng.choice([1, 5, 10, 12.5, 25, 50, 75, 99.99])
            flags[name] = {"strategies": [{"type": "percentage", "percent": pct}]}
        elif slot < 9:  # 20 % two-attribute rules
            flags[name] = {
                "strategies": [
                    {
                        "type": "attribute",
                        "attribute": "country",
                        "op": "in",
                        "values": rng.sample(COUNTRIES, 2),
                        "when": [{"attribute": "plan", "op": "eq", "values": [rng.choice(PLANS)]}],
                    }
                ]
            }
        else:  # 10 % last digit
            flags[name] = {
                "strategies": [{"type": "last_digit", "digits": rng.sample(range(10), 2)}]
            }
    return {"schema": 1, "test_users": ["tester-1"], "flags": flags}


def make_accounts(n: int, seed: int = 11) -> list[flagware.Account]:
    rng = random.Random(seed)
    return [
        flagware.Account(
            id=f"acct-{rng.randrange(100_000)}",
            number=rng.randrange(1_000_000),
            attributes={"country": rng.choice(COUNTRIES), "plan": rng.choice(PLANS)},
        )
        for _ in range(n)
    ]


class Naive:
    """The straightforward loop: what evaluating every flag costs without compiling."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.flags = doc["flags"]
        self.test_users = set(doc["test_users"])

    def evaluate_all(self, account: flagware.Account) -> dict[str, bool]:
        out = {}
        is_tester = account.id in self.test_users
        for name, flag in self.flags.items():
            if not flag.get("enabled", True):
                out[name] = False
                continue
            if is_tester:
                out[name] = True
                continue
            on = False
            for s in flag.get("strategies", []):
                if all(
                    account.attributes.get(c["attribute"]) in c["values"] for c in s.get("when", [])
                ):
                    t = s["type"]
                    if t == "everyone":
                        on = True
                    elif t == "accounts":
                        on = account.id in s["ids"]
                    elif t == "percentage":
                        h = mmh3.hash(account.id, hashing.seed_for(name), signed=False)
                        on = (h * 10_000 >> 32) < round(s["percent"] * 100)
                    elif t == "attribute":
                        on = account.attributes.get(s["attribute"]) in s["values"]
                    elif t == "last_digit":
                        on = account.number is not None and account.number % 10 in s["digits"]
                if on:
                    break
            out[name] = on
        return out


def per_account_us(fn: Any, accounts: list[flagware.Account], budget_s: float) -> float:
    """Median-friendly: µs per account of one pass over ``accounts`` (repeated to the budget)."""
    gc.collect()
    gc.disable()
    try:
        passes, start = 0, time.perf_counter()
        while True:
            for account in accounts:
                fn(account)
            passes += 1
            elapsed = time.perf_counter() - start
            if elapsed >= budget_s:
                return elapsed / (passes * len(accounts)) * 1e6
    finally:
        gc.enable()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--sizes", default="10,100,1000,10000")
    parser.add_argument("--budget", type=float, default=0.3, help="seconds per measurement")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    print(
        f"python {platform.python_version()} on {platform.machine()}, {time.strftime('%Y-%m-%d')}"
    )
    print(f"medians of {args.rounds} rounds, µs per account (all flags evaluated)\n")
    columns = ("flags", "flagware", "µs/flag", "naive", "reference", "naive/fw", "compile ms")
    print(" ".join(f"{c:>10}" for c in columns))
    accounts = make_accounts(500)
    for n in sizes:
        doc = make_document(n)
        t0 = time.perf_counter()
        engine = flagware.Engine(flagware.Ruleset.from_dict(doc))
        compile_ms = (time.perf_counter() - t0) * 1e3
        naive = Naive(doc)
        ruleset = engine.ruleset
        names = list(ruleset.flags)
        now = time.time()

        def ref(
            account: flagware.Account,
            ruleset: flagware.Ruleset = ruleset,
            names: list[str] = names,
            now: float = now,
        ) -> None:
            for name in names:
                reference.decide(ruleset, name, account, now)

        fw, nv, rf = [], [], []
        for _ in range(args.rounds):
            fw.append(per_account_us(engine.evaluate_all, accounts, args.budget))
            nv.append(per_account_us(naive.evaluate_all, accounts[:100], args.budget))
            if n <= 1000:
                rf.append(per_account_us(ref, accounts[:50], args.budget))
        f, v = statistics.median(fw), statistics.median(nv)
        r = statistics.median(rf) if rf else float("nan")
        cells = (f"{n}", f"{f:.2f}", f"{f / n:.4f}", f"{v:.1f}", f"{r:.1f}", f"{v / f:.1f}x")
        print(" ".join(f"{c:>10}" for c in (*cells, f"{compile_ms:.1f}")))
        # Sanity: the engine and the naive loop agree on every flag for every account.
        for account in accounts[:50]:
            got = engine.evaluate_all(account).as_dict()
            if got != naive.evaluate_all(account):
                sys.exit(f"engine and naive loop disagree for {account.id} at {n} flags")


if __name__ == "__main__":
    main()
