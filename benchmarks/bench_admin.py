"""Operator-facing figures: how fast the admin panel answers, and how long a CLI change takes.

1. Panel pages, in-process (Starlette's TestClient, a MemoryStore): the flag list, a flag's
   edit form, a save (validate + commit + redirect), history and explain, for rulesets of
   100 and 1,000 flags. Median of ``--rounds`` requests each, in milliseconds. Baseline in
   the same run: a bare Starlette page returning the same number of bytes as the flag list,
   so the figure says what the panel itself costs on top of the test client.
2. The command line, as a process (the ``flagware`` entry point, against a real
   redis-server this script starts): ``flagware set FLAG --percent N`` end to end, and
   ``flagware --help``. Baselines in the same run, interleaved with them round by round so
   a busy machine slows all alike: ``python -c pass`` (starting an interpreter at all) and
   ``python -c "import redis"`` (that, plus importing redis-py, which any command on Redis
   pays), ``import click, redis`` (the floor of a ``set`` that parses its arguments with
   click) and ``import click, pydantic, redis`` with one model built (the libraries a
   ``set`` uses, validator included). Each figure is also given as a ratio to them.

   flagware's bytecode is compiled first, as ``pip install`` does. Otherwise, where
   ``PYTHONDONTWRITEBYTECODE`` is set (as on the machine these figures come from), every
   process would compile flagware's modules from source, which no installed copy does.
   ``--against REV`` also times ``set`` as the code at git revision ``REV`` runs it (its
   own copy of the package, its ruleset pushed with its own ``flagware push``), in the
   same rounds, and prints the paired ratio: a before/after that does not depend on how
   fast the machine is that day. It also prints the floor's ratio to that ``set``, paired
   the same way: the least any ``set`` on click and redis-py could reach.

``python benchmarks/bench_admin.py`` (``--cli`` for the command line only)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route
from starlette.testclient import TestClient

import flagware
from flagware.admin import BasicAuth, admin_app
from flagware.admin.forms import fingerprint

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.revision import checkout, compiled, on_path  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402


def document(size: int) -> dict[str, Any]:
    return {
        "test_users": ["testuser1"],
        "flags": {
            f"flag_{i}": {
                "description": f"Feature {i}",
                "strategies": [
                    {"type": "percentage", "percent": i % 100},
                    {"type": "accounts", "ids": [f"acct-{j}" for j in range(5)]},
                ],
            }
            for i in range(size)
        },
    }


def median_ms(call: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def panel(size: int, rounds: int) -> None:
    store = flagware.MemoryStore(document(size))
    client = TestClient(admin_app(store, auth=BasicAuth("bench", "bench")))
    client.auth = ("bench", "bench")
    page = client.get("/").content
    bare = TestClient(
        Starlette(routes=[Route("/", lambda request: HTMLResponse(page))])  # type: ignore[arg-type,return-value]
    )
    form = client.get("/flags/flag_5").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    seen = re.search(r'name="seen" value="([^"]+)"', form)
    assert token
    assert seen
    percent = iter(range(10**6))

    def save() -> None:
        current = store.ruleset().flags["flag_5"].to_dict()
        response = client.post(
            "/flags/flag_5",
            data={
                "csrf_token": token.group(1),
                "seen": fingerprint(current),
                "strategy_count": "1",
                "s0.type": "percentage",
                "s0.percent": str(next(percent) % 100),
                "save": "1",
            },
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text[:300]

    rows = {
        "bare page, same bytes (baseline)": lambda: bare.get("/"),
        "flag list": lambda: client.get("/"),
        "flag edit form": lambda: client.get("/flags/flag_5"),
        "save an edit": save,
        "history": lambda: client.get("/history"),
        "explain (every flag)": lambda: client.get("/explain?account=acct-3&number=13"),
    }
    print(f"\n{size} flags (flag list {len(page) // 1024} KiB)")
    for name, call in rows.items():
        print(f"  {name:34} {median_ms(call, rounds):8.1f} ms")


FLOOR = 'python -c "import click, redis"'
"""What any ``set`` that talks to Redis with redis-py and parses its options with click pays."""
LIBRARIES = "import click, redis, pydantic (one model built)"
"""The libraries ``flagware set`` cannot do without: the floor under flagware's own part."""
_ONE_MODEL = (
    "import click, redis; from pydantic import BaseModel; "
    "type('M', (BaseModel,), {'__annotations__': {'a': int}})"
)
SET = "flagware set flag_5 --percent N"


