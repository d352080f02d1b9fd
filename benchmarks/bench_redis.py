"""RedisStore figures: how fast a change reaches every process, and what requests cost.

1. Propagation: ``--followers`` worker processes (8) each follow one RedisStore holding a
   ``--flags``-flag ruleset (1,000, bench_engine's mix); the parent makes 200 one-flag
   changes (in turn: a rollout percentage, an id added to an allowlist, an attribute
   rule's values, a kill switch), one every ``--interval`` ms, and each worker notes when
   it applied each version. Latency is the time from the write returning in the parent to
   the change being applied in a worker (wall clock, one machine), over all workers and
   changes: p50, p99, max. Each worker reads each version against the one it serves and
   compiles only the flag that changed; the apply step itself (read + compile) is timed
   in the parent for the same 200 changes, in sequence as a follower applies them and
   again each right after a cold read + compile of the same version (the baseline, same
   run), which leaves the CPU caches cold. ``--json`` prints only these figures, as JSON.
2. Redis commands per request: 20,000 requests through the WSGI middleware on a
   RedisStore, counted from Redis's own ``INFO commandstats`` before and after (the
   follower's version polls included).
3. Request cost on RedisStore versus MemoryStore: the same middleware, the same 100-flag
   ruleset, rounds interleaved.

Starts its own redis-server (as the tests do).
``python benchmarks/bench_redis.py [--followers 8] [--flags 1000] [--json]``
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import redis
from werkzeug.test import EnvironBuilder

import flagware
from flagware.ruleset import parse_text
from flagware.wsgi import FlagwareMiddleware

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))
from bench_engine import make_document  # noqa: E402
from bench_middleware import ACCOUNT, hundred_flag_document  # noqa: E402

from tests.redis_server import RedisServer  # noqa: E402

WORKERS = 8
CHANGES = 200


def follower(url: str, namespace: str, ready: Any, results: Any, stop: Any) -> None:
    applied: list[tuple[int, float]] = []
    store = flagware.RedisStore.from_url(url, namespace=namespace, snapshot_path=False)
    store.subscribe(lambda ruleset: applied.append((store.version, time.time())))
    ready.put(True)
    stop.wait()
    results.put(applied)
    store.close()


def one_flag_change(doc: dict[str, Any], i: int) -> tuple[str, dict[str, Any]]:
    """The i-th of the benchmark's one-flag changes: which flag, and its new document."""
    names = sorted(doc["flags"])
    kind = i % 4
    # bench_engine's mix: slots 2-3 allowlists, 4-6 rollouts, 7-8 attribute rules.
    slot = {0: 4, 1: 2, 2: 7, 3: 0}[kind]
    name = names[(i * 10 + slot) % len(names)]
    flag = json.loads(json.dumps(doc["flags"][name]))
    if kind == 0:
        flag["strategies"][0]["percent"] = (i % 97) + 1
    elif kind == 1:
        flag["strategies"][0]["ids"].append(f"acct-new-{i}")
    elif kind == 2:
        flag["strategies"][0]["values"] = ["NL", "DE", "FR"][: 1 + i % 3]
    else:
        flag["enabled"] = not flag.get("enabled", True)
    doc["flags"][name] = flag
    return name, flag


def propagation(url: str, interval_s: float, followers: int, flags: int) -> list[float]:
    ctx = mp.get_context("spawn")
    ready, results, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    writer = flagware.RedisStore.from_url(url, namespace="propagation", snapshot_path=False)
    doc = make_document(flags)
    writer.save(doc)
    workers = [
        ctx.Process(target=follower, args=(url, "propagation", ready, results, stop))
        for _ in range(followers)
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.get(timeout=120)
    time.sleep(0.5)
    returned: dict[int, float] = {}
    for i in range(CHANGES):
        version = writer.set_flag(*one_flag_change(doc, i)).version
        returned[version] = time.time()
        time.sleep(interval_s)
    time.sleep(1.0)
    stop.set()
    latencies = []
    for _ in workers:
        applied = sorted(results.get(timeout=60))
        for version, saved_at in returned.items():
            # A follower that finds two new versions applies the newer one only: a change
            # is visible once the worker applied it or any later version.
            seen = next((at for v, at in applied if v >= version), None)
            if seen is None:
                sys.exit(f"a worker never applied version {version}")
            latencies.append((seen - saved_at) * 1000)
    for worker in workers:
        worker.join(timeout=30)
    writer.close()
    return latencies


def apply_costs(flags: int) -> tuple[list[float], list[float], list[float]]:
    """ms to apply each of the benchmark's changes as a follower does (the stored text read
    against the ruleset served, then compiled from its engine): in sequence, as a follower
    applies them, and each straight after a cold read + compile of the version before
    (which leaves the CPU caches cold: an upper bound); and the cold read + compile (read
    and compiled from nothing), the baseline."""
    doc = make_document(flags)
    texts = []
    for i in range(CHANGES):
        one_flag_change(doc, i)
        texts.append(flagware.Ruleset.from_dict(doc)._canonical.data)  # what the writer stores
    first = parse_text(flagware.Ruleset.from_dict(make_document(flags))._canonical.data)
    warm, after_cold, cold = [], [], []
    for times, interleave in ((warm, False), (after_cold, True)):
        served, engine = first, flagware.Engine(first)
        for i, raw in enumerate(texts):
            if interleave:
                start = time.perf_counter()
                read_cold = parse_text(raw)
                flagware.Engine(read_cold)
                cold.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            ruleset = parse_text(raw, previous=served)
            next_engine = flagware.Engine(ruleset, previous=engine)
            times.append((time.perf_counter() - start) * 1000)
            if interleave and ruleset != read_cold:
                sys.exit(f"change {i}: the incremental read differs from the cold one")
            served, engine = ruleset, next_engine
    return warm, after_cold, cold


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(len(ordered) * share) - 1)]


