"""RedisStore figures: how fast a change reaches every process, and what requests cost.

1. Propagation: 8 worker processes each follow one RedisStore holding a 100-flag
   ruleset; the parent makes 200 changes (a rollout percentage each), one every
   ``--interval`` ms, and each worker notes when it applied each version. Latency is the
   time from the write returning in the parent to the change being applied in a worker
   (wall clock, one machine), over all workers and changes: p50, p99, max. Every worker
   validates and compiles every version it applies: at short intervals 8 processes on
   2 cores queue up behind each other, which the figures then include.
2. Redis commands per request: 20,000 requests through the WSGI middleware on a
   RedisStore, counted from Redis's own ``INFO commandstats`` before and after (the
   follower's version polls included).
3. Request cost on RedisStore versus MemoryStore: the same middleware, the same 100-flag
   ruleset, rounds interleaved.

Starts its own redis-server (as the tests do). ``python benchmarks/bench_redis.py``
"""

from __future__ import annotations

import argparse
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
from flagware.wsgi import FlagwareMiddleware

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))
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


def propagation(url: str, interval_s: float) -> list[float]:
    ctx = mp.get_context("spawn")
    ready, results, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    writer = flagware.RedisStore.from_url(url, namespace="propagation", snapshot_path=False)
    writer.save(hundred_flag_document())
    workers = [
        ctx.Process(target=follower, args=(url, "propagation", ready, results, stop))
        for _ in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.get(timeout=60)
    time.sleep(0.5)
    returned: dict[int, float] = {}
    for i in range(CHANGES):
        rollout = {"strategies": [{"type": "percentage", "percent": i % 100}]}
        version = writer.set_flag("dark_mode", rollout).version
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
    args = parser.parse_args()
    server = RedisServer().start()
    try:
        print(f"python {platform.python_version()} on {platform.machine()}")
        latencies = sorted(propagation(server.url, args.interval / 1000))
        p50 = statistics.median(latencies)
        p99 = latencies[int(len(latencies) * 0.99) - 1]
        print(
            f"\npropagation to {WORKERS} processes, {CHANGES} changes {args.interval:g} ms apart: "
            f"p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {latencies[-1]:.2f} ms"
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