def _cli(tree: Path) -> list[str]:
    """The command line of the flagware package in ``tree``."""
    return on_path(tree, "from flagware.cli import main; main()")


def cli(rounds: int, against: str | None = None) -> None:
    flagware_bin = str(Path(sys.executable).with_name("flagware"))
    compiled(ROOT)
    server = RedisServer().start()
    scratch = tempfile.TemporaryDirectory()
    try:
        env = {**os.environ, "FLAGWARE_REDIS_URL": server.url, "FLAGWARE_NAMESPACE": "bench"}
        with flagware.RedisStore.from_url(
            server.url, namespace="bench", snapshot_path=False
        ) as store:
            store.save(document(100))
        step = iter(range(10**6))

        def percent() -> str:
            return str(next(step) % 100 + 1)

        commands: dict[str, Callable[[], list[str]]] = {
            "python -c pass": lambda: [sys.executable, "-c", "pass"],
            'python -c "import redis"': lambda: [sys.executable, "-c", "import redis"],
            FLOOR: lambda: [sys.executable, "-c", "import click, redis"],
            LIBRARIES: lambda: [sys.executable, "-c", _ONE_MODEL],
            "flagware --help": lambda: [flagware_bin, "--help"],
            SET: lambda: [flagware_bin, "set", "flag_5", "--percent", percent()],
        }
        envs = dict.fromkeys(commands, env)
        old = f"{SET} at {against}"
        if against is not None:
            tree = checkout(against, Path(scratch.name))
            rules = Path(scratch.name) / "rules.json"
            rules.write_text(json.dumps(document(100)))
            envs[old] = {**env, "FLAGWARE_NAMESPACE": "against"}
            subprocess.run(
                [*_cli(tree), "push", str(rules)], env=envs[old], check=True, capture_output=True
            )
            commands[old] = lambda: [*_cli(tree), "set", "flag_5", "--percent", percent()]
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(rounds):  # interleaved: what slows one round slows every command
            for name, command in commands.items():
                args = command()
                start = time.perf_counter()
                subprocess.run(args, env=envs[name], check=True, capture_output=True)
                times[name].append(time.perf_counter() - start)
    finally:
        server.stop()
        scratch.cleanup()
    medians = {name: statistics.median(t) * 1000 for name, t in times.items()}
    bare, with_redis = medians["python -c pass"], medians['python -c "import redis"']
    floor, libraries = medians[FLOOR], medians[LIBRARIES]
    print(f"\ncommand line (100-flag ruleset in Redis), median of {rounds} processes each")
    print(
        f"  {'':47} {'median':>8}    {'x pass':>7} {'x import redis':>15} {'x click+redis':>14}"
        f" {'x libraries':>12}"
    )
    for name, median in medians.items():
        print(
            f"  {name:47} {median:8.1f} ms {median / bare:7.1f} {median / with_redis:15.2f}"
            f" {median / floor:14.2f} {median / libraries:12.2f}"
        )
    if against is not None:
        pairs = zip(times[SET], times[old], strict=True)
        paired = statistics.median(new / was for new, was in pairs)
        print(f"  {SET} / the same at {against}, paired by round: {paired:.3f}")
        # No change to flagware can take `set` under its libraries' import: the least a
        # before/after ratio on click and redis-py can be.
        pairs = zip(times[FLOOR], times[old], strict=True)
        least = statistics.median(floor / was for floor, was in pairs)
        print(f"  {FLOOR} / {SET} at {against}, paired (the least it can be): {least:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--cli", action="store_true", help="Measure the command line only.")
    parser.add_argument(
        "--against", metavar="REV", help="Also time `flagware set` as git revision REV runs it."
    )
    args = parser.parse_args()
    print(f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores")
    print(f"medians of {args.rounds} rounds")
    if not args.cli:
        for size in (100, 1000):
            panel(size, args.rounds)
    cli(max(5, args.rounds // 2) if not args.cli else args.rounds, args.against)


if __name__ == "__main__":
    main()
