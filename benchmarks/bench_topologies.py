"""RedisStore on one server, on Sentinel and on Cluster; and how fast it is back after an
outage.

1. Topologies: the same workload on one redis-server (the baseline), Sentinel (a master,
   a replica, three sentinels; every write waits for the replica), and a 3-master Cluster
   with classic pub/sub and, on Redis 7, with sharded pub/sub. ``--followers`` processes
   each follow one store; a writer makes ``--changes`` edits ``--interval`` ms apart.
   Figures: the write's round trip (set_flag returning), and the time from the write
   returning to each follower having applied it: p50, p99, max, as ratios to the baseline.
2. Back after an outage: the followers serve while Redis is killed for ``--outage``
   seconds and restarted empty; 0.1 s after it is back a writer makes a change. Figure:
   time from that write returning until every follower applied it, with the reconnect
   backoff capped at 0.5 s (now) and at 5 s (before issue 9), in the same run.

Starts every server itself, on loopback, with the suite's redis-server (set
``FLAGWARE_REDIS_SERVER=/usr/bin/redis-server`` for Redis 7 and the sharded variant).
``python benchmarks/bench_topologies.py``
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing as mp
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from bench_middleware import hundred_flag_document  # noqa: E402

import flagware  # noqa: E402
from flagware.stores import _follow as redis_module  # noqa: E402
from tests.redis_server import RedisServer, redis_binary  # noqa: E402
from tests.redis_topologies import cluster_setup, sentinel_setup  # noqa: E402

NAMESPACE = "bench"
# The stores log every outage and restore as they should; here only the figures matter.
logging.getLogger("flagware").setLevel(logging.CRITICAL)


def follower(
    url: str, options: dict[str, Any], reconnect_max: float, ready: Any, results: Any, stop: Any
) -> None:
    """A process following one store, noting when it applied each version."""
    redis_module.RECONNECT_MAX = reconnect_max
    logging.getLogger("flagware").setLevel(logging.CRITICAL)
    applied: list[tuple[int, float]] = []
    store = flagware.RedisStore.from_url(url, namespace=NAMESPACE, snapshot_path=False, **options)
    store.subscribe(lambda ruleset: applied.append((store.version, time.time())))
    ready.put(True)
    stop.wait()
    results.put(applied)
    store.close()


class Followers:
    """``count`` follower processes; ``applied()`` stops them and returns what they saw."""

    def __init__(
        self, url: str, count: int, options: dict[str, Any], reconnect_max: float = 0.5
    ) -> None:
        ctx = mp.get_context("spawn")
        self.ready, self.results, self.stop = ctx.Queue(), ctx.Queue(), ctx.Event()
        self.processes = [
            ctx.Process(
                target=follower,
                args=(url, options, reconnect_max, self.ready, self.results, self.stop),
            )
            for _ in range(count)
        ]
        for process in self.processes:
            process.start()
        for _ in self.processes:
            self.ready.get(timeout=120)

    def applied(self) -> list[list[tuple[int, float]]]:
        self.stop.set()
        seen = [sorted(self.results.get(timeout=60)) for _ in self.processes]
        for process in self.processes:
            process.join(timeout=30)
        return seen


def lags(returned: dict[int, float], seen: list[list[tuple[int, float]]]) -> list[float]:
    """Per follower and change: ms from the write returning to that version (or a later
    one, which includes it) being applied."""
    out = []
    for applied in seen:
        for version, at in returned.items():
            when = next((t for v, t in applied if v >= version), None)
            if when is None:
                sys.exit(f"a follower never applied version {version}")
            out.append((when - at) * 1000)
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def workload(url: str, options: dict[str, Any], args: argparse.Namespace) -> dict[str, float]:
    writer = flagware.RedisStore.from_url(url, namespace=NAMESPACE, snapshot_path=False, **options)
    writer.save(hundred_flag_document())
    followers = Followers(url, args.followers, options)
    time.sleep(0.5)
    returned: dict[int, float] = {}
    writes = []
    for i in range(args.changes):
        rollout = {"strategies": [{"type": "percentage", "percent": i % 100}]}
        started = time.perf_counter()
        version = writer.set_flag("dark_mode", rollout).version
        writes.append((time.perf_counter() - started) * 1000)
        returned[version] = time.time()
        time.sleep(args.interval / 1000)
    time.sleep(1.0)
    latencies = lags(returned, followers.applied())
    writer.close()
    return {
        "write_p50": statistics.median(writes),
        "write_p99": pct(writes, 0.99),
        "lag_p50": statistics.median(latencies),
        "lag_p99": pct(latencies, 0.99),
        "lag_max": max(latencies),
    }


def redis_major() -> int:
    out = subprocess.run([redis_binary(), "--version"], capture_output=True, text=True, check=True)
    return int(out.stdout.split("v=", 1)[1].split(".", 1)[0])


def topologies(args: argparse.Namespace) -> None:
    runs: list[tuple[str, Callable[[], dict[str, float]]]] = []

    def single() -> dict[str, float]:
        server = RedisServer().start()
        try:
            return workload(server.url, {}, args)
        finally:
            server.stop()

    def sentinel() -> dict[str, float]:
        with sentinel_setup(replicas=1) as setup:
            return workload(setup.url, {}, args)

    def cluster(sharded: bool) -> Callable[[], dict[str, float]]:
        def run() -> dict[str, float]:
            with cluster_setup() as setup:
                return workload(setup.url, {"sharded_pubsub": sharded}, args)

        return run

    runs = [
        ("one server (baseline)", single),
        ("sentinel, WAIT 1 replica", sentinel),
        ("cluster, classic pub/sub", cluster(False)),
    ]
    if redis_major() >= 7:
        runs.append(("cluster, sharded pub/sub", cluster(True)))
    results = {name: run() for name, run in runs}
    base = results["one server (baseline)"]
    print(
        f"\n{args.followers} followers, {args.changes} changes {args.interval:g} ms apart, "
        "100-flag ruleset; ms"
    )
    print(
        f"{'setup':<28} {'write p50':>9} {'p99':>7} {'lag p50':>8} {'p99':>7} {'max':>7}"
        f" {'lag p50 / baseline':>19}"
    )
    for name, r in results.items():
        print(
            f"{name:<28} {r['write_p50']:9.2f} {r['write_p99']:7.2f} {r['lag_p50']:8.2f}"
            f" {r['lag_p99']:7.2f} {r['lag_max']:7.2f} {r['lag_p50'] / base['lag_p50']:18.2f}x"
        )


def after_outage(args: argparse.Namespace, reconnect_max: float) -> list[float]:
    """ms from a write made just after Redis is back to each follower having applied it."""
    server = RedisServer().start()
    try:
        writer = flagware.RedisStore.from_url(server.url, namespace=NAMESPACE, snapshot_path=False)
        writer.save(hundred_flag_document())
        followers = Followers(server.url, args.followers, {}, reconnect_max)
        time.sleep(0.5)
        server.kill()
        time.sleep(args.outage)
        server.start()
        time.sleep(0.1)
        deadline = time.monotonic() + 30
        while True:
            try:
                version = writer.set_flag(
                    "dark_mode", {"strategies": [{"type": "everyone"}]}
                ).version
                break
            except flagware.StoreError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        returned = {version: time.time()}
        time.sleep(max(6.0, reconnect_max * 2))
        latencies = lags(returned, followers.applied())
        writer.close()
        return latencies
    finally:
        server.stop()


def outages(args: argparse.Namespace) -> None:
    now: list[float] = []
    before: list[float] = []
    for _ in range(args.rounds):  # interleaved
        now.append(max(after_outage(args, redis_module.RECONNECT_MAX)))
        before.append(max(after_outage(args, 5.0)))
    print(
        f"\nafter a {args.outage:g} s outage, a change made 0.1 s after Redis is back reaches "
        f"all {args.followers} followers in (ms, the slowest follower, median of {args.rounds}):"
    )
    print(
        f"  backoff capped at {redis_module.RECONNECT_MAX:g} s (now): {statistics.median(now):8.0f}"
    )
    print(f"  backoff capped at 5 s (before):       {statistics.median(before):8.0f}")
    print(f"  rounds now: {[round(x) for x in now]}, before: {[round(x) for x in before]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followers", type=int, default=4)
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--interval", type=float, default=50, help="ms between changes")
    parser.add_argument("--outage", type=float, default=3.0, help="seconds Redis is down")
    parser.add_argument("--rounds", type=int, default=3, help="outage rounds")
    parser.add_argument("--only", choices=["topologies", "outages"])
    args = parser.parse_args()
    print(f"python {platform.python_version()} on {platform.machine()}, {redis_binary()}")
    if args.only != "outages":
        topologies(args)
    if args.only != "topologies":
        outages(args)


if __name__ == "__main__":
    main()
