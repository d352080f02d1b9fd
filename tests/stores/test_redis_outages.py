"""RedisStore under failure: a crashed, restarted, hung or silent Redis; forks; contention.

Everything runs against real redis-server processes (``own_redis`` gives each test private
ones it may kill, restart empty, or freeze with SIGSTOP) and, where workers matter, a real
gunicorn serving ``tests.stores.redis_app``. Every process a test starts is stopped in a
``finally``, whatever the outcome. Waits are generous polling loops: a slow machine makes
a test slower, never red; only a wrong answer (or no answer at all) does.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from werkzeug.test import Client

import flagware
from flagware import Account, RedisStore
from flagware.wsgi import FlagwareMiddleware
from tests.processes import stop_group
from tests.redis_server import RedisServer, free_port
from tests.stored import write_ruleset

REPO_ROOT = Path(__file__).resolve().parents[2]
WSGI_APP = "tests.stores.redis_app:app"
PROBE = "probe_not_in_ruleset"  # as in redis_app: absent from the ruleset
WAIT = 20.0  # seconds anything gets to happen before a test fails
RESTORE_ACTION = "restore after data loss"

# ``unknown: released``: were a process ever to serve an empty ruleset (an empty Redis read
# as "no flags"), the probe and every unfinished feature would be released to everyone.
DOC: dict[str, Any] = {
    "schema": 1,
    "test_users": [],
    "unknown": "released",
    "flags": {
        "on_flag": {"strategies": [{"type": "everyone"}]},
        "off_flag": {"enabled": False, "strategies": [{"type": "everyone"}]},
        "unfinished": {"strategies": []},
    },
}
ACCT_FLAG = {"strategies": [{"type": "accounts", "ids": ["acct-1"]}]}
NEW_FLAG = {"strategies": [{"type": "everyone"}]}
# acct-1's flags once the ruleset is DOC plus ``acct_flag`` (version 2 in every test).
EXPECTED = {"on_flag": True, "off_flag": False, "unfinished": False, "acct_flag": True}
EXPECTED_NEW = {**EXPECTED, "new_flag": True}


def wait_until(condition: Callable[[], bool], timeout: float = WAIT, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def raw_client(server: RedisServer) -> redis.Redis:
    return redis.Redis.from_url(server.url, socket_timeout=5, socket_connect_timeout=5)


def keys(namespace: str) -> tuple[str, str, str]:
    tag = f"{{flagware:{namespace}}}"
    return f"{tag}:ruleset", f"{tag}:audit", f"{tag}:changes"


def audit_entries(client: redis.Redis, namespace: str) -> list[dict[str, str]]:
    """The audit stream, oldest first, as text fields (without the documents)."""
    _, audit, _ = keys(namespace)
    out = []
    for _, raw in client.xrange(audit, "-", "+"):
        fields = {k.decode(): v.decode() for k, v in raw.items()}
        fields.pop("doc", None)
        out.append(fields)
    return out


def seed(url: str, namespace: str, tmp_path: Path) -> int:
    """Put DOC + acct_flag in Redis with a short-lived store; returns the version (2)."""
    with RedisStore.from_url(
        url, namespace=namespace, snapshot_path=tmp_path / "seed-snapshot.json"
    ) as writer:
        writer.save(DOC, actor="seed")
        return writer.set_flag("acct_flag", ACCT_FLAG, actor="seed").version


@contextlib.contextmanager
def writer_store(url: str, namespace: str, tmp_path: Path) -> Iterator[RedisStore]:
    with RedisStore.from_url(
        url, namespace=namespace, snapshot_path=tmp_path / "writer-snapshot.json"
    ) as store:
        assert isinstance(store, RedisStore)
        yield store


# --- gunicorn ---------------------------------------------------------------------------


def _no_control_socket() -> list[str]:
    """Newer gunicorn opens a control socket in ~/.gunicorn unless told not to."""
    from gunicorn.config import KNOWN_SETTINGS

    for setting in KNOWN_SETTINGS:
        if "--no-control-socket" in (setting.cli or ()):
            return ["--no-control-socket"]
    return []


def request_json(base: tuple[str, int], path: str, timeout: float = 10.0) -> dict[str, Any]:
    conn = http.client.HTTPConnection(*base, timeout=timeout)
    try:
        conn.request("GET", path, headers={"X-Account-Id": "acct-1"})
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise AssertionError(f"GET {path}: HTTP {response.status}: {body[:300]!r}")
        data: dict[str, Any] = json.loads(body)
        return data
    finally:
        conn.close()


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...; comm may hold spaces and parentheses
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.add(int(entry))
    return found


@dataclass
class Gunicorn:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    workers: set[int] = field(default_factory=set)

    @property
    def base(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-5000:]

    def flags(self, sleep: float = 0.0) -> dict[str, Any]:
        return request_json(self.base, f"/flags?sleep={sleep}" if sleep else "/flags")

    def until_every_worker(
        self, condition: Callable[[dict[str, Any]], bool], timeout: float = WAIT
    ) -> dict[int, dict[str, Any]]:
        """Spread concurrent requests until each worker has answered ``condition``-true.

        Returns each worker's latest answer; fails naming the workers that never did.
        """
        satisfied: dict[int, dict[str, Any]] = {}
        latest: dict[int, dict[str, Any]] = {}
        deadline = time.monotonic() + timeout
        with ThreadPoolExecutor(max_workers=8) as pool:
            while time.monotonic() < deadline:
                for answer in pool.map(lambda _: self.flags(sleep=0.05), range(8)):
                    latest[answer["pid"]] = answer
                    if condition(answer):
                        satisfied[answer["pid"]] = answer
                if self.workers <= satisfied.keys():
                    return satisfied
        missing = {
            pid: latest.get(pid, "<never answered>") for pid in self.workers - set(satisfied)
        }
        raise AssertionError(
            f"workers never satisfied the condition within {timeout}s: {missing}\n"
            + self.log_text()
        )


@contextlib.contextmanager
def gunicorn(
    url: str, namespace: str, tmp_path: Path, *, preload: bool = False, workers: int = 4
) -> Iterator[Gunicorn]:
    """gunicorn with ``workers`` sync workers on redis_app; always stopped at exit."""
    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn",
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers),
        "--worker-class", "sync",
        "--timeout", "30",
        "--graceful-timeout", "2",
        "--log-level", "warning",
        *(["--preload"] if preload else []),
        *_no_control_socket(),
        WSGI_APP,
    ]  # fmt: skip
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "FLAGWARE_TEST_REDIS_URL": url,
        "FLAGWARE_TEST_NAMESPACE": namespace,
        # One snapshot file for all workers (what the default path amounts to as well):
        # the store replaces it atomically, so readers never see half of one.
        "FLAGWARE_TEST_SNAPSHOT": str(tmp_path / "gunicorn-snapshot.json"),
        "FLAGWARE_TEST_POLL": "1.0",
    }
    env.pop("PYTHONWARNINGS", None)
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Gunicorn(proc, port, log)
    try:

        def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"gunicorn exited with {proc.returncode}\n{server.log_text()}")
            try:
                request_json(server.base, "/flags", timeout=1)
            except (OSError, AssertionError):
                return False
            return len(children_of(proc.pid)) == workers

        assert wait_until(ready, timeout=30, step=0.05), "gunicorn not ready\n" + server.log_text()
        server.workers = children_of(proc.pid)
        yield server
    finally:
        stop_group(proc)


class Hammer:
    """Client threads requesting /flags without pause, checking every answer."""

    def __init__(self, server: Gunicorn, threads: int = 2) -> None:
        self.server = server
        self.stop = threading.Event()
        self.answers: list[dict[str, Any]] = []
        self.failures: list[str] = []
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                answer = self.server.flags()
            except Exception as exc:  # a failed request is what this test is looking for
                with self._lock:
                    self.failures.append(f"{time.time():.3f} {type(exc).__name__}: {exc}")
                continue
            with self._lock:
                self.answers.append(answer)
                if (
                    answer["flags"] not in (EXPECTED, EXPECTED_NEW)
                    or answer["probe"] is not True
                    or answer["version"] < 2
                ):
                    self.failures.append(f"{time.time():.3f} wrong flags: {answer}")

    def __enter__(self) -> Hammer:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=30)
        assert not any(thread.is_alive() for thread in self._threads)

    def count(self, condition: Callable[[dict[str, Any]], bool]) -> int:
        with self._lock:
            return sum(1 for answer in self.answers if condition(answer))


# --- 1. Redis killed and restarted empty under load --------------------------------------


def test_gunicorn_workers_serve_through_a_redis_crash_and_restore_it(
    own_redis: Callable[[], RedisServer], namespace: str, tmp_path: Path
) -> None:
    server = own_redis()
    version = seed(server.url, namespace, tmp_path)
    key, _, _ = keys(namespace)
    with gunicorn(server.url, namespace, tmp_path) as app:
        app.until_every_worker(lambda a: a["version"] == version and a["connected"])
        with Hammer(app) as hammer:
            assert wait_until(lambda: hammer.count(lambda a: True) >= 20)
            server.kill()  # SIGKILL: no persistence, the data is gone
            assert wait_until(lambda: hammer.count(lambda a: not a["connected"]) >= 20), (
                "the workers never noticed that Redis is gone"
            )
            time.sleep(2.0)
            server.start()  # empty, on the same port
            with raw_client(server) as client:
                assert wait_until(lambda: client.exists(key) == 1), "nobody restored the ruleset"
                # Every worker reconnects and finds the restored version, not an empty Redis.
                answers = app.until_every_worker(
                    lambda a: a["connected"] and a["version"] == version
                )
                assert {a["source"] for a in answers.values()} == {"redis"}
                restored = client.hgetall(key)
                assert int(restored[b"version"]) == version
                doc = json.loads(restored[b"doc"])
                assert doc["flags"]["on_flag"] == DOC["flags"]["on_flag"]
                assert set(doc["flags"]) == {*DOC["flags"], "acct_flag"}
                entries = audit_entries(client, namespace)
                # First writer wins: four workers raced, exactly one restored.
                assert [e["action"] for e in entries] == [RESTORE_ACTION], entries
                assert entries[0]["version"] == str(version)

            with writer_store(server.url, namespace, tmp_path) as writer:
                assert writer.version == version
                new_version = writer.set_flag("new_flag", NEW_FLAG, actor="after-recovery").version
            assert new_version == version + 1
            app.until_every_worker(
                lambda a: a["flags"] == EXPECTED_NEW and a["version"] == new_version
            )
            served_during_outage = hammer.count(lambda a: not a["connected"])
        assert children_of(app.proc.pid) == app.workers, "a worker died and was replaced"
    assert hammer.failures == [], hammer.failures[:20]
    assert served_during_outage >= 20
    assert len(hammer.answers) >= 100


# --- 2. Redis hung (SIGSTOP) ------------------------------------------------------------


def flags_app(store: RedisStore) -> Client:
    def app(environ: Any, start_response: Any) -> list[bytes]:
        body = json.dumps(
            {"flags": flagware.flags.as_dict(), "probe": flagware.flags.is_enabled(PROBE)}
        )
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body.encode()]

    wrapped = FlagwareMiddleware(app, store=store, resolve_account=lambda r: Account(id="acct-1"))
    return Client(wrapped)


def timed_get(client: Client) -> tuple[float, dict[str, Any]]:
    started = time.monotonic()
    response = client.get("/")
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    data: dict[str, Any] = response.get_json()
    return elapsed, data


def test_requests_stay_prompt_while_redis_hangs(
    own_redis: Callable[[], RedisServer], namespace: str, tmp_path: Path
) -> None:
    server = own_redis()
    version = seed(server.url, namespace, tmp_path)
    socket_timeout = 2.0
    with RedisStore.from_url(
        server.url,
        namespace=namespace,
        poll_interval=0.5,
        socket_timeout=socket_timeout,
        snapshot_path=tmp_path / "snapshot.json",
    ) as store:
        assert isinstance(store, RedisStore)
        client = flags_app(store)
        assert store.version == version
        assert wait_until(lambda: store.health().connected)
        slowest = 0.0
        requests_while_paused = 0
        server.pause()
        try:
            paused_at = time.monotonic()
            # Keep asking until the store has noticed, and then for one more socket timeout.
            noticed_at: float | None = None
            while noticed_at is None or time.monotonic() < noticed_at + socket_timeout:
                elapsed, data = timed_get(client)
                requests_while_paused += 1
                slowest = max(slowest, elapsed)
                assert elapsed < 1.0, f"a request took {elapsed:.2f}s while Redis hung"
                assert data == {"flags": EXPECTED, "probe": True}
                if noticed_at is None and not store.health().connected:
                    noticed_at = time.monotonic()
                assert time.monotonic() - paused_at < WAIT, "never noticed the hung Redis"
                time.sleep(0.005)
            state = store.health()
            assert not state.connected
            assert state.version == version
            assert state.stale_since is not None
            assert state.last_error
        finally:
            server.resume()
        with writer_store(server.url, namespace, tmp_path) as writer:
            new_version = writer.set_flag("new_flag", NEW_FLAG).version
        assert wait_until(lambda: timed_get(client)[1]["flags"] == EXPECTED_NEW)
        assert store.version == new_version
        assert wait_until(lambda: store.health().connected and store.health().stale_since is None)
    assert requests_while_paused > 10


# --- 3. A lost pub/sub message -----------------------------------------------------------


def test_poll_applies_a_version_whose_message_was_lost(
    own_redis: Callable[[], RedisServer], namespace: str, tmp_path: Path
) -> None:
    server = own_redis()
    seed(server.url, namespace, tmp_path)
    _, _, channel = keys(namespace)
    poll_interval = 1.0
    with (
        RedisStore.from_url(
            server.url,
            namespace=namespace,
            poll_interval=poll_interval,
            snapshot_path=tmp_path / "snapshot.json",
        ) as store,
        writer_store(server.url, namespace, tmp_path) as writer,
        raw_client(server) as client,
        client.pubsub(ignore_subscribe_messages=True) as listener,
    ):
        # First a normal write: the follower is subscribed and in its steady loop.
        published = writer.set_flag("acct_flag", ACCT_FLAG | {"description": "v3"}).version
        assert wait_until(lambda: store.version == published)
        listener.subscribe(channel)
        assert wait_until(lambda: listener.get_message(timeout=0.1) is None, timeout=5)

        doc = store.ruleset().to_dict()
        doc["flags"]["new_flag"] = NEW_FLAG
        silent = published + 1
        write_ruleset(client, namespace, json.dumps(doc), silent, publish=False)
        written_at = time.monotonic()
        assert wait_until(lambda: store.version == silent, timeout=poll_interval + 5)
        took = time.monotonic() - written_at
        assert store.ruleset().flags["new_flag"] is not None
        assert listener.get_message(timeout=0.2) is None, "the write was published after all"
    assert took < poll_interval + 5


# --- 4. Many writers in many processes ---------------------------------------------------

WRITER_SCRIPT = """
import json, os, sys, threading, time
from pathlib import Path
from flagware import RedisStore

