"""What a rollout impact preview costs (issue 13): ``preview_change`` over a sample.

A ruleset of N flags (percentage rollouts, allowlists, last digits and attribute rules in
turn) has one flag edited; the preview compiles both rulesets and evaluates that flag for
every sampled account. Printed: the median time of a whole preview, and, as the
baseline measured in the same run, compiling the two engines alone, so the part per
account shows. Rounds are interleaved.

    python benchmarks/bench_preview.py [--rounds 7] [--flags 1000] [--accounts 10000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from flagware import Account, Engine, Ruleset
from flagware.preview import preview_change


def document(flags: int) -> dict[str, Any]:
    shapes: list[dict[str, Any]] = [
        {"type": "percentage", "percent": 10},
        {"type": "accounts", "ids": [f"acct-{i}" for i in range(0, 500, 7)]},
        {"type": "last_digit", "digits": [3, 4]},
        {"type": "attribute", "attribute": "plan", "op": "in", "values": ["pro", "team"]},
    ]
    return {
        "schema": 1,
        "flags": {f"flag_{i}": {"strategies": [shapes[i % 4]]} for i in range(flags)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--flags", type=int, default=1000)
    parser.add_argument("--accounts", type=int, default=10_000)
    args = parser.parse_args()

    before = Ruleset.from_dict(document(args.flags))
    edited = before.to_dict()
    edited["flags"]["flag_0"] = {"strategies": [{"type": "percentage", "percent": 30}]}
    after = Ruleset.from_dict(edited)
    plans = ["free", "pro", "team"]
    accounts = [Account(f"acct-{i}", i, {"plan": plans[i % 3]}) for i in range(args.accounts)]
    whole: list[float] = []
    compile_only: list[float] = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        Engine(before), Engine(after)
        compile_only.append(time.perf_counter() - start)
        start = time.perf_counter()
        impact = preview_change(before, after, accounts)
        whole.append(time.perf_counter() - start)
    preview_ms, compile_ms = statistics.median(whole) * 1e3, statistics.median(compile_only) * 1e3
    per_account_us = (preview_ms - compile_ms) * 1e3 / args.accounts
    spread = f"{min(whole) * 1e3:.1f}-{max(whole) * 1e3:.1f}"
    print(f"{args.flags:,} flags, {args.accounts:,} accounts, 1 flag changed")
    print(f"medians of {args.rounds} rounds")
    print(f"  preview_change            {preview_ms:8.1f} ms  (spread {spread})")
    print(f"  of which compiling both   {compile_ms:8.1f} ms  (baseline, same run)")
    print(f"  per sampled account       {per_account_us:8.2f} µs")
    print(f"  {impact.flags['flag_0']}")


if __name__ == "__main__":
    main()
