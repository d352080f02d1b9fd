"""What a ruleset at the limits of issue 9 costs: to validate, to compile, to hold, per request.

Measured in one run, medians of several rounds (this machine is noisy):

1. validation time against the number of problems (1k to 32k bad ids in one allowlist):
   linear, and every error lists at most ``MAX_PROBLEMS`` of them;
2. the issue's document (800,000 regexes): how long refusing it takes;
3. regex conditions built to defeat RE2's DFA, at the regex limits, per request, for a few
   families of patterns (the worst one goes into the maximal document);
4. maximal documents, each in a fresh process (so RSS growth is its own): every document-wide
   limit at its maximum in the most expensive arrangement found (``composite``), and 16 MiB
   of allowlists (``allowlists``): JSON size, values, validation and compile time, RSS
   growth after validating, compiling and serving requests, and the per-request cost of
   ``evaluate_all`` for accounts whose attributes are 1 KiB strings;
5. the baseline, in the same run: the 1,000-flag mixed ruleset of ``bench_engine.py``.

    python benchmarks/bench_limits.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import flagware
from flagware import Account, Engine, Ruleset, RulesetError
from flagware.ruleset.documents import MAX_DOCUMENT_BYTES
from flagware.ruleset.limits import LIMITS

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.bench_engine import make_accounts, make_document

TEXT_BYTES = 1024
# Patterns that look harmless and make RE2's DFA blow up on text of a, b, c and d: each
# byte of such text is a new DFA state, so RE2 falls back to its slower NFA.
REGEX_FAMILIES: dict[str, Callable[[int], str]] = {
    "dot": lambda i: f"(?s){'abcd'[i % 4]}.{{24}}{i}",
    "class": lambda i: f"[ab]*{'ab'[i % 2]}[abcd]{{20}}{i}",
    "printable": lambda i: f"[ -~]*{'abcd'[i % 4]}[ -~]{{24}}{i}",
    "email-like": lambda i: rf"^[a-z0-9._%+-]+@(?:[a-z0-9-]+\.)+(?:com|net){i}$",
}


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def median_time(fn: Callable[[], Any], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def per_call(fn: Callable[[Any], Any], args: list[Any], rounds: int, budget: float) -> float:
    """Median over rounds of the seconds one call takes (each round runs for ``budget`` s)."""
    for arg in args[:3]:
        fn(arg)  # warm RE2's DFA caches, as a serving process has
    results = []
    for _ in range(rounds):
        gc.collect()
        calls, start = 0, time.perf_counter()
        while True:
            for arg in args:
                fn(arg)
            calls += len(args)
            elapsed = time.perf_counter() - start
            if elapsed >= budget:
                break
        results.append(elapsed / calls)
    return statistics.median(results)


def refuse(doc: Any) -> RulesetError:
    try:
        Ruleset.from_dict(doc)
    except RulesetError as exc:
        return exc
    raise SystemExit("the document was accepted")


def text(rng: random.Random) -> str:
    return "".join(rng.choice("abcd") for _ in range(TEXT_BYTES))


def long_accounts(n: int, seed: int = 3) -> list[Account]:
    """Accounts with every attribute the documents test as a 1 KiB string (``n`` = 1)."""
    rng = random.Random(seed)
    accounts = []
    for i in range(n):
        attributes: dict[str, Any] = {f"c{j}": text(rng) for j in range(20)}
        attributes.update(ua=text(rng), email=text(rng), n=1)
        accounts.append(Account(id=f"bench-{i}", number=i, attributes=attributes))
    return accounts


# --- documents -------------------------------------------------------------------------------


def regex_strategies(family: str, per_condition: int) -> list[dict[str, Any]]:
    """The regex limits used up: as many conditions of ``per_condition`` patterns as allowed."""
    make, per = REGEX_FAMILIES[family], per_condition
    total = min(LIMITS["regex_patterns"], LIMITS["regex_conditions"] * per)
    patterns = [make(i) for i in range(total)]
    return [
        {"type": "attribute", "attribute": "ua", "op": "regex", "values": patterns[i : i + per]}
        for i in range(0, total, per)
    ]


def in_flags(prefix: str, strategies: list[dict[str, Any]], per_flag: int) -> dict[str, Any]:
    return {
        f"{prefix}{i // per_flag:05d}": {"strategies": strategies[i : i + per_flag]}
        for i in range(0, len(strategies), per_flag)
    }


def composite(family: str, per: int, ids_per_allowlist: int) -> dict[str, Any]:
    """Every document-wide limit at its maximum, arranged so that no check is skipped.

    Every flag stays off for the benchmark accounts, so the engine runs every check of
    every flag: the regex conditions (``per`` patterns each: the costliest found), the
    contains texts (one each), ``ne`` checks for the rest of the checks, eq conjunctions
    for the rest of the conditions (one lookup table each), and a percentage rollout in
    every remaining flag up to the flag limit, with allowlists for the rest of the
    strategies, as long as the document's size and values allow.
    """
    checks, conditions = LIMITS["checks"], LIMITS["conditions"]
    regexes = regex_strategies(family, per)
    contains = [
        {"type": "attribute", "attribute": "email", "op": "contains", "values": [f"zz{i}@x"]}
        for i in range(LIMITS["contains_texts"])
    ]
    ne_count = checks - len(regexes) - len(contains)
    ne = [{"type": "attribute", "attribute": "n", "op": "ne", "values": [1]}] * ne_count
    pairs = [(a, b) for a in range(20) for b in range(a + 1, 20)]
    conjunctions = []
    for i in range((conditions - checks) // 2):
        a, b = pairs[i // 100]  # 100 rules of a flag on one pair: 100 lookup tables
        conjunctions.append(
            {
                "type": "attribute",
                "attribute": f"c{a}",
                "op": "eq",
                "values": [f"v{i}"],
                "when": [{"attribute": f"c{b}", "op": "eq", "values": [f"w{i}"]}],
            }
        )
    flags: dict[str, Any] = {}
    flags.update(in_flags("regex", regexes, 1))
    flags.update(in_flags("contains", contains, 100))
    flags.update(in_flags("ne", ne, 100))
    flags.update(in_flags("pair", conjunctions, 100))
    used = len(regexes) + len(contains) + len(ne) + len(conjunctions)
    rollouts = LIMITS["flags"] - len(flags)
    allowlists = LIMITS["strategies"] - used - rollouts
    rng = random.Random(1)
    for i in range(rollouts):
        strategies: list[dict[str, Any]] = [{"type": "percentage", "percent": 0.01}]
        if i < allowlists:
            ids = [f"u{rng.randrange(10**9)}" for _ in range(ids_per_allowlist)]
            strategies.append({"type": "accounts", "ids": ids})
        flags[f"rollout{i:05d}"] = {"strategies": strategies}
    return {
        "schema": 1,
        "test_users": [f"tester-{i}" for i in range(LIMITS["test_users"])],
        "flags": flags,
    }


def allowlists(ids_per_allowlist: int) -> dict[str, Any]:
    """16 MiB of allowlists of 100,000 ids (the most values per byte a document can hold)."""
    rng = random.Random(2)
    flags = {}
    for i in range(ids_per_allowlist // LIMITS["ids_per_strategy"] + 1):
        count = min(LIMITS["ids_per_strategy"], ids_per_allowlist - i * LIMITS["ids_per_strategy"])
        if count > 0:
            ids = [f"{rng.randrange(10**9):09d}" for _ in range(count)]
            flags[f"list{i:03d}"] = {"strategies": [{"type": "accounts", "ids": ids}]}
    return {"flags": flags}


def size_and_values(doc: Any) -> tuple[int, int]:
    text = json.dumps(doc, separators=(",", ":"))
    values, stack = 0, [doc]
    while stack:
        value = stack.pop()
        values += 1
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return len(text.encode()), values


def largest(build: Callable[[int], dict[str, Any]], a: int, b: int) -> int:
    """The largest parameter whose document fits the size and value limits.

    Size and values grow linearly with the parameter: extrapolate from ``a`` and ``b``,
    then step down until the document fits.
    """
    (size_a, values_a), (size_b, values_b) = size_and_values(build(a)), size_and_values(build(b))
    by_size = a + (MAX_DOCUMENT_BYTES - size_a) * (b - a) // max(1, size_b - size_a)
    by_values = a + (LIMITS["nodes"] - values_a) * (b - a) // max(1, values_b - values_a)
    param = min(by_size, by_values)
    while True:
        size, values = size_and_values(build(param))
        if size <= MAX_DOCUMENT_BYTES and values <= LIMITS["nodes"]:
            return param
        param -= max(1, param // 200)


# --- a maximal document, measured in its own process -----------------------------------------


def measure_document(
    shape: str, family: str, per: int, rounds: int, budget: float
) -> dict[str, Any]:
    if shape == "composite":
        param = largest(lambda k: composite(family, per, k), 0, 10)
        doc = composite(family, per, param)
    else:
        param = largest(allowlists, 100_000, 200_000)
        doc = allowlists(param)
    size, values = size_and_values(doc)
    raw = json.dumps(doc, separators=(",", ":"))
    del doc
    parse_s = median_time(lambda: json.loads(raw), rounds)
    parsed = json.loads(raw)
    raw = ""
    gc.collect()
    base = rss_mib()
    ruleset = Ruleset.from_dict(parsed)
    after_validation = rss_mib()
    engine = Engine(ruleset)
    after_compile = rss_mib()
    accounts = long_accounts(20)
    for _ in range(10):
        for account in accounts:
            engine.evaluate_all(account)
    after_requests = rss_mib()
    validate_s = median_time(lambda: Ruleset.from_dict(parsed), rounds)
    compile_s = median_time(lambda: Engine(ruleset), rounds)
    request_s = per_call(engine.evaluate_all, accounts, rounds, budget)
    for account in accounts:  # only a rollout may be on (0.01 %): every check ran
        on = engine.evaluate_all(account).enabled_flags()
        assert all(name.startswith("rollout") for name in on), sorted(on)[:5]
    # Where the time goes: each kind of flag alone, compiled into an engine of its own.
    parts = {}
    if shape == "composite":
        for kind in ("regex", "contains", "ne", "pair", "rollout"):
            flags = {k: v for k, v in parsed["flags"].items() if k.startswith(kind)}
            alone = Engine(Ruleset.from_dict({"flags": flags}))
            parts[kind] = per_call(alone.evaluate_all, accounts, rounds, budget) * 1e3
    return {
        "parts_ms": parts,
        "shape": shape,
        "param": param,
        "bytes": size,
        "values": values,
        "flags": len(ruleset.flags),
        "parse_s": parse_s,
        "validate_s": validate_s,
        "compile_s": compile_s,
        "rss_validation_mib": after_validation - base,
        "rss_compile_mib": after_compile - after_validation,
        "rss_requests_mib": after_requests - after_compile,
        "request_ms": request_s * 1e3,
    }


def in_child(shape: str, family: str, per: int, rounds: int, budget: float) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", shape, "--family", family, "--per", str(per)]
    command += ["--rounds", str(rounds), "--budget", str(budget)]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(out)
    return result


# --- the report ------------------------------------------------------------------------------


def problems_table(rounds: int) -> None:
    print("1. validation time against the number of problems (bad ids in one allowlist)")
    print(f"{'bad ids':>10} {'problems':>9} {'ms':>9} {'µs per id':>10}")
    for count in (1_000, 4_000, 16_000, 32_000):
        doc = {"flags": {"beta": {"strategies": [{"type": "accounts", "ids": list(range(count))}]}}}
        error = refuse(doc)
        seconds = median_time(lambda doc=doc: refuse(doc), rounds)
        shown = f"{len(error.problems)}{'+' if error.more else ''}"
        print(f"{count:>10,} {shown:>9} {seconds * 1e3:>9.1f} {seconds / count * 1e6:>10.2f}")
    print()


def issue_document(rounds: int) -> None:
    per = LIMITS["regex_patterns_per_condition"]
    patterns = [f"^acct-{j}$" for j in range(per)]
    strategy = {"type": "attribute", "attribute": "ua", "op": "regex", "values": patterns}
    doc = {"flags": {f"f{i:05d}": {"strategies": [strategy]} for i in range(800_000 // per)}}
    seconds = median_time(lambda: refuse(doc), rounds)
    (problem,) = refuse(doc).problems
    print("2. the issue's document, 800,000 regexes (it was accepted after 29.5 s):")
    print(f"   refused in {seconds * 1e3:.0f} ms: {problem}\n")


def regex_table(rounds: int, budget: float) -> tuple[str, int]:
    print("3. regex conditions at the regex limits, per request (1 KiB attribute text)")
    memory = LIMITS["regex_memory_per_condition"] >> 10
    print(f"   {LIMITS['regex_patterns']} patterns; RE2 memory {memory} KiB a condition")
    print(f"{'family':>12} {'conditions':>11} {'patterns':>9} {'RE2 instr':>10} {'ms/request':>11}")
    accounts = long_accounts(10, seed=5)
    worst, worst_ms, worst_per = "", 0.0, 1
    for family in REGEX_FAMILIES:
        for per in (1, 3, LIMITS["regex_patterns_per_condition"]):
            doc = {"flags": in_flags("r", regex_strategies(family, per), 1)}
            try:
                engine = Engine(Ruleset.from_dict(doc))
            except RulesetError as exc:
                print(f"{family:>12} {per:>11} per condition refused: {exc.problems[0]}")
                continue
            instructions = sum(
                s.strategy.program_size  # type: ignore[union-attr]
                for flag in engine.ruleset.flags.values()
                for s in flag.strategies
            )
            ms = per_call(engine.evaluate_all, accounts, rounds, budget) * 1e3
            conditions = len(doc["flags"])
            patterns = sum(len(f["strategies"][0]["values"]) for f in doc["flags"].values())
            print(f"{family:>12} {conditions:>11} {patterns:>9} {instructions:>10,} {ms:>11.2f}")
            if ms > worst_ms:
                worst, worst_ms, worst_per = family, ms, per
    print(f"   worst: {worst!r}, {worst_per} a condition, used in the composite document\n")
    return worst, worst_per


def documents_table(family: str, per: int, rounds: int, budget: float) -> None:
    print("4. maximal documents, each in a fresh process")
    shapes = ("composite", "allowlists")
    results = [in_child(shape, family, per, rounds, budget) for shape in shapes]
    rows: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("JSON MiB", lambda r: f"{r['bytes'] / 2**20:.1f}"),
        ("values", lambda r: f"{r['values']:,}"),
        ("flags", lambda r: f"{r['flags']:,}"),
        ("json.loads s", lambda r: f"{r['parse_s']:.2f}"),
        ("validate s", lambda r: f"{r['validate_s']:.2f}"),
        ("compile s", lambda r: f"{r['compile_s']:.2f}"),
        ("RSS +MiB validated", lambda r: f"{r['rss_validation_mib']:.0f}"),
        ("RSS +MiB compiled", lambda r: f"{r['rss_compile_mib']:.0f}"),
        ("RSS +MiB 200 requests", lambda r: f"{r['rss_requests_mib']:.0f}"),
        ("evaluate_all µs", lambda r: f"{r['request_ms'] * 1e3:,.1f}"),
    ]
    print(f"{'':>24}" + "".join(f"{r['shape']:>14}" for r in results))
    for label, cell in rows:
        print(f"{label:>24}" + "".join(f"{cell(r):>14}" for r in results))
    print("   evaluate_all of the composite's parts alone, ms a request:")
    for kind, ms in results[0]["parts_ms"].items():
        print(f"{kind:>24}{ms:>14.2f}")
    print()


def baseline(rounds: int, budget: float) -> None:
    doc = make_document(1000)
    validate_s = median_time(lambda: Ruleset.from_dict(doc), rounds)
    ruleset = Ruleset.from_dict(doc)
    compile_s = median_time(lambda: Engine(ruleset), rounds)
    engine = Engine(ruleset)
    us = per_call(engine.evaluate_all, make_accounts(500), rounds, budget) * 1e6
    print("5. baseline: the 1,000-flag mixed ruleset of bench_engine.py")
    print(f"   validate {validate_s * 1e3:.0f} ms, compile {compile_s * 1e3:.0f} ms, ", end="")
    print(f"evaluate_all {us:.1f} µs per account")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--budget", type=float, default=0.5, help="seconds per measurement")
    parser.add_argument("--child", choices=["composite", "allowlists"], help=argparse.SUPPRESS)
    parser.add_argument("--family", default="dot", help=argparse.SUPPRESS)
    parser.add_argument("--per", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = measure_document(args.child, args.family, args.per, args.rounds, args.budget)
        print(json.dumps(result))
        return
    print(f"python {platform.python_version()}, flagware at {Path(flagware.__file__).parent}")
    print(f"{time.strftime('%Y-%m-%d')}, medians of {args.rounds} rounds\n")
    problems_table(args.rounds)
    issue_document(args.rounds)
    family, per = regex_table(args.rounds, args.budget)
    documents_table(family, per, args.rounds, args.budget)
    baseline(args.rounds, args.budget)


if __name__ == "__main__":
    main()