def total_commands(client: redis.Redis) -> int:
    stats = client.info("commandstats")
    return sum(int(v["calls"]) for k, v in stats.items() if k.startswith("cmdstat_"))


def wsgi_request_cost(store: flagware.Store, n: int) -> float:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [b"ok"]

    wrapped = FlagwareMiddleware(app, store=store, resolve_account=lambda r: ACCOUNT)
    environ = EnvironBuilder(path="/", headers={"X-Account-Id": "acct-42"}).get_environ()
    start = time.perf_counter()
    for _ in range(n):
        body = wrapped(dict(environ), lambda *a: None)
        for _ in body:
            pass
        body.close()  # type: ignore[attr-defined]
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--interval", type=float, default=100, help="ms between changes")
    parser.add_argument("--followers", type=int, default=WORKERS)
    parser.add_argument("--flags", type=int, default=1000)
    parser.add_argument("--json", action="store_true", help="propagation figures only, as JSON")
    args = parser.parse_args()
    server = RedisServer().start()
    try:
        latencies = propagation(server.url, args.interval / 1000, args.followers, args.flags)
        warm, after_cold, cold = apply_costs(args.flags)
        figures = {
            "followers": args.followers,
            "flags": args.flags,
            "changes": CHANGES,
            "interval_ms": args.interval,
            "p50_ms": round(statistics.median(latencies), 2),
            "p99_ms": round(percentile(latencies, 0.99), 2),
            "max_ms": round(max(latencies), 2),
            f"apply_ms_{args.flags}_flags": round(statistics.median(warm), 3),
            f"apply_ms_{args.flags}_flags_p99": round(percentile(warm, 0.99), 3),
            f"apply_ms_{args.flags}_flags_caches_cold": round(statistics.median(after_cold), 3),
            f"cold_apply_ms_{args.flags}_flags": round(statistics.median(cold), 3),
            "cold_over_apply": round(statistics.median(cold) / statistics.median(warm), 1),
        }
        if args.json:
            print(json.dumps(figures))
            return
        print(f"python {platform.python_version()} on {platform.machine()}")
        print(
            f"\npropagation to {args.followers} processes, {CHANGES} one-flag changes to "
            f"{args.flags} flags, {args.interval:g} ms apart: p50 {figures['p50_ms']:.2f} ms, "
            f"p99 {figures['p99_ms']:.2f} ms, max {figures['max_ms']:.2f} ms"
        )
        print(
            f"apply of a one-flag change (read against the served ruleset + compile): median "
            f"{statistics.median(warm):.3f} ms (p99 {percentile(warm, 0.99):.3f}), right after "
            f"a cold read {statistics.median(after_cold):.3f} ms; cold read + compile "
            f"{statistics.median(cold):.2f} ms ({figures['cold_over_apply']:g}x)"
        )

        doc = hundred_flag_document()
        client = redis.Redis.from_url(server.url)
        redis_store = flagware.RedisStore.from_url(
            server.url, namespace="requests", snapshot_path=False
        )
        redis_store.save(doc)
        memory_store = flagware.MemoryStore(doc)
        requests = 20_000
        before = total_commands(client)
        wsgi_request_cost(redis_store, requests)
        after = total_commands(client)
        # INFO itself is one command; the follower's version polls are counted in.
        per_request = (after - before - 1) / requests
        print(f"Redis commands during {requests} requests: {after - before - 1}")
        print(f"  = {per_request:.4f} per request (the follower's version polls included)")

        redis_cost, memory_cost = [], []
        for _ in range(args.rounds):
            memory_cost.append(wsgi_request_cost(memory_store, 5000))
            redis_cost.append(wsgi_request_cost(redis_store, 5000))
        m, r = statistics.median(memory_cost), statistics.median(redis_cost)
        print(
            f"WSGI request through the middleware: MemoryStore {m:.1f} µs, RedisStore {r:.1f} µs "
            f"({(r / m - 1) * 100:+.1f} %), medians of {args.rounds}"
        )
        redis_store.close()
        client.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
