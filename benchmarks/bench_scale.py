"""flagware's scale figures: what each step costs from 10 to 10,000 flags, and per flag.

The rulesets are ``bench_engine.make_document(n)`` (the issue's mix: 20 % on/off, 20 %
allowlists of 50 ids, 30 % rollouts, 20 % two-attribute rules, 10 % last digit), and the
accounts ``bench_engine.make_accounts``. Each document is measured in a fresh child
process, one after the other:

1. the cost curve, per size (10, 100, 1,000, 3,000, 10,000 flags): validation
   (``Ruleset.from_dict(doc)``), compiling (``Engine(ruleset)``), ``evaluate_all`` and
   ``evaluate_all(...).as_dict()`` in µs an account, and RSS after loading (VmRSS from
   /proc/self/status, with the ruleset and engine held and the document dropped, minus
   the VmRSS of a child of this script that imported the same modules and loaded
   nothing, same run); then each figure per flag, as a ratio to its value at 1,000 flags.
   A ratio that keeps rising with size is a step that grows faster than linearly; at 10
   and 100 flags the fixed costs dominate, so ratios above 1 there are expected;
2. a 100,000-id allowlist: one flag of 100,000 ids among the 1,000 and among the 10,000
   flags of the mix (validation, compiling, RSS, ``evaluate_all`` and
   ``is_released_to`` of that flag for accounts in the list and not in it), next to the
   same document without it;
3. a one-flag change, ``MemoryStore(doc).set_flag(name, flag)`` (only the ``set_flag``),
   at 1,000 and 10,000 flags; the target is under 20 ms at 1,000 flags.

Times are medians of rounds, with the gc enabled as in a serving process (the VM is
noisy: 5 rounds, 3 at 10,000 flags for validating, compiling and ``set_flag``); the
garbage collector's share of each (timed with ``gc.callbacks``) is shown beside it, and
the per-flag figures are given without it too, because a full collection walks every
object of the process, so its cost depends on the heap, not only on the step.
``evaluate_all`` rounds cycle through 200 accounts for ``--budget`` seconds each. The
whole run takes one to two minutes.

    python benchmarks/bench_scale.py [--rounds 5] [--budget 0.2] [--json]

``--json`` prints the figures (every round included) instead of the tables. To find the
function responsible for a step's growth, profile that step alone in this process (the
gc is off there unless ``--profile-gc``; steps: validate, compile, evaluate, as_dict,
set_flag):

    python benchmarks/bench_scale.py --profile compile --flags 10000
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import flagware

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.bench_engine import make_accounts, make_document

SIZES = (10, 100, 1_000, 3_000, 10_000)
REFERENCE_SIZE = 1_000  # cost per flag is compared with this size
SET_FLAG_SIZES = (1_000, 10_000)
SET_FLAG_TARGET_MS = 20.0
BIG_LIST_IDS = 100_000
BIG_LIST_FLAG = "allowlist_100k"
BIG_LIST_SIZES = (1_000, 10_000)
STEPS = ("validate", "compile", "evaluate", "as_dict", "set_flag")


def rss_kib() -> int:
    """This process's resident set (VmRSS), in KiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def rounds_for(n_flags: int, rounds: int) -> int:
    """Fewer rounds at 10,000 flags, where one round of a step takes seconds."""
    return rounds if n_flags < 10_000 else max(1, (rounds + 1) // 2)


class GcClock:
    """Seconds the cyclic garbage collector ran while installed (a ``gc.callbacks`` hook)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._start

    def __enter__(self) -> GcClock:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


def timed_rounds(fn: Callable[[], Any], rounds: int) -> tuple[list[float], list[float]]:
    """Seconds each of ``rounds`` calls of ``fn`` took, and of that the gc's (gc on, as in
    a serving process, collected before each call)."""
    times, in_gc = [], []
    for _ in range(rounds):
        gc.collect()
        with GcClock() as clock:
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        in_gc.append(clock.seconds)
    return times, in_gc


def per_call_rounds(
    fn: Callable[[flagware.Account], Any],
    accounts: list[flagware.Account],
    rounds: int,
    budget: float,
) -> list[float]:
    """Seconds per call of each round; a round cycles through ``accounts`` for ``budget`` s."""
    for account in accounts[:5]:
        fn(account)
    results = []
    for _ in range(rounds):
        gc.collect()
        calls, start = 0, time.perf_counter()
        while True:
            for account in accounts:
                fn(account)
            calls += len(accounts)
            elapsed = time.perf_counter() - start
            if elapsed >= budget:
                break
        results.append(elapsed / calls)
    return results


def as_dict_of(engine: flagware.Engine) -> Callable[[flagware.Account], dict[str, bool]]:
    def call(account: flagware.Account) -> dict[str, bool]:
        return engine.evaluate_all(account).as_dict()

    return call


def big_list_ids() -> list[str]:
    return [f"member-{i:06d}" for i in range(BIG_LIST_IDS)]


def with_big_list(n_flags: int) -> dict[str, Any]:
    """The mix of ``n_flags`` flags plus one allowlist of 100,000 ids."""
    doc = make_document(n_flags)
    doc["flags"][BIG_LIST_FLAG] = {"strategies": [{"type": "accounts", "ids": big_list_ids()}]}
    return doc


def in_list_accounts(n: int) -> list[flagware.Account]:
    """``make_accounts(n)`` with ids taken from the big list (attributes unchanged)."""
    ids = big_list_ids()
    step = BIG_LIST_IDS // n
    return [
        flagware.Account(id=ids[i * step + 7], number=a.number, attributes=dict(a.attributes))
        for i, a in enumerate(make_accounts(n))
    ]


def changed_flag(round_: int) -> dict[str, Any]:
    """A flag document that differs each round, so every ``set_flag`` is a real change."""
    return {"strategies": [{"type": "percentage", "percent": 10 + round_}]}


# --- the children ----------------------------------------------------------------------------


def measure(kind: str, n_flags: int, rounds: int, budget: float) -> dict[str, Any]:
    """One document, measured in this (fresh) process: RSS first, then the timings."""
    doc = with_big_list(n_flags) if kind == "big_list" else make_document(n_flags)
    eval_rounds, rounds = rounds, rounds_for(n_flags, rounds)  # evaluating is cheap: all rounds
    ruleset = flagware.Ruleset.from_dict(doc)
    engine = flagware.Engine(ruleset)
    del doc
    gc.collect()
    loaded_kib = rss_kib()

    doc = with_big_list(n_flags) if kind == "big_list" else make_document(n_flags)
    result: dict[str, Any] = {
        "kind": kind,
        "flags": len(ruleset.flags),
        "rounds": rounds,
        "rss_loaded_kib": loaded_kib,
    }
    result["validate_s"], result["validate_gc_s"] = timed_rounds(
        lambda: flagware.Ruleset.from_dict(doc), rounds
    )
    result["compile_s"], result["compile_gc_s"] = timed_rounds(
        lambda: flagware.Engine(ruleset), rounds
    )
    accounts = make_accounts(200)
    result["evaluate_all_s"] = per_call_rounds(engine.evaluate_all, accounts, eval_rounds, budget)
    if kind == "big_list":
        members = in_list_accounts(200)
        if not all(engine.evaluate_all(a)[BIG_LIST_FLAG] for a in members) or any(
            engine.evaluate_all(a)[BIG_LIST_FLAG] for a in accounts
        ):
            sys.exit(f"{BIG_LIST_FLAG} is not on for exactly the accounts in its list")
        result["evaluate_all_in_list_s"] = per_call_rounds(engine.evaluate_all, members, 5, budget)

        def one_flag(account: flagware.Account) -> bool:
            return engine.is_released_to(BIG_LIST_FLAG, account)

        result["is_released_to_in_list_s"] = per_call_rounds(one_flag, members, eval_rounds, budget)
        result["is_released_to_not_in_list_s"] = per_call_rounds(
            one_flag, accounts, eval_rounds, budget
        )
    else:
        result["as_dict_s"] = per_call_rounds(as_dict_of(engine), accounts, eval_rounds, budget)
    if kind == "mix" and n_flags in SET_FLAG_SIZES:
        store = flagware.MemoryStore(doc)
        name = "flag_00004"  # a percentage rollout
        commits = iter(range(rounds))
        result["set_flag_s"], result["set_flag_gc_s"] = timed_rounds(
            lambda: store.set_flag(name, changed_flag(next(commits))), rounds
        )
        if store.ruleset().to_dict()["flags"][name] != changed_flag(rounds - 1):
            sys.exit(f"set_flag({name!r}, ...) did not change the store's ruleset")
    return result


def in_child(kind: str, n_flags: int, rounds: int, budget: float) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", kind, "--flags", str(n_flags)]
    command += ["--rounds", str(rounds), "--budget", str(budget)]
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{' '.join(command[1:])} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# --- profiling one step ----------------------------------------------------------------------


def profile(step: str, n_flags: int, with_gc: bool) -> None:
    """cProfile of one step at one size, in this process (the top functions, both ways).

    The gc is off unless ``with_gc``: a full collection's time lands on whatever function
    happens to be running, and would hide where the code's own time goes.
    """
    doc = make_document(n_flags)
    ruleset = flagware.Ruleset.from_dict(doc)
    engine = flagware.Engine(ruleset)
    accounts = make_accounts(200)
    store = flagware.MemoryStore(doc) if step == "set_flag" else None

    def run() -> None:
        if step == "validate":
            flagware.Ruleset.from_dict(doc)
        elif step == "compile":
            flagware.Engine(ruleset)
        elif step == "evaluate":
            for account in accounts:
                engine.evaluate_all(account)
        elif step == "as_dict":
            for account in accounts:
                engine.evaluate_all(account).as_dict()
        elif store is not None:
            store.set_flag("flag_00004", changed_flag(1))

    profiler = cProfile.Profile()
    gc.collect()
    if not with_gc:
        gc.disable()
    try:
        profiler.runcall(run)
    finally:
        gc.enable()
    stats = pstats.Stats(profiler)
    print(f"{step} at {n_flags:,} flags, gc {'on' if with_gc else 'off'}")
    stats.sort_stats("tottime").print_stats(15)
    stats.sort_stats("cumulative").print_stats(25)


# --- the report ------------------------------------------------------------------------------


def med(values: list[float]) -> float:
    return statistics.median(values)


def run_all(rounds: int, budget: float, sizes: tuple[int, ...]) -> dict[str, Any]:
    baselines = [in_child("baseline", 0, rounds, budget)["rss_loaded_kib"] for _ in range(3)]
    base_kib = med([float(b) for b in baselines])
    mix = [in_child("mix", n, rounds, budget) for n in sizes]
    big = [in_child("big_list", n, rounds, budget) for n in BIG_LIST_SIZES]
    for result in (*mix, *big):
        result["rss_mib"] = (result["rss_loaded_kib"] - base_kib) / 1024
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "rounds": rounds,
        "budget_s": budget,
        "baseline_rss_kib": baselines,
        "mix": mix,
        "big_list": big,
    }


def without_gc(result: dict[str, Any], step: str) -> float:
    """The median over rounds of a step's seconds less the gc's in that round."""
    return med([t - g for t, g in zip(result[f"{step}_s"], result[f"{step}_gc_s"], strict=True)])


def cost_table(mix: list[dict[str, Any]]) -> None:
    print("1. the cost curve (medians; gc: of that, the garbage collector's share)")
    head = ("flags", "validate ms", "gc", "compile ms", "gc", "evaluate_all µs", "as_dict µs")
    print(f"{head[0]:>8}" + "".join(f"{h:>16}" for h in (*head[1:], "RSS MiB")))
    for r in mix:
        cells = (
            f"{med(r['validate_s']) * 1e3:.1f}",
            f"{med(r['validate_gc_s']) * 1e3:.1f}",
            f"{med(r['compile_s']) * 1e3:.1f}",
            f"{med(r['compile_gc_s']) * 1e3:.1f}",
            f"{med(r['evaluate_all_s']) * 1e6:.1f}",
            f"{med(r['as_dict_s']) * 1e6:.1f}",
            f"{r['rss_mib']:.1f}",
        )
        print(f"{r['flags']:>8,}" + "".join(f"{c:>16}" for c in cells))
    per_flag: list[tuple[str, float, Callable[[dict[str, Any]], float]]] = [
        ("validate µs", 1e6, lambda r: med(r["validate_s"])),
        ("  without gc", 1e6, lambda r: without_gc(r, "validate")),
        ("compile µs", 1e6, lambda r: med(r["compile_s"])),
        ("  without gc", 1e6, lambda r: without_gc(r, "compile")),
        ("evaluate ns", 1e9, lambda r: med(r["evaluate_all_s"])),
        ("as_dict ns", 1e9, lambda r: med(r["as_dict_s"])),
        ("RSS KiB", 1024, lambda r: r["rss_mib"]),
    ]
    reference = next((r for r in mix if r["flags"] == REFERENCE_SIZE), None)
    print(
        f"\n   per flag (x: its value at {REFERENCE_SIZE:,} flags; rising with size = superlinear)"
    )
    print(f"{'flags':>8}" + "".join(f"{label:>17}" for label, _, _ in per_flag))
    for r in mix:
        row: list[str] = []
        for _, scale, get in per_flag:
            cost = get(r) / r["flags"]
            ratio = cost / (get(reference) / REFERENCE_SIZE) if reference else float("nan")
            row.append(f"{cost * scale:.2f} ({ratio:.2f}x)")
        print(f"{r['flags']:>8,}" + "".join(f"{c:>17}" for c in row))
    print()


def big_list_table(mix: list[dict[str, Any]], big: list[dict[str, Any]]) -> None:
    print(f"2. one allowlist of {BIG_LIST_IDS:,} ids among the mix (medians; + over the mix)")
    plain = {r["flags"]: r for r in mix}
    rows: list[tuple[str, float, str]] = [
        ("validate ms", 1e3, "validate_s"),
        ("compile ms", 1e3, "compile_s"),
        ("RSS MiB", 1.0, "rss_mib"),
        ("evaluate_all µs, not in list", 1e6, "evaluate_all_s"),
        ("evaluate_all µs, in list", 1e6, "evaluate_all_in_list_s"),
        ("is_released_to µs, not in", 1e6, "is_released_to_not_in_list_s"),
        ("is_released_to µs, in list", 1e6, "is_released_to_in_list_s"),
    ]
    titles = [f"{r['flags'] - 1:,} + 1 flags" for r in big]
    print(f"{'':>30}" + "".join(f"{title:>24}" for title in titles))
    for label, scale, key in rows:
        cells: list[str] = []
        for r in big:
            value = r[key] if key == "rss_mib" else med(r[key])
            base = plain.get(r["flags"] - 1)
            if base is not None and key in base:
                other = base[key] if key == "rss_mib" else med(base[key])
                cells.append(f"{value * scale:.1f} ({(value - other) * scale:+.1f})")
            else:
                cells.append(f"{value * scale:.1f}")
        print(f"{label:>30}" + "".join(f"{c:>24}" for c in cells))
    print()


def set_flag_table(mix: list[dict[str, Any]]) -> None:
    print("3. a one-flag change: MemoryStore(doc).set_flag(name, flag), median ms")
    for r in mix:
        if "set_flag_s" in r:
            ms = med(r["set_flag_s"]) * 1e3
            gc_ms = med(r["set_flag_gc_s"]) * 1e3
            rounds = ", ".join(f"{t * 1e3:.0f}" for t in r["set_flag_s"])
            verdict = ""
            if r["flags"] == REFERENCE_SIZE:
                ok = ms < SET_FLAG_TARGET_MS
                verdict = f"  target < {SET_FLAG_TARGET_MS:.0f} ms: {'met' if ok else 'NOT met'}"
            print(
                f"{r['flags']:>10,} flags {ms:>9.1f} ms, gc {gc_ms:.1f} ms "
                f"(rounds: {rounds}){verdict}"
            )


def print_report(figures: dict[str, Any]) -> None:
    print(
        f"python {figures['python']} on {figures['machine']}, {figures['cpus']} cpus, "
        f"{figures['date']}; medians of {figures['rounds']} rounds "
        f"({rounds_for(10_000, figures['rounds'])} at 10,000 flags)"
    )
    baselines = ", ".join(f"{b / 1024:.1f}" for b in figures["baseline_rss_kib"])
    print(f"RSS is above a child that loaded nothing: {baselines} MiB (median used)\n")
    cost_table(figures["mix"])
    big_list_table(figures["mix"], figures["big_list"])
    set_flag_table(figures["mix"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--budget", type=float, default=0.2, help="seconds per evaluate round")
    parser.add_argument("--sizes", default=",".join(str(n) for n in SIZES))
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--profile", choices=STEPS, help="cProfile one step at --flags")
    parser.add_argument("--flags", type=int, default=10_000, help="the size --profile uses")
    parser.add_argument("--profile-gc", action="store_true", help="keep the gc on in --profile")
    parser.add_argument("--child", choices=["baseline", "mix", "big_list"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "baseline":
        gc.collect()
        print(json.dumps({"rss_loaded_kib": rss_kib()}))
    elif args.child:
        print(json.dumps(measure(args.child, args.flags, args.rounds, args.budget)))
    elif args.profile:
        profile(args.profile, args.flags, args.profile_gc)
    else:
        sizes = tuple(int(s) for s in args.sizes.split(","))
        figures = run_all(args.rounds, args.budget, sizes)
        if args.json:
            print(json.dumps(figures, indent=1))
        else:
            print_report(figures)


if __name__ == "__main__":
    main()
