"""What flagware's middleware costs a request, in-process and under real servers.

1. In-process: a trivial WSGI / ASGI app called directly, bare and wrapped in flagware's
   middleware with a 100-flag ruleset; the difference is the middleware's own cost per
   request (resolving the account, evaluating every flag, the context).
2. Servers: requests per second of the examples' plain endpoint (``/ping``) without
   flagware, without it but resolving the account as the example does (what any app pays
   to know who is asking), and with the middleware, same ruleset (the example flags plus
   mixed ones, 100 in all), same load generator (wrk, one connection pool), rounds
   interleaved, changes paired per round: Starlette under uvicorn and
   Flask under gunicorn (sync worker). Needs ``wrk`` on PATH (``apt-get install wrk``).
   On a machine with two cores or more the server runs on the first and wrk on the second
   (CPU affinity), and besides requests per second the server's CPU time per request is
   printed (user + system, from /proc): the steadier of the two on a noisy machine.
3. With ``--instructions`` (needs ``valgrind``): the instructions each server executes
   per ``/ping`` request, counted by callgrind, for the bare example, the bare example
   that only resolves the account (its own resolver: what any app does to know who is
   asking), and the example with flagware. Counts do not depend on what else the
   machine is doing: the same code gives the same figure to a fraction of a percent.

    python benchmarks/bench_middleware.py [--rounds 5] [--duration 8] [--no-servers]
                                          [--instructions]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml
from werkzeug.test import EnvironBuilder

import flagware
from flagware.asgi import FlagwareMiddleware as AsgiMiddleware
from flagware.wsgi import FlagwareMiddleware as WsgiMiddleware

sys.path.insert(0, str(Path(__file__).parent))
from bench_engine import make_document

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = flagware.Account("acct-42", number=4211, attributes={"country": "NL", "plan": "pro"})


def hundred_flag_document() -> dict[str, Any]:
    """The example ruleset's flags, topped up to 100 with the engine benchmark's mix."""
    doc = yaml.safe_load((ROOT / "examples" / "rules.yaml").read_text())
    extra = make_document(100 - len(doc["flags"]))["flags"]
    doc["flags"].update(extra)
    return doc


def per_call_us(fn: Callable[[], object], budget_s: float = 0.4) -> float:
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < budget_s:
        for _ in range(200):
            fn()
        n += 200
    return (time.perf_counter() - start) / n * 1e6


def wsgi_costs(store: flagware.Store, rounds: int) -> tuple[float, float]:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"pong"]

    wrapped = WsgiMiddleware(app, store=store, resolve_account=lambda r: ACCOUNT)
    environ = EnvironBuilder(path="/ping", headers={"X-Account-Id": "acct-42"}).get_environ()

    def call(target: Any) -> Callable[[], object]:
        def run() -> None:
            body = target(dict(environ), lambda status, headers, exc_info=None: None)
            for _ in body:
                pass
            getattr(body, "close", lambda: None)()

        return run

    bare = statistics.median(per_call_us(call(app)) for _ in range(rounds))
    full = statistics.median(per_call_us(call(wrapped)) for _ in range(rounds))
    return bare, full


def asgi_costs(store: flagware.Store, rounds: int) -> tuple[float, float]:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"pong"})

    wrapped = AsgiMiddleware(app, store=store, resolve_account=lambda c: ACCOUNT)
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/ping",
        "headers": [(b"x-account-id", b"acct-42")],
        "query_string": b"",
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        return None

    async def measure(target: Any, n: int = 20_000) -> float:
        start = time.perf_counter()
        for _ in range(n):
            await target(dict(scope), receive, send)
        return (time.perf_counter() - start) / n * 1e6

    bare = statistics.median(asyncio.run(measure(app)) for _ in range(rounds))
    full = statistics.median(asyncio.run(measure(wrapped)) for _ in range(rounds))
    return bare, full


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start")


PINNED = hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= 2
SERVER_CPU, LOAD_CPU = sorted(os.sched_getaffinity(0))[:2] if PINNED else (None, None)


def pinned_to(cpu: int | None) -> Callable[[], None] | None:
    """A ``preexec_fn`` that keeps a child process on one CPU (None: anywhere)."""
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its children so far (gunicorn's worker is
    a child of its master), from /proc; 0 where there is no /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # the process ended meanwhile
            continue
        this, parent = int(stat.parent.name), int(fields[1])
        if pid in (this, parent):
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def wrk(port: int, duration: float) -> tuple[float, int]:
    """Requests per second and requests done, by wrk for ``duration`` seconds."""
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            "-c16",
            f"-d{round(duration)}s",
            "-H",
            "X-Account-Id: acct-42",
            f"http://127.0.0.1:{port}/ping",
        ],
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=pinned_to(LOAD_CPU),
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    done = re.search(r"(\d+) requests in", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if match is None or done is None or errors:
        raise RuntimeError(f"wrk failed or saw errors:\n{out}")
    return float(match.group(1)), int(done.group(1))


def server_command(kind: str, target: str, port: int) -> list[str]:
    if kind == "uvicorn":
        return [
            sys.executable,
            "-m",
            "uvicorn",
            target,
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "-w",
        "1",
        "-b",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        target,
    ]


def serve_and_measure(kind: str, target: str, rules: Path, duration: float) -> tuple[float, float]:
    """Requests per second, and the server's CPU µs per request."""
    port = free_port()
    env = {**os.environ, "FLAGWARE_RULES": str(rules), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        server_command(kind, target, port),
        cwd=ROOT,
        env=env,
        preexec_fn=pinned_to(SERVER_CPU),  # noqa: PLW1509 - no threads started yet
    )
    try:
        wait_ready(port)
        wrk(port, 2)  # warm-up
        before = cpu_seconds(proc.pid)
        rps, done = wrk(port, duration)
        return rps, (cpu_seconds(proc.pid) - before) / done * 1e6
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def instructions_per_request(
    kind: str, target: str, rules: Path, short: int = 200, long: int = 1200
) -> float:
    """Instructions a server (``kind``: uvicorn or gunicorn) runs per ``GET /ping``,
    counted by callgrind, in every process it starts (gunicorn's worker is a child).

    Two runs, of ``short`` and ``long`` sequential requests (keep-alive where the server
    keeps connections: gunicorn's sync worker closes each): the difference divided by
    ``long - short`` cancels the start-up and shut-down.
    """
    counts = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (short, long):
            port, out = free_port(), Path(tmp) / str(n)
            out.mkdir()
            command = server_command(kind, target, port)
            if kind == "gunicorn":  # under valgrind a slow worker is not a stuck one
                command[-1:-1] = ["--timeout", "600"]
            proc = subprocess.Popen(
                [
                    "valgrind",
                    "--tool=callgrind",
                    "--trace-children=yes",
                    f"--callgrind-out-file={out}/callgrind.%p",
                    *command,
                ],
                cwd=ROOT,
                env={**os.environ, "FLAGWARE_RULES": str(rules), "PYTHONPATH": str(ROOT)},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                wait_ready(port, timeout=180)
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                for _ in range(n):
                    connection.request("GET", "/ping", headers={"X-Account-Id": "acct-42"})
                    response = connection.getresponse()
                    response.read()
                    if response.status != 200:
                        raise RuntimeError(f"{target}: /ping answered {response.status}")
                    if response.will_close:
                        connection.close()
                connection.close()
            finally:
                # Both servers exit cleanly on SIGINT (gunicorn stops its worker first), and
                # callgrind writes each process's count as it exits.
                proc.send_signal(signal.SIGINT)
                proc.wait(timeout=120)
            total = 0
            for each in out.iterdir():
                found = re.search(r"^(?:summary|totals): (\d+)", each.read_text(), re.MULTILINE)
                if found is None:
                    raise RuntimeError(f"no instruction count in {each}")
                total += int(found.group(1))
            counts.append(total)
    return (counts[1] - counts[0]) / (long - short)


def print_instructions(rules: Path, configs: list[tuple[str, str, str, str, str]]) -> None:
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not on PATH (apt-get install valgrind)")
    for label, kind, with_app, bare_app, resolving_app in configs:
        print(f"\n  {label}, instructions per request (callgrind)")
        bare = instructions_per_request(kind, bare_app, rules)
        rows = [
            ("without flagware", bare),
            (
                "without, resolving the account",
                instructions_per_request(kind, resolving_app, rules),
            ),
            ("with flagware", instructions_per_request(kind, with_app, rules)),
        ]
        for name, count in rows:
            print(f"    {name:32} {count:9.0f}   {(count / bare - 1) * 100:+5.1f} %")


def paired_change(
    runs: list[tuple[float, float]], bases: list[tuple[float, float]], i: int
) -> float:
    """The median over rounds of ``runs[r][i] / bases[r][i] - 1``, in percent: each round
    compared with the baseline measured right before it, so drift between rounds cancels."""
    return (
        statistics.median(run[i] / base[i] - 1 for run, base in zip(runs, bases, strict=True)) * 100
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--no-servers", action="store_true")
    parser.add_argument("--instructions", action="store_true", help="count them (valgrind)")
    args = parser.parse_args()
    doc = hundred_flag_document()
    store = flagware.MemoryStore(doc)
    print(
        f"python {platform.python_version()} on {platform.machine()}, {time.strftime('%Y-%m-%d')}"
    )
    print(f"{len(doc['flags'])} flags; medians of {args.rounds} rounds\n")

    print("in-process, µs per request   bare   with flagware   flagware's cost")
    for name, costs in (("WSGI", wsgi_costs), ("ASGI", asgi_costs)):
        bare, full = costs(store, args.rounds)
        print(f"  {name:27} {bare:6.1f}   {full:13.1f}   {full - bare:10.1f}")
    evaluate = statistics.median(
        per_call_us(lambda: store.engine().evaluate_all(ACCOUNT)) for _ in range(args.rounds)
    )
    print(f"  of which evaluate_all        {evaluate:6.1f}")

    if args.no_servers:
        return
    if shutil.which("wrk") is None:
        sys.exit("wrk is not on PATH (apt-get install wrk); use --no-servers to skip")
    configs = [
        (
            "Starlette example, uvicorn",
            "uvicorn",
            "examples.starlette_app.app:app",
            "benchmarks.bare_apps:starlette_app",
            "benchmarks.bare_apps:starlette_resolving",
        ),
        (
            "Flask example, gunicorn sync",
            "gunicorn",
            "examples.flask_app.app:app",
            "benchmarks.bare_apps:flask_app",
            "benchmarks.bare_apps:flask_resolving",
        ),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        rules = Path(tmp) / "rules.yaml"
        rules.write_text(yaml.safe_dump(doc))
        where = f"server on CPU {SERVER_CPU}, wrk on CPU {LOAD_CPU}" if PINNED else "unpinned"
        print(f"\nGET /ping ({where})")
        print(
            "  without: no flagware; resolving: no flagware, the example's account resolver "
            "only (what an app pays to know who is asking); with: flagware"
        )
        if args.instructions:
            print_instructions(rules, configs)
        for label, kind, with_app, bare_app, resolving_app in configs:
            targets = {"without": bare_app, "resolving": resolving_app, "with": with_app}
            runs: dict[str, list[tuple[float, float]]] = {name: [] for name in targets}
            for _ in range(args.rounds):  # interleaved, so drift hits every target alike
                for name, target in targets.items():
                    runs[name].append(serve_and_measure(kind, target, rules, args.duration))
            heading = f"{'without':>9} {'resolving':>9} {'with':>9}"
            print(f"\n  {label:36} {heading}  with vs without, vs resolving (paired)")
            for i, (what, unit) in enumerate((("req/s", "{:9.0f}"), ("CPU µs/req", "{:9.1f}"))):
                cells = " ".join(
                    unit.format(statistics.median(r[i] for r in runs[n])) for n in targets
                )
                changes = ", ".join(
                    f"{paired_change(runs['with'], runs[base], i):+5.1f} %"
                    for base in ("without", "resolving")
                )
                print(f"  {'  ' + what:36} {cells}  {changes}")
            for name, measured in runs.items():
                print(
                    f"    rounds {name + ':':10} {[(round(r), round(c, 1)) for r, c in measured]}"
                )


if __name__ == "__main__":
    main()
