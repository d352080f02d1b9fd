"""Chaos under load: the examples on Redis that is killed, frozen, emptied and corrupted.

For each app the script starts its own redis-server (no persistence) on a free loopback
port, seeds the examples' namespace with ``examples/rules.yaml`` through a RedisStore and
starts the app on it: the Flask example under gunicorn (4 sync workers), then the
Starlette example under uvicorn (``--uvicorn-workers``, 2 by default), with
``FLAGWARE_REDIS_URL`` and every secret the examples read set explicitly, so all workers
agree. Client threads request it for the whole run, a new connection each time:
``GET /api/flags`` with ``X-Account-Id`` for the demo accounts, and anonymously; and one
request in four ``GET /stream``, whose body reports ``is_enabled("new_checkout")``, so
a ruleset missing a flag under ``unknown: released`` shows as that flag released. Events,
one after another, each in a phase of at least ``--duration`` seconds:

- ``kill``: SIGKILL, ``--outage`` seconds down, restarted empty (``--rounds`` times);
- ``stop``: SIGSTOP for ``--stop`` seconds (past the stores' 2 s socket timeout), then
  SIGCONT (``--rounds`` times);
- ``empty``: the namespace's keys deleted, as FLUSHDB would (``--rounds`` times);
- ``change after recovery``: after each of those, a save through a fresh RedisStore;
- ``corrupt ...``: each stored field damaged once, as another tool could (the version,
  the document, the digest, the key's type, the audit stream), the workers told on the
  channel; ``--hold`` seconds later an operator's save repairs it. Last: the same
  document under a 15-digit version (above the highest, 10**12), then a save.

Per response: *failed* is a connection error, a timeout, a status other than 200 or a body
that is not the app's; a *wrong release* is a flag on for the account while no ruleset that
was live during the run (the seeded one and each one the script saved) releases it to that
account, by ``flagware.Engine(ruleset).evaluate_all(account)``. Failing closed is allowed,
releasing is not. *Converge*: after each recovery (Redis back, namespace emptied, a save),
the time until Redis holds the live ruleset again and ``--streak`` consecutive responses,
spread over every worker by the concurrent clients, all give its flags and variants.
*Drift*: responses after that which differ from it (a worker serving something else).
The servers' logs are scanned for tracebacks and replaced workers.

Exits 1 if any request failed, anything was wrongly released, a recovery did not converge
within ``--converge-timeout``, a repair save raised, or a log has a traceback or a worker
died. ``python benchmarks/chaos.py [--json]`` (about 4 minutes on a 2-core VM);
``FLAGWARE_REDIS_SERVER=/usr/bin/redis-server`` for another redis-server (the suite's
rules for finding one apply).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import logging
import os
import platform
import random
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from gunicorn.config import KNOWN_SETTINGS

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import flagware  # noqa: E402
from examples import demo  # noqa: E402
from tests.processes import free_port, serving  # noqa: E402
from tests.redis_server import RedisServer, redis_binary  # noqa: E402

NAMESPACE = "demo"  # the examples' default, set explicitly anyway
TAG = f"{{flagware:{NAMESPACE}}}"
RULESET_KEY, AUDIT_KEY, CHANNEL, LOCK_KEY = (
    f"{TAG}:ruleset",
    f"{TAG}:audit",
    f"{TAG}:changes",
    f"{TAG}:write-lock",
)
PROBE = "new_checkout"  # what /stream reports, through is_enabled (unknown flags included)
CLIENTS: tuple[str | None, ...] = (*demo.DEMO_ACCOUNTS, None)  # None: anonymous
STREAM_LINE = re.compile(r"chunk [0-4]: new_checkout=(True|False)")
REQUEST_TIMEOUT = 5.0
WARM_UP = "warm-up (not an event)"

# Written into Redis by the corruptions: were a worker ever to serve one of these, flags
# would be released that no live ruleset releases (every flag to everyone; or, for the
# empty one, every flag the code checks, through ``unknown: released``).
BUNDLED = flagware.load_ruleset(demo.BUNDLED_RULES)
EVERYONE = {"strategies": [{"type": "everyone"}]}
POISON = {
    "schema": 1,
    "test_users": [],
    "unknown": "released",
    "flags": {name: dict(EVERYONE) for name in BUNDLED.flags},
}
NO_FLAGS = {"schema": 1, "test_users": [], "unknown": "released", "flags": {}}
NOT_JSON = b'{"schema": 1, "flags": {'
INVALID = {**POISON, "flags": {**POISON["flags"], "old_search": {"enabled": "yes"}}}

log = logging.getLogger("flagware")
script_log: list[str] = []  # what the script's own (operator) stores logged


class _Keep(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        script_log.append(record.getMessage())


def narrowed(ruleset: flagware.Ruleset) -> flagware.Ruleset:
    """The bundled ruleset releasing less: saves alternate between the two, so each save
    is visible in the answers, and every live ruleset releases at most what it does.

    The kill switch on ``checkout_button`` changes every ``/api/flags`` answer (test users
    and anonymous requests included), so each one tells whether its worker has the save.
    """
    doc = ruleset.to_dict()
    doc["flags"]["checkout_button"]["enabled"] = False
    doc["flags"]["new_checkout"]["strategies"][0]["ids"] = ["acct-42"]
    doc["flags"]["lucky_digits"]["strategies"][0]["digits"] = [1]
    return flagware.Ruleset.from_dict(doc)


def canonical(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def sha(doc: bytes) -> str:
    return hashlib.sha256(doc).hexdigest()


# --- what the answers should be ---------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    flags: dict[str, bool]
    variants: dict[str, str]
    probe: bool


def expected_answers(ruleset: flagware.Ruleset) -> dict[str | None, Expected]:
    engine = flagware.Engine(ruleset)
    out = {}
    for client in CLIENTS:
        fs = engine.evaluate_all(demo.ACCOUNTS[client] if client else None)
        out[client] = Expected(fs.as_dict(), fs.variants(), fs.is_enabled(PROBE))
    return out


@dataclass
class Figures:
    """Counts for one event kind of one app."""

    events: int = 0
    requests: int = 0
    failed: int = 0
    wrong: int = 0
    drift: int = 0
    latencies: list[float] = field(default_factory=list)
    converge_ms: list[float] = field(default_factory=list)
    unconverged: int = 0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies) or [0.0]
        conv = self.converge_ms
        return {
            "events": self.events,
            "requests": self.requests,
            "failed": self.failed,
            "wrong_releases": self.wrong,
            "drift": self.drift,
            "request_p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 1),
            "request_max_ms": round(lat[-1], 1),
            "converge_median_ms": round(statistics.median(conv), 1) if conv else None,
            "converge_max_ms": round(max(conv), 1) if conv else None,
            "converge_ms": [round(c, 1) for c in conv],
            "unconverged": self.unconverged,
            "problems": self.problems,
        }


class Judge:
    """Knows the live rulesets and the one every worker should serve now; checks answers.

    Shared by the client threads (``record``) and the controller (``aim``, ``converged``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: list[dict[str | None, Expected]] = []
        self._allowed: dict[str | None, set[str]] = {c: set() for c in CLIENTS}
        self.kind = WARM_UP
        self.figures: dict[str, Figures] = {}
        self.samples: list[str] = []  # the first failures and wrong releases, in detail
        self._target: dict[str | None, Expected] = {}
        self._aimed_at = 0.0
        self._streak = 0
        self._streak_first = 0.0
        self._converged_at: float | None = None
        self.streak_needed = 50
        self.started = time.monotonic()

    def add_live(self, ruleset: flagware.Ruleset) -> None:
        """Before a save begins: an answer from it may come before the save returns."""
        answers = expected_answers(ruleset)
        with self._lock:
            self._live.append(answers)
            for client, exp in answers.items():
                self._allowed[client] |= {n for n, on in exp.flags.items() if on}
                if exp.probe:
                    self._allowed[client].add(f"{PROBE} (is_enabled)")

    def phase(self, kind: str) -> Figures:
        with self._lock:
            self.kind = kind
            return self.figures.setdefault(kind, Figures())

    def aim(self, ruleset: flagware.Ruleset) -> None:
        """From now on every worker should come to answer from ``ruleset``."""
        target = expected_answers(ruleset)
        with self._lock:
            self._target = target
            self._aimed_at = time.monotonic()
            self._streak = 0
            self._converged_at = None

    def converged(self) -> float | None:
        """When the current streak of matching answers began, once it is long enough."""
        with self._lock:
            return self._converged_at

    def record(
        self,
        kind: str,
        client: str | None,
        path: str,
        sent: float,
        latency: float,
        failure: str | None,
        released: list[str],
        matches: Callable[[Expected], bool] | None,
    ) -> None:
        now = time.monotonic()
        with self._lock:
            figures = self.figures.setdefault(kind, Figures())
            figures.requests += 1
            figures.latencies.append(latency * 1000)
            wrong = [n for n in released if n not in self._allowed[client]]
            if failure is not None:
                figures.failed += 1
                self._sample(kind, client, f"failed: {failure}")
            if wrong:
                figures.wrong += 1
                self._sample(kind, client, f"wrongly released {wrong}")
            if sent < self._aimed_at or not self._target:
                return
            ok = failure is None and matches is not None and matches(self._target[client])
            # Only /api/flags answers tell the two saved rulesets apart for every client.
            informative = path == "/api/flags"
            if self._converged_at is not None:
                if not ok:
                    figures.drift += 1
                    self._sample(kind, client, "drift: an answer from another ruleset")
                return
            if not ok:
                self._streak = 0
                return
            if not informative:
                return
            self._streak += 1
            if self._streak == 1:
                self._streak_first = now
            if self._streak >= self.streak_needed:
                self._converged_at = self._streak_first

    def _sample(self, kind: str, client: str | None, what: str) -> None:
        if len(self.samples) < 30:
            at = time.monotonic() - self.started
            self.samples.append(f"{at:8.3f}s [{kind}] {client or 'anonymous'}: {what}")


# --- the load ---------------------------------------------------------------------------


class Load:
    """Client threads requesting the app without pause until stopped, each answer judged."""

    def __init__(self, port: int, judge: Judge, threads: int, seed: int) -> None:
        self.port = port
        self.judge = judge
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(random.Random(seed + i),), daemon=True)
            for i in range(threads)
        ]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=REQUEST_TIMEOUT * 2)

    def _run(self, rng: random.Random) -> None:
        while not self._stop.is_set():
            client = rng.choice(CLIENTS)
            path = "/stream" if rng.random() < 0.25 else "/api/flags"
            kind = self.judge.kind
            sent = time.monotonic()
            failure, released, matches = self._request(client, path)
            self.judge.record(
                kind, client, path, sent, time.monotonic() - sent, failure, released, matches
            )

    def _request(
        self, client: str | None, path: str
    ) -> tuple[str | None, list[str], Callable[[Expected], bool] | None]:
        headers = {"Connection": "close"}  # a new connection each time: every worker gets some
        if client is not None:
            headers["X-Account-Id"] = client
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as exc:
            return f"{path}: {type(exc).__name__}: {exc}", [], None
        finally:
            conn.close()
        if status != 200:
            return f"{path}: HTTP {status}: {body[:200]!r}", [], None
        if path == "/stream":
            return self._stream(body)
        return self._flags(client, body)

    @staticmethod
    def _flags(
        client: str | None, body: bytes
    ) -> tuple[str | None, list[str], Callable[[Expected], bool] | None]:
        try:
            data = json.loads(body)
            flags, variants = data["flags"], data["variants"]
            good = (
                data["account"] == client
                and isinstance(flags, dict)
                and all(isinstance(v, bool) for v in flags.values())
                and isinstance(variants, dict)
            )
        except (ValueError, KeyError, TypeError):
            good = False
        if not good:
            return f"/api/flags: not the app's answer: {body[:200]!r}", [], None
        released = [name for name, on in flags.items() if on]

        def matches(expected: Expected) -> bool:
            return flags == expected.flags and variants == expected.variants

        return None, released, matches

    @staticmethod
    def _stream(body: bytes) -> tuple[str | None, list[str], Callable[[Expected], bool] | None]:
        lines = body.decode("utf-8", "replace").splitlines()
        found = [STREAM_LINE.fullmatch(line) for line in lines]
        values = {m.group(1) for m in found if m}
        if len(lines) != 5 or not all(found) or len(values) != 1:
            return f"/stream: not the app's answer: {body[:200]!r}", [], None
        on = values == {"True"}
        released = [f"{PROBE} (is_enabled)"] if on else []
        return None, released, lambda expected: expected.probe == on


