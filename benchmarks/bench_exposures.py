"""What recording exposures costs a request (issue 13), in-process.

A trivial WSGI app behind flagware's middleware (the 100-flag ruleset of
bench_middleware) reads 1 or 20 distinct flags per request: with no hook registered, and
with one (an ``on_exposure`` callback that only counts, so the figure is flagware's
cost, not the hook's). Rounds are interleaved; medians are printed, with the ratio to the
same reads without a hook.

Two costs are separate: the request's (what the middleware call takes, the flusher held
back while it is timed, so its work does not land in the request's figure), and the
flusher's, per exposure (turning the queued read into an Exposure, its variant and
reason worked out, and calling the hook), timed as the flush after each round. The
flusher runs in the same interpreter, so at full load its work competes for the CPU.

    python benchmarks/bench_exposures.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from werkzeug.test import EnvironBuilder

import flagware
import flagware.exposures as fx
from flagware.wsgi import FlagwareMiddleware

sys.path.insert(0, str(Path(__file__).parent))
from bench_middleware import ACCOUNT, hundred_flag_document

BATCH = 200  # requests between two flushes, as a busy worker serves in a fraction of 0.5 s


def timed(run: Callable[[], object], budget_s: float = 0.4) -> tuple[float, float, int]:
    """µs per request, and the flushes' µs per exposure: batches of requests timed, each
    followed by an untimed flush (the queue stays as short as the flusher keeps it)."""
    requests_s = flush_s = 0.0
    n = exposures = 0
    while requests_s < budget_s:
        started = time.perf_counter()
        for _ in range(BATCH):
            run()
        requests_s += time.perf_counter() - started
        n += BATCH
        started = time.perf_counter()
        exposures += fx.flush()
        flush_s += time.perf_counter() - started
    return requests_s / n * 1e6, flush_s / max(exposures, 1) * 1e6, exposures


def request(store: flagware.Store, reads: int) -> Callable[[], object]:
    names = list(store.ruleset().flags)[:reads]
    flags = flagware.flags

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        for name in names:
            flags.is_enabled(name)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"pong"]

    wrapped = FlagwareMiddleware(app, store=store, resolve_account=lambda r: ACCOUNT)
    environ = EnvironBuilder(path="/ping").get_environ()

    def run() -> None:
        body = wrapped(dict(environ), lambda status, headers, exc_info=None: None)
        for _ in body:
            pass
        body.close()  # type: ignore[attr-defined]

    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    store = flagware.MemoryStore(hundred_flag_document())
    delivered = [0]

    def count(exposure: fx.Exposure) -> None:
        delivered[0] += 1

    print(
        f"{'reads/request':>14} {'no hook µs':>11} {'hook µs':>9} {'ratio':>6} {'dropped':>8}"
        f" {'flusher µs/exp':>12}"
    )
    for reads in (1, 20):
        run = request(store, reads)
        plain: list[float] = []
        hooked: list[float] = []
        flushes: list[float] = []
        dropped = fx.stats().dropped
        fx.configure(max_queue=5_000_000, interval=3600)  # no drops, no flush while timed
        for _ in range(args.rounds):
            plain.append(timed(run)[0])
            fx.on_exposure(count)
            cost, flush, _ = timed(run)
            hooked.append(cost)
            flushes.append(flush)
            fx.remove_hook(count)
        fx.configure(max_queue=10_000, interval=0.5)
        dropped = fx.stats().dropped - dropped
        base, cost = statistics.median(plain), statistics.median(hooked)
        flush = statistics.median(flushes)
        print(
            f"{reads:>14} {base:>11.2f} {cost:>9.2f} {cost / base:>6.2f} {dropped:>8}"
            f" {flush:>12.2f}"
        )
    print(f"exposures delivered: {delivered[0]:,}")


if __name__ == "__main__":
    main()