url, namespace, index, threads, edits, workdir = sys.argv[1:]
index, threads, edits, workdir = int(index), int(threads), int(edits), Path(workdir)
store = RedisStore.from_url(url, namespace=namespace, snapshot_path=False,
                            history_length=100000, poll_interval=30)
(workdir / f"ready-{index}").touch()
deadline = time.monotonic() + 60
while not (workdir / "go").exists():
    if time.monotonic() > deadline:
        sys.exit("never told to go")
    time.sleep(0.005)
versions, errors = [], []
def edit(t):
    for i in range(edits):
        name = f"p{index}_t{t}_{i:03d}"
        try:
            versions.append(store.set_flag(
                name, {"strategies": [{"type": "accounts", "ids": [name]}]}, actor=name).version)
        except Exception as exc:
            errors.append(f"{name}: {type(exc).__name__}: {exc}")
workers = [threading.Thread(target=edit, args=(t,)) for t in range(threads)]
for w in workers: w.start()
for w in workers: w.join()
store.close()
print(json.dumps({"versions": versions, "errors": errors}))
"""


# 8 processes x 4 threads: 32 writers at once, 800 edits in all. Each edit validates the
# whole (growing) ruleset and all 8 processes validate and compile the versions they
# follow, so this takes about two minutes on two cores.
PROCESSES, THREADS, EDITS_PER_THREAD = 8, 4, 25


def test_concurrent_edits_from_eight_processes_all_land_once(
    redis_server: RedisServer, namespace: str, tmp_path: Path
) -> None:
    processes, threads, edits = PROCESSES, THREADS, EDITS_PER_THREAD
    total = processes * threads * edits
    with RedisStore.from_url(
        redis_server.url, namespace=namespace, snapshot_path=False, history_length=100000
    ) as store:
        initial = store.save(DOC, actor="seed").version
    workdir = tmp_path / "writers"
    workdir.mkdir()
    procs: list[subprocess.Popen[str]] = []
    try:
        for index in range(processes):
            args = [redis_server.url, namespace, index, threads, edits, workdir]
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", WRITER_SCRIPT, *map(str, args)],
                    cwd=REPO_ROOT,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    start_new_session=True,
                )
            )
        assert wait_until(
            lambda: (
                len(list(workdir.glob("ready-*"))) == processes
                or any(p.poll() is not None for p in procs)
            ),
            timeout=60,
        )
        (workdir / "go").touch()
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=400)
            assert proc.returncode == 0, err[-3000:]
            results.append(json.loads(out))
    finally:
        for proc in procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()

    errors = [e for r in results for e in r["errors"]]
    assert errors == [], errors[:10]
    returned = sorted(v for r in results for v in r["versions"])
    assert returned == list(range(initial + 1, initial + total + 1))

    expected_names = {f"p{p}_t{t}_{i:03d}" for p in range(processes) for t in range(threads)
                      for i in range(edits)}  # fmt: skip
    with RedisStore.from_url(
        redis_server.url, namespace=namespace, snapshot_path=False, history_length=100000
    ) as store:
        assert store.version == initial + total
        assert set(store.ruleset().flags) == set(DOC["flags"]) | expected_names
        history = store.history(limit=10000)
    assert [c.version for c in history] == list(range(initial + total, 0, -1))
    assert all(c.previous_version == c.version - 1 for c in history)
    edits_seen = [c for c in history if c.action == "set_flag"]
    assert sorted(c.actor for c in edits_seen) == sorted(expected_names)
    for change in edits_seen:  # each entry records exactly its own edit
        assert change.summary.get("flags_added") == [change.actor], change
    with raw_client(redis_server) as client:
        raw_versions = [int(e["version"]) for e in audit_entries(client, namespace)]
    assert raw_versions == list(range(1, initial + total + 1))


# --- 5. Forks: gunicorn --preload, and a bare os.fork() ----------------------------------


def test_preloaded_store_follows_changes_in_every_gunicorn_worker(
    own_redis: Callable[[], RedisServer], namespace: str, tmp_path: Path
) -> None:
    server = own_redis()
    version = seed(server.url, namespace, tmp_path)
    with gunicorn(server.url, namespace, tmp_path, preload=True) as app:
        assert app.proc.pid not in app.workers
        app.until_every_worker(lambda a: a["version"] == version and a["flags"] == EXPECTED)
        with writer_store(server.url, namespace, tmp_path) as writer:
            new_version = writer.set_flag("new_flag", NEW_FLAG).version
        app.until_every_worker(lambda a: a["version"] == new_version and a["flags"] == EXPECTED_NEW)
        assert children_of(app.proc.pid) == app.workers


def _read_line(fd: int, timeout: float) -> str:
    """One line from a pipe, or what came before the timeout / end of file."""
    data = b""
    deadline = time.monotonic() + timeout
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        chunk = os.read(fd, 1)
        if not chunk:
            break
        data += chunk
    return data.decode()


def test_a_forked_child_follows_changes_made_after_the_fork(
    redis_server: RedisServer, namespace: str, tmp_path: Path
) -> None:
    version = seed(redis_server.url, namespace, tmp_path)
    with RedisStore.from_url(
        redis_server.url,
        namespace=namespace,
        poll_interval=30,  # the change must come by pub/sub, through the child's own follower
        snapshot_path=tmp_path / "snapshot.json",
    ) as store:
        assert isinstance(store, RedisStore)
        assert store.version == version
        read_fd, write_fd = os.pipe()
        with warnings.catch_warnings():
            # Python 3.12+ warns about forking a multi-threaded process: that is the point.
            warnings.filterwarnings("ignore", "This process .* fork", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # the child: report over the pipe, never return into pytest
            status = 1
            try:
                os.close(read_fd)
                os.write(write_fd, b"ready\n")
                deadline = time.monotonic() + WAIT
                while time.monotonic() < deadline and "new_flag" not in store.ruleset().flags:
                    time.sleep(0.01)
                os.write(write_fd, f"{store.version} {store.health()}\n".encode())
                status = 0
            finally:
                os._exit(status)
        try:
            os.close(write_fd)
            assert _read_line(read_fd, WAIT) == "ready\n"
            new_version = store.set_flag("new_flag", NEW_FLAG).version
            report = _read_line(read_fd, WAIT + 10)
            assert report.split(" ", 1)[0] == str(new_version), report
        finally:
            os.close(read_fd)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


# --- 6. Redis restarted empty under several stores --------------------------------------


def test_exactly_one_store_restores_an_emptied_redis(
    own_redis: Callable[[], RedisServer], namespace: str, tmp_path: Path
) -> None:
    server = own_redis()
    version = seed(server.url, namespace, tmp_path)
    key, _, _ = keys(namespace)
    stores: list[RedisStore] = []
    applied: list[dict[str, Any]] = []
    try:
        for i in range(3):
            store = RedisStore.from_url(
                server.url,
                namespace=namespace,
                poll_interval=0.5,
                snapshot_path=tmp_path / f"snapshot-{i}.json",
            )
            stores.append(store)
            store.subscribe(lambda ruleset: applied.append(ruleset.to_dict()))
        original = stores[0].ruleset().to_dict()
        assert [s.version for s in stores] == [version] * 3
        assert all(s.ruleset().to_dict() == original for s in stores)

        def serving_original() -> bool:
            for s in stores:
                assert s.version == version
                fs = s.engine().evaluate_all(Account(id="acct-1"))
                assert fs.as_dict() == EXPECTED
                assert fs.is_enabled(PROBE)
            return True

        server.kill()
        assert wait_until(
            lambda: serving_original() and not any(s.health().connected for s in stores)
        )
        server.start()  # empty
        assert wait_until(
            lambda: (
                serving_original()
                and all(s.health().connected and s.health().stale_since is None for s in stores)
            )
        )
        with raw_client(server) as client:
            entries = audit_entries(client, namespace)
            assert [e["action"] for e in entries] == [RESTORE_ACTION], entries
            assert entries[0]["version"] == str(version)
            assert int(client.hget(key, "version") or 0) == version
            assert json.loads(client.hget(key, "doc") or "null") == original
        serving_original()
        assert all(s.health().source == "redis" for s in stores)
        assert all(doc == original for doc in applied), applied
    finally:
        for store in stores:
            store.close()


def test_stores_that_all_found_redis_empty_restore_it_once(
    own_redis: Callable[[], RedisServer], namespace: str, tmp_path: Path
) -> None:
    """The race the Lua guard settles: every store saw the ruleset missing, all restore."""
    server = own_redis()
    version = seed(server.url, namespace, tmp_path)
    key, audit, _ = keys(namespace)
    stores: list[RedisStore] = []
    try:
        for i in range(3):
            stores.append(
                RedisStore.from_url(
                    server.url,
                    namespace=namespace,
                    poll_interval=60,  # the followers stay out of it: no poll, no message
                    snapshot_path=tmp_path / f"snapshot-{i}.json",
                )
            )
        original = stores[0].ruleset().to_dict()
        with raw_client(server) as client:
            client.delete(key, audit)  # lost, as on a failover to an empty replica
            for store in stores:  # each acts on the empty Redis it saw
                assert store._restore_missing()
            entries = audit_entries(client, namespace)
            assert [e["action"] for e in entries] == [RESTORE_ACTION], entries
            assert int(client.hget(key, "version") or 0) == version
            assert json.loads(client.hget(key, "doc") or "null") == original
        for store in stores:
            store.refresh()
            assert store.version == version
            assert store.ruleset().to_dict() == original
    finally:
        for store in stores:
            store.close()


def test_a_store_ahead_of_the_restored_version_still_follows_later_changes(
    own_redis: Callable[[], RedisServer], namespace: str, tmp_path: Path
) -> None:
    """Redis lost its data while the stores disagreed (one had missed the last message).

    If the store that is behind restores first, Redis goes back to an older version, and
    the next write reuses a version number the other store has already applied.
    """
    server = own_redis()
    version = seed(server.url, namespace, tmp_path)
    key, audit, _ = keys(namespace)
    ahead, behind = (
        RedisStore.from_url(
            server.url,
            namespace=namespace,
            poll_interval=60,  # the test drives every sync: no poll, only messages
            snapshot_path=tmp_path / f"snapshot-{name}.json",
        )
        for name in ("ahead", "behind")
    )
    try:
        with raw_client(server) as client:
            _, _, channel = keys(namespace)
            # Both followers subscribed, and past the sync they make right after subscribing.
            assert wait_until(lambda: client.pubsub_numsub(channel)[0][1] == 2)
            time.sleep(0.5)
            doc = ahead.ruleset().to_dict()
            doc["flags"]["extra"] = NEW_FLAG
            write_ruleset(client, namespace, json.dumps(doc), version + 1, publish=False)
            ahead.refresh()  # ``ahead`` polled; ``behind`` lost the message (no PUBLISH)
            assert (ahead.version, behind.version) == (version + 1, version)
            client.delete(key, audit)  # data loss; ``behind`` notices first
            assert behind._restore_missing()
            ahead.refresh()
        with writer_store(server.url, namespace, tmp_path) as writer:
            writer.set_flag("after_recovery", NEW_FLAG)
            latest = writer.ruleset().to_dict()
        assert wait_until(lambda: "after_recovery" in behind.ruleset().flags)
        assert wait_until(lambda: "after_recovery" in ahead.ruleset().flags, timeout=5), (
            f"ahead serves version {ahead.version} without the change saved after recovery;"
            f" Redis has {latest['flags'].keys()}"
        )
    finally:
        ahead.close()
        behind.close()