# --- Redis, as the script touches it ---------------------------------------------------


TRANSIENT = (redis.ConnectionError, redis.TimeoutError, OSError)


def retrying(action: Callable[[], Any], timeout: float = 20.0) -> Any:
    """``action()``, retried while Redis is coming back (connection errors only)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return action()
        except (*TRANSIENT, flagware.StoreError) as exc:
            transient = isinstance(exc, TRANSIENT) or isinstance(exc.__cause__, TRANSIENT)
            if not transient or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def operator_save(url: str, ruleset: flagware.Ruleset) -> int:
    """A save as an operator makes it (``flagware push``): a fresh store, no snapshot."""
    store = flagware.RedisStore.from_url(url, namespace=NAMESPACE, snapshot_path=False)
    try:
        return store.save(ruleset, actor="chaos operator").version
    finally:
        store.close()


def holds(client: redis.Redis, ruleset: flagware.Ruleset) -> bool:
    """Whether Redis holds ``ruleset`` in a form every process serves."""
    try:
        if client.type(RULESET_KEY) != b"hash":
            return False
        fields = client.hgetall(RULESET_KEY)
    except (redis.ConnectionError, redis.TimeoutError):
        return False
    doc, version, digest = fields.get(b"doc"), fields.get(b"version"), fields.get(b"digest")
    if doc is None or version is None or not re.fullmatch(rb"[1-9][0-9]{0,14}", version):
        return False
    if digest is not None and digest.decode("ascii", "replace") != sha(doc):
        return False
    try:
        stored = flagware.Ruleset.from_dict(json.loads(doc))
    except (ValueError, flagware.RulesetError):
        return False
    return canonical(stored.to_dict()) == canonical(ruleset.to_dict())


def stored_version(client: redis.Redis) -> int:
    raw = client.hget(RULESET_KEY, "version")
    return int(raw) if raw and raw.isdigit() else 0


@dataclass(frozen=True)
class Corruption:
    name: str
    damage: Callable[[redis.Redis, int], object]  # the client, the version Redis holds


POISON_DIGEST = sha(canonical(POISON))


def _rewrite(client: redis.Redis, doc: Any, version: bytes | str, digest: str | None) -> None:
    raw = doc if isinstance(doc, bytes) else canonical(doc)
    fields: dict[str, bytes | str] = {"doc": raw, "version": version}
    if digest is not None:
        fields["digest"] = digest
    client.hset(RULESET_KEY, mapping=fields)


def _garbage_audit(client: redis.Redis, version: int) -> None:
    client.xadd(AUDIT_KEY, {"version": "garbage", "doc": b"\xff\xfe{"})
    client.xadd(AUDIT_KEY, {"junk": b"\x00\x01"})
    client.xadd(AUDIT_KEY, {"version": str(version), "digest": "0" * 64, "doc": b"{"})
    client.xadd(AUDIT_KEY, {"version": str(version + 1), "digest": "bad", "doc": canonical(POISON)})


def _highest_audit(client: redis.Redis, version: int) -> None:
    client.xadd(AUDIT_KEY, {"version": "9" * 15, "actor": "junk"})


def _highest_version(client: redis.Redis, version: int) -> None:
    """The same document under a 15-digit version, above the highest there is (10**12)."""
    doc = client.hget(RULESET_KEY, "doc") or b""
    _rewrite(client, doc, "9" * 15, sha(doc))


CORRUPTIONS = [
    Corruption(
        "version: not an integer",
        lambda c, v: _rewrite(c, POISON, f"{v + 1}.0", POISON_DIGEST),
    ),
    Corruption(
        "version: not UTF-8",
        lambda c, v: _rewrite(c, POISON, b"\xff\xfe" + str(v + 1).encode(), POISON_DIGEST),
    ),
    Corruption(
        "version: 16 digits", lambda c, v: _rewrite(c, POISON, "1" + "0" * 15, POISON_DIGEST)
    ),
    Corruption(
        "doc: not JSON",
        lambda c, v: _rewrite(c, NOT_JSON, str(v + 1), sha(NOT_JSON)),
    ),
    Corruption(
        "doc: an invalid ruleset",
        lambda c, v: _rewrite(c, INVALID, str(v + 1), sha(canonical(INVALID))),
    ),
    Corruption(
        "doc: edited in place, digest kept",
        lambda c, v: _rewrite(c, POISON, str(v), None),
    ),
    Corruption(
        "doc: edited in place, new digest, no flags",
        lambda c, v: _rewrite(c, NO_FLAGS, str(v), sha(canonical(NO_FLAGS))),
    ),
    Corruption("digest: wrong", lambda c, v: _rewrite(c, POISON, str(v + 1), "0" * 64)),
    Corruption(
        "key: a string, not a hash",
        lambda c, v: (c.delete(RULESET_KEY), c.set(RULESET_KEY, canonical(POISON))),
    ),
    Corruption(
        "audit: a string, not a stream",
        lambda c, v: (c.delete(AUDIT_KEY), c.set(AUDIT_KEY, b"\xff garbage")),
    ),
    Corruption("audit: garbage entries", _garbage_audit),
    Corruption("audit: an entry above the highest version", _highest_audit),
    # Last: after it no save may be served again (see the report in BENCHMARKS.md).
    Corruption("version: 15 digits, above the highest, same document", _highest_version),
]


# --- the apps ---------------------------------------------------------------------------


@dataclass(frozen=True)
class App:
    name: str
    workers: int
    command: Callable[[int], list[str]]
    booted: re.Pattern[str]  # a line each worker process logs once it serves


def _gunicorn_extra() -> list[str]:
    """Newer gunicorn opens a control socket in ~/.gunicorn unless told not to."""
    for setting in KNOWN_SETTINGS:
        if "--no-control-socket" in (setting.cli or ()):
            return ["--no-control-socket"]
    return []


def gunicorn_command(port: int) -> list[str]:
    return [
        sys.executable, "-m", "gunicorn", "-w", "4", "--worker-class", "sync",
        "--bind", f"127.0.0.1:{port}", "--log-level", "info", "--timeout", "30",
        "--graceful-timeout", "2", *_gunicorn_extra(), "examples.flask_app.app:app",
    ]  # fmt: skip


def uvicorn_command(workers: int) -> Callable[[int], list[str]]:
    def command(port: int) -> list[str]:
        return [
            sys.executable, "-m", "uvicorn", "examples.starlette_app.app:app",
            "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
            *(["--workers", str(workers)] if workers > 1 else []),
        ]  # fmt: skip

    return command


def apps(uvicorn_workers: int) -> dict[str, App]:
    return {
        "flask": App(
            "Flask example, gunicorn -w 4 (sync)",
            4,
            gunicorn_command,
            re.compile(r"Booting worker with pid"),
        ),
        "starlette": App(
            f"Starlette example, uvicorn --workers {uvicorn_workers}",
            uvicorn_workers,
            uvicorn_command(uvicorn_workers),
            re.compile(r"Started server process"),
        ),
    }


def app_env(url: str, cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLAGWARE_")}
    return {
        **env,
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "FLAGWARE_REDIS_URL": url,
        "FLAGWARE_NAMESPACE": NAMESPACE,
        # Set here, so every worker signs and verifies with the same ones.
        "FLAGWARE_DEMO_SECRET": secrets.token_urlsafe(32),
        "FLAGWARE_TOKEN_SECRET": secrets.token_urlsafe(32),
        "FLAGWARE_ADMIN_USER": "admin",
        "FLAGWARE_ADMIN_PASSWORD": secrets.token_urlsafe(16),
        # The stores' snapshots (shared by the workers of one app) in this run's directory.
        "XDG_CACHE_HOME": str(cache),
    }


def http_ok(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        conn.request("GET", "/api/flags")
        return conn.getresponse().status == 200
    finally:
        conn.close()


@dataclass
class LogReport:
    tracebacks: int
    worker_starts: int
    flagware_lines: dict[str, int]
    excerpt: list[str]


LOG_KINDS = {
    "lost Redis": "lost Redis",
    "restored after data loss": "found no ruleset in Redis and restored",
    "renumbered": "older than the version",
    "connected again": "is connected again",
    "rejected what Redis holds": "rejected ",
    "changed in place": "changed without a new version",
    "serves Redis again": "serves what Redis holds again",
    "failing closed": "FAILING CLOSED",
    "snapshot": "serving the snapshot",
    "bootstrap": "serves its bootstrap",
    "unexpected error": "unexpected error",
}


def scan_log(path: Path, app: App) -> LogReport:
    text = path.read_text(errors="replace")
    lines = text.splitlines()
    counts = {k: sum(1 for line in lines if needle in line) for k, needle in LOG_KINDS.items()}
    excerpt: list[str] = []
    for i, line in enumerate(lines):
        if line.startswith("Traceback") and len(excerpt) < 60:
            excerpt += lines[max(0, i - 2) : i + 25]
    return LogReport(
        text.count("Traceback (most recent call last)"),
        sum(1 for line in lines if app.booted.search(line)),
        {k: v for k, v in counts.items() if v},
        excerpt,
    )


def process_tree(pid: int) -> set[int]:
    """The descendants of ``pid`` (a server's workers)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of one process so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- one app through every event --------------------------------------------------------


class Run:
    def __init__(self, args: argparse.Namespace, server: RedisServer, judge: Judge) -> None:
        self.args = args
        self.server = server
        self.judge = judge
        self.client = redis.Redis.from_url(server.url, socket_timeout=5, socket_connect_timeout=5)
        self.live = BUNDLED
        self.saves = 0

    def converge(self, figures: Figures, since: float, what: str) -> None:
        """Wait until Redis holds the live ruleset and the answers agree; note how long."""
        deadline = since + self.args.converge_timeout
        in_redis: float | None = None
        while time.monotonic() < deadline:
            if in_redis is None and holds(self.client, self.live):
                in_redis = time.monotonic()
            answered = self.judge.converged()
            if in_redis is not None and answered is not None:
                figures.converge_ms.append(max(0.0, max(in_redis, answered) - since) * 1000)
                return
            time.sleep(0.01)
        figures.unconverged += 1
        figures.problems.append(
            f"{what}: not converged within {self.args.converge_timeout:g} s (Redis holds the "
            f"live ruleset: {in_redis is not None}; the answers agree: "
            f"{self.judge.converged() is not None})"
        )

    def save_next(self, figures: Figures, what: str) -> float:
        """Save the other ruleset as an operator; returns when the save returned."""
        self.live = narrowed(BUNDLED) if self.saves % 2 == 0 else BUNDLED
        self.saves += 1
        self.judge.add_live(self.live)
        self.judge.aim(self.live)
        for attempt in range(3):
            try:  # Redis is up: any error is a finding
                operator_save(self.server.url, self.live)
                break
            except Exception as exc:  # a refused repair is a finding, not a crash
                figures.problems.append(f"{what}: save attempt {attempt + 1} raised {exc!r}")
        return time.monotonic()

    def fill(self, began: float) -> None:
        left = self.args.duration - (time.monotonic() - began)
        if left > 0:
            time.sleep(left)

    def start(self) -> None:
        figures = self.judge.phase(WARM_UP)
        self.judge.aim(self.live)
        self.converge(figures, time.monotonic(), "start")

    def outage(self, kind: str) -> None:
        for round_ in range(self.args.rounds):
            figures = self.judge.phase(kind)
            figures.events += 1
            began = time.monotonic()
            time.sleep(self.args.lead)
            if kind == "kill":
                self.server.kill()
                time.sleep(self.args.outage)
                self.server.start()
            elif kind == "stop":
                self.server.pause()
                time.sleep(self.args.stop)
                self.server.resume()
            else:
                retrying(lambda: self.client.delete(RULESET_KEY, AUDIT_KEY, LOCK_KEY))
            recovered = time.monotonic()
            self.judge.aim(self.live)
            self.converge(figures, recovered, f"{kind} {round_ + 1}")
            self.fill(began)
            self.change_after(kind, round_)

    def change_after(self, kind: str, round_: int) -> None:
        figures = self.judge.phase("change after recovery")
        figures.events += 1
        began = time.monotonic()
        saved = self.save_next(figures, f"change after {kind} {round_ + 1}")
        self.converge(figures, saved, f"change after {kind} {round_ + 1}")
        self.fill(began)

    def corrupt(self, corruption: Corruption) -> None:
        figures = self.judge.phase(f"corrupt {corruption.name}")
        figures.events += 1
        began = time.monotonic()
        time.sleep(self.args.lead)
        version = stored_version(self.client)
        corruption.damage(self.client, version)
        self.client.publish(CHANNEL, str(version + 1))  # as a writer would announce it
        time.sleep(self.args.hold)
        saved = self.save_next(figures, f"repair of {corruption.name}")
        self.converge(figures, saved, f"repair of {corruption.name}")
        self.fill(began)


@contextlib.contextmanager
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.stop()


def run_app(app: App, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    judge = Judge()
    judge.streak_needed = args.streak
    cache = workdir / f"{app.name.split()[0].lower()}-cache"
    cache.mkdir(mode=0o700)
    log_path = workdir / f"{app.name.split()[0].lower()}.log"
    port = free_port()
    started = time.monotonic()
    with redis_server() as server:
        judge.add_live(BUNDLED)
        retrying(lambda: operator_save(server.url, BUNDLED))
        run = Run(args, server, judge)

        def ready() -> bool:
            booted = sum(1 for line in log_path.read_text(errors="replace").splitlines()
                         if app.booted.search(line))  # fmt: skip
            return booted >= app.workers and http_ok(port)

        env = app_env(server.url, cache)
        with (
            serving(app.command(port), env, ready, log_path, start_timeout=60) as server_proc,
            Load(port, judge, args.threads, args.seed),
        ):
            run.start()
            workers = process_tree(server_proc.pid)
            cpu_before = {pid: cpu_seconds(pid) for pid in workers}
            for kind in ("kill", "stop", "empty"):
                run.outage(kind)
            if not args.no_corruptions:
                for corruption in CORRUPTIONS:
                    run.corrupt(corruption)
            time.sleep(args.lead)
            # Where the requests went: every worker should have served its share.
            worker_cpu = {pid: round(cpu_seconds(pid) - cpu_before[pid], 1) for pid in workers}
        run.client.close()
    report = scan_log(log_path, app)
    return {
        "app": app.name,
        "seconds": round(time.monotonic() - started, 1),
        "kinds": {k: f.summary() for k, f in judge.figures.items()},
        "samples": judge.samples,
        "log": {
            "path": str(log_path),
            "tracebacks": report.tracebacks,
            "worker_starts": report.worker_starts,
            "workers": app.workers,
            "cpu_seconds": worker_cpu,
            "flagware": report.flagware_lines,
            "excerpt": report.excerpt,
        },
    }


# --- output -----------------------------------------------------------------------------


def totals(kinds: dict[str, dict[str, Any]]) -> dict[str, Any]:
    out = {k: sum(v[k] for v in kinds.values()) for k in
           ("events", "requests", "failed", "wrong_releases", "drift", "unconverged")}  # fmt: skip
    # The warm-up's wait for the workers to start is no recovery.
    conv = [c for k, v in kinds.items() if k != WARM_UP for c in v["converge_ms"]]
    out["converge_median_ms"] = round(statistics.median(conv), 1) if conv else None
    out["converge_max_ms"] = round(max(conv), 1) if conv else None
    out["request_max_ms"] = max((v["request_max_ms"] for v in kinds.values()), default=0)
    return out


def verdict(result: dict[str, Any]) -> list[str]:
    """Why this app's run fails the check (empty: it passes)."""
    why = []
    t = result["total"]
    if t["failed"]:
        why.append(f"{t['failed']} requests failed")
    if t["wrong_releases"]:
        why.append(f"{t['wrong_releases']} answers released a flag no live ruleset releases")
    if t["unconverged"]:
        why.append(f"{t['unconverged']} recoveries did not converge")
    problems = [p for k in result["kinds"].values() for p in k["problems"]]
    if any("raised" in p for p in problems):
        why.append("a save raised")
    if result["log"]["tracebacks"]:
        why.append(f"{result['log']['tracebacks']} tracebacks in the server's log")
    if result["log"]["worker_starts"] > result["log"]["workers"]:
        why.append("a worker died and was replaced")
    return why


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def print_table(result: dict[str, Any]) -> None:
    print(f"\n{result['app']} ({result['seconds']:g} s)")
    width = max(len(k) for k in result["kinds"])
    head = (
        f"{'event kind':<{width}} {'events':>6} {'requests':>9} {'failed':>6} {'wrong':>6}"
        f" {'drift':>5} {'req max ms':>10} {'conv med ms':>11} {'conv max ms':>11}"
    )
    print(head)
    print("-" * len(head))
    rows = list(result["kinds"].items())
    rows.append(("total", result["total"]))
    for name, v in rows:
        print(
            f"{name:<{width}} {v['events']:>6} {v['requests']:>9,} {v['failed']:>6} "
            f"{v['wrong_releases']:>6} {v['drift']:>5} {fmt(v['request_max_ms']):>10} "
            f"{fmt(v['converge_median_ms']):>11} {fmt(v['converge_max_ms']):>11}"
        )
    for kind, v in result["kinds"].items():
        for problem in v["problems"]:
            print(f"  problem [{kind}]: {problem}")
    for sample in result["samples"][:15]:
        print(f"  {sample}")
    lg = result["log"]
    print(
        f"  server log: {lg['tracebacks']} tracebacks, {lg['worker_starts']} worker starts "
        f"for {lg['workers']} workers; flagware lines: {lg['flagware']}"
    )
    print(f"  CPU seconds of the server's processes during the run: {lg['cpu_seconds']}")
    for line in lg["excerpt"][:40]:
        print(f"  | {line}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", default="flask,starlette", help="flask, starlette or both")
    parser.add_argument("--rounds", type=int, default=3, help="kills, stops and emptyings each")
    parser.add_argument("--duration", type=float, default=3.0, help="s of load per phase, at least")
    parser.add_argument("--outage", type=float, default=2.0, help="s Redis is down, killed")
    parser.add_argument(
        "--stop", type=float, default=4.0, help="s Redis is stopped (the stores time out after 2)"
    )
    parser.add_argument("--hold", type=float, default=1.0, help="s a corruption stays")
    parser.add_argument("--lead", type=float, default=0.5, help="s of load before each event")
    parser.add_argument("--threads", type=int, default=4, help="client threads")
    parser.add_argument("--streak", type=int, default=50, help="agreeing answers = converged")
    parser.add_argument("--converge-timeout", type=float, default=20.0)
    parser.add_argument("--uvicorn-workers", type=int, default=2)
    parser.add_argument("--no-corruptions", action="store_true")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--keep-logs", type=Path, help="a directory for the servers' logs")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    log.addHandler(_Keep())
    log.propagate = False
    log.setLevel(logging.WARNING)
    chosen = apps(args.uvicorn_workers)
    names = [n.strip() for n in args.apps.split(",") if n.strip()]
    if not names or any(n not in chosen for n in names):
        parser.error(f"--apps: choose from {', '.join(chosen)}")
    binary = redis_binary()
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True)
    began = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="flagware-chaos-", dir=args.keep_logs))
    results = []
    for name in names:
        result = run_app(chosen[name], args, workdir)
        result["total"] = totals(result["kinds"])
        result["fails"] = verdict(result)
        results.append(result)
        if not args.json:
            print_table(result)
    summary = {
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "redis_server": f"{binary} ({version.stdout.split()[2]})",
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "seconds": round(time.monotonic() - began, 1),
        "apps": results,
        "operator_log": script_log[-50:],
        "passed": not any(r["fails"] for r in results),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"\n{summary['redis_server']}, python {summary['python']}, {summary['seconds']:g} s")
        for r in results:
            print(f"{r['app']}: {'; '.join(r['fails']) or 'passed'}")
        print(f"server logs in {workdir}")
    return 0 if summary["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
