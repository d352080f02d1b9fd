"""What segments and prerequisites cost a request (issue 13, part 6).

Three rulesets of N flags that release the same accounts, measured in one run with the
rounds interleaved:

- inline: every flag writes its audience out (an allowlist, a percentage, an attribute
  rule, in turn), the baseline;
- segments: the same audiences defined once as segments, each flag using one (their
  percentage buckets by the segment, the same slice in every flag);
- prerequisites: the inline ruleset, with one flag in ten requiring the flag before it.

Printed: the median ``evaluate_all(account).as_dict()`` per account, a single-flag check
(``is_released_to``) on a flag that uses a segment or has a prerequisite, each as a ratio
to the inline baseline, and compile times.

    python benchmarks/bench_targeting.py [--rounds 7] [--flags 1000] [--accounts 500]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from flagware import Account, Engine, Ruleset

AUDIENCES: list[dict[str, Any]] = [
    {"type": "accounts", "ids": [f"acct-{i}" for i in range(0, 500, 7)]},
    {"type": "percentage", "percent": 20},
    {"type": "attribute", "attribute": "plan", "op": "in", "values": ["pro", "team"]},
]


def inline(flags: int) -> dict[str, Any]:
    return {"flags": {f"flag_{i}": {"strategies": [AUDIENCES[i % 3]]} for i in range(flags)}}


def segmented(flags: int) -> dict[str, Any]:
    segments = {f"audience_{k}": {"strategies": [a]} for k, a in enumerate(AUDIENCES)}
    return {
        "segments": segments,
        "flags": {
            f"flag_{i}": {"strategies": [{"type": "segment", "name": f"audience_{i % 3}"}]}
            for i in range(flags)
        },
    }


def gated(flags: int) -> dict[str, Any]:
    doc = inline(flags)
    for i in range(1, flags, 10):
        doc["flags"][f"flag_{i}"]["prerequisites"] = [{"flag": f"flag_{i - 1}"}]
    return doc


def per_call(run: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    run()
    return (time.perf_counter() - start) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--flags", type=int, default=1000)
    parser.add_argument("--accounts", type=int, default=500)
    args = parser.parse_args()

    plans = ["free", "pro", "team"]
    people = [Account(f"acct-{i}", i, {"plan": plans[i % 3]}) for i in range(args.accounts)]
    docs = {"inline": inline, "segments": segmented, "prerequisites": gated}
    compile_ms: dict[str, list[float]] = {name: [] for name in docs}
    all_us: dict[str, list[float]] = {name: [] for name in docs}
    one_us: dict[str, list[float]] = {name: [] for name in docs}
    engines: dict[str, Engine] = {}
    for _ in range(args.rounds):
        for name, build in docs.items():
            doc = build(args.flags)
            start = time.perf_counter()
            engine = Engine(Ruleset.from_dict(doc))
            compile_ms[name].append((time.perf_counter() - start) * 1e3)
            engines[name] = engine
            all_us[name].append(
                per_call(
                    lambda e=engine: [e.evaluate_all(a).as_dict() for a in people], len(people)
                )
            )
            one_us[name].append(
                per_call(
                    lambda e=engine: [e.is_released_to("flag_1", a) for a in people], len(people)
                )
            )
    # A segment's percentage buckets by the segment, the inline one by each flag: the
    # allowlist and attribute flags must agree.
    fixed = [f"flag_{i}" for i in range(args.flags) if i % 3 != 1]
    for account in people:
        ours, theirs = (
            engines["segments"].evaluate_all(account),
            engines["inline"].evaluate_all(account),
        )
        assert [ours[f] for f in fixed] == [theirs[f] for f in fixed]
    print(f"{args.flags:,} flags, {args.accounts} accounts; medians of {args.rounds} rounds")
    print(
        f"{'':14} {'compile ms':>11} {'all flags µs':>13} {'ratio':>6} "
        f"{'one flag µs':>12} {'ratio':>6}"
    )
    base_all = statistics.median(all_us["inline"])
    base_one = statistics.median(one_us["inline"])
    for name in docs:
        every, one = statistics.median(all_us[name]), statistics.median(one_us[name])
        print(
            f"{name:14} {statistics.median(compile_ms[name]):11.1f} {every:13.1f} "
            f"{every / base_all:6.2f} {one:12.2f} {one / base_one:6.2f}"
        )
    print("segments and inline agree on every allowlist and attribute flag, for every account")


if __name__ == "__main__":
    main()
