"""RedisStore: one ruleset shared by every process, cached and compiled in each of them.

Layout (every key under one hash tag, so it works on Redis Cluster)::

    {flagware:<namespace>}:ruleset   hash: doc (canonical JSON), version
    {flagware:<namespace>}:audit     stream: one entry per version (who, when, what, doc)
    {flagware:<namespace>}:changes   pub/sub channel: the new version after each write
    {flagware:<namespace>}:write-lock  held for a moment by the process that is writing

Writes run as Lua scripts: compare the version, replace the document, append the audit
entry and publish, all in one atomic step. Reads never touch Redis: requests evaluate
the compiled copy in memory. A background thread listens on the channel and also polls
the version every ``poll_interval`` seconds (pub/sub drops messages while disconnected);
it owns its reconnect loop and never applies an older version over a newer one.

When Redis is unavailable the last good ruleset keeps serving, indefinitely. A process
that starts while Redis is down serves the snapshot it keeps on local disk, else the
``bootstrap`` ruleset, else it *fails closed*: every flag off, test users included. An
empty Redis never means "no flags": with ``unknown: released`` that would release every
unfinished feature; instead the first process that notices restores its last good ruleset.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import re
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from flagware.changes import Change, parse_audit_entry, summarize
from flagware.errors import RulesetError, StoreError
from flagware.loading import MAX_DOCUMENT_BYTES, load_ruleset
from flagware.ruleset import Ruleset
from flagware.stores.base import Store, coerce_ruleset

try:
    import redis
except ImportError:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "flagware's RedisStore needs redis-py: pip install 'flagware[redis]'"
    ) from None

if TYPE_CHECKING:
    from flagware.engine import Clock
    from flagware.stores.base import RulesetLike

__all__ = ["Health", "RedisStore"]

logger = logging.getLogger("flagware")
_NAMESPACE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_live_stores: weakref.WeakSet[RedisStore] = weakref.WeakSet()

Source = Literal["redis", "snapshot", "bootstrap", "fail-closed"]
WRITE_LOCK_SECONDS = 10
# Every flag off for everyone: what a cold start with no Redis and nothing on disk serves.
FAIL_CLOSED = Ruleset(unknown="hidden")

# KEYS: ruleset hash, audit stream. ARGV: expected version ("" = any), document, actor,
# time, action, summary, channel, audit length, the writer's version. The new version is
# above both Redis's and the writer's, so versions only move forward even if Redis's went
# back (a restored backup): followers ignore anything not newer than what they serve.
_COMMIT = """
local current = tonumber(redis.call('HGET', KEYS[1], 'version')) or 0
if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= current then return {0, current} end
local version = math.max(current, tonumber(ARGV[9]) or 0) + 1
redis.call('HSET', KEYS[1], 'doc', ARGV[2], 'version', version)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[8], '*', 'version', version,
  'previous', current, 'actor', ARGV[3], 'at', ARGV[4], 'action', ARGV[5],
  'summary', ARGV[6], 'doc', ARGV[2])
redis.call('PUBLISH', ARGV[7], version)
return {1, version}
"""
# Put a ruleset back into a Redis that lost it (restarted without persistence) or went back
# to an older version (a restored backup, a restart right after a write). The first
# process to notice wins; the others find the newer version and sync to it.
# ARGV: document, version, actor, time, channel, audit length, action, summary.
_RESTORE_IF_BEHIND = """
local current = tonumber(redis.call('HGET', KEYS[1], 'version')) or -1
if current >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'doc', ARGV[1], 'version', ARGV[2])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', 'version', ARGV[2],
  'previous', 0, 'actor', ARGV[3], 'at', ARGV[4], 'action', ARGV[7],
  'summary', ARGV[8], 'doc', ARGV[1])
redis.call('PUBLISH', ARGV[5], ARGV[2])
return 1
"""


@dataclass(frozen=True)
class Health:
    """How a RedisStore is doing, for health endpoints and dashboards."""

    connected: bool
    version: int
    source: Source
    stale_since: float | None  # epoch seconds since when it may be out of date; None: in sync
    last_error: str | None


def _summarizable(raw: bytes | str | None) -> dict[str, Any] | None:
    """A stored document, if it is shaped enough to say what a write changes in it."""
    if raw is None or len(raw) > MAX_DOCUMENT_BYTES:
        return None
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("flags", {}), dict):
        return None
    users = doc.get("test_users", [])
    if not isinstance(users, list) or not all(isinstance(u, str) for u in users):
        return None
    return doc


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


class RedisStore(Store):
    """The ruleset in Redis, compiled in memory, kept current by a background thread.

    :param client: a ``redis.Redis`` client (give it socket timeouts; ``from_url`` does).
    :param namespace: separates rulesets of several apps in one Redis.
    :param poll_interval: seconds between version checks besides pub/sub.
    :param snapshot_path: where the last good ruleset is kept on disk for cold starts
        without Redis; ``None`` picks a file in the temp directory, ``False`` disables it.
    :param bootstrap: a ruleset (path, document or Ruleset) for a first start with Redis
        empty or unreachable and no snapshot; it is also written to an empty Redis.
    :param history_length: audit entries kept (approximately) in the stream.
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        namespace: str = "default",
        poll_interval: float = 5.0,
        snapshot_path: str | os.PathLike[str] | Literal[False] | None = None,
        bootstrap: RulesetLike | str | os.PathLike[str] | None = None,
        history_length: int = 1000,
        clock: Clock = time.time,
        owns_client: bool = False,
    ) -> None:
        super().__init__(clock=clock, history_length=history_length)
        if not _NAMESPACE.fullmatch(namespace):
            raise ValueError(f"namespace must match {_NAMESPACE.pattern}, got {namespace!r}")
        if poll_interval <= 0:
            raise ValueError(f"poll_interval must be positive, got {poll_interval}")
        self._use_client(client, owns=owns_client)
        self.namespace = namespace
        tag = f"{{flagware:{namespace}}}"
        self._key, self._audit, self._channel = f"{tag}:ruleset", f"{tag}:audit", f"{tag}:changes"
        self._write_lock_key = f"{tag}:write-lock"
        self._poll_interval = poll_interval
        self._history_length = history_length
        self._snapshot = self._snapshot_file(snapshot_path)
        self._bootstrap = self._load_bootstrap(bootstrap)
        self._source: Source = "fail-closed"
        self._connected = False
        self._stale_since: float | None = time.time()
        self._last_error: str | None = None
        self._rejected_version = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sync_lock = threading.Lock()
        self._swap_lock = threading.Lock()
        self._start()
        _live_stores.add(self)

    def _use_client(self, client: redis.Redis, *, owns: bool) -> None:
        self._client = client
        self._owns_client = owns
        self._commit_script = client.register_script(_COMMIT)
        self._restore_script = client.register_script(_RESTORE_IF_BEHIND)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        namespace: str = "default",
        socket_timeout: float = 2.0,
        socket_connect_timeout: float = 2.0,
        **kwargs: Any,
    ) -> RedisStore:
        """A store on a new client for ``url`` (``redis://``, ``rediss://``, ``unix://``).

        Credentials go in the URL (``redis://user:password@host:6379/0``). Remaining
        keyword arguments are the store's (``poll_interval``, ``snapshot_path``, ...).
        """
        client = redis.Redis.from_url(
            url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_connect_timeout,
            health_check_interval=15,
        )
        return cls(client, namespace=namespace, owns_client=True, **kwargs)

    def describe(self) -> str:
        return f"RedisStore({self._where()}, namespace={self.namespace!r})"

    def _where(self) -> str:
        """The server this store talks to: a socket path, or host:port/db."""
        kwargs = self._client.connection_pool.connection_kwargs
        path = kwargs.get("path")
        return (
            str(path)
            if path
            else f"{kwargs.get('host')}:{kwargs.get('port')}/{kwargs.get('db', 0)}"
        )

    def health(self) -> Health:
        """Connection state, the version served, where it came from, and since when stale."""
        current = self._current
        return Health(
            connected=self._connected,
            version=current.version if current else 0,
            source=self._source,
            stale_since=self._stale_since,
            last_error=self._last_error,
        )

    def close(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)
        self._thread = None
        if self._owns_client:
            self._client.close()

    # --- start-up ---------------------------------------------------------------------------

    def _start(self) -> None:
        """Load from Redis if possible, else from disk, else fail closed; then follow Redis."""
        try:
            self._sync()
        except (redis.RedisError, OSError) as exc:
            self._note_disconnected(exc)
        if self._current is None:
            self._serve_fallback()
        self._start_thread()

    def _serve_fallback(self) -> None:
        snapshot = self._read_snapshot()
        if snapshot is not None:
            version, ruleset = snapshot
            self._apply_if_newer(ruleset, version, "snapshot")
            logger.warning(
                "flagware: %s cannot load from Redis; serving the snapshot of version %d (%s)",
                self.describe(),
                version,
                self._snapshot,
            )
        elif self._bootstrap is not None:
            self._apply_if_newer(self._bootstrap, 0, "bootstrap")
            logger.warning("flagware: %s serves its bootstrap ruleset", self.describe())
        else:
            self._apply_if_newer(FAIL_CLOSED, 0, "fail-closed")
            logger.error(
                "flagware: %s has no ruleset (Redis unavailable or empty, no snapshot, no "
                "bootstrap): FAILING CLOSED, every flag is off for everyone, test users "
                "included, until a ruleset is loaded",
                self.describe(),
            )

    def _load_bootstrap(
        self, bootstrap: RulesetLike | str | os.PathLike[str] | None
    ) -> Ruleset | None:
        if bootstrap is None:
            return None
        if isinstance(bootstrap, str | os.PathLike):
            return load_ruleset(bootstrap)
        return coerce_ruleset(bootstrap, source="bootstrap")

    # --- following Redis --------------------------------------------------------------------

    def _sync(self) -> None:
        """Apply Redis's ruleset if it is newer than ours; restore it if Redis lost it."""
        with self._sync_lock:
            raw_version = self._client.hget(self._key, "version")
            self._connected = True
            if raw_version is None and self._restore_missing():
                raw_version = self._client.hget(self._key, "version")
            if raw_version is None:  # empty, and nothing to restore: keep failing closed
                return
            version = int(_text(raw_version))
            current = self._current
            if (
                current is not None
                and self._source in ("redis", "snapshot")
                and version < current.version
                and self._restore_missing()  # Redis went back: put our newer version back
            ):
                raw_version = self._client.hget(self._key, "version")
                version = int(_text(raw_version)) if raw_version is not None else 0
            if current is not None and self._source == "redis" and version <= current.version:
                self._mark_in_sync()
                return
            if version == self._rejected_version:
                return
            raw_doc, raw_version = self._client.hmget(self._key, ["doc", "version"])
            if raw_doc is None or raw_version is None:
                return
            version = int(_text(raw_version))
            try:
                ruleset = self._parse(raw_doc)
            except RulesetError as exc:
                self._rejected_version = version
                if self._stale_since is None:  # Redis has a newer version we cannot serve
                    self._stale_since = time.time()
                logger.error(
                    "flagware: %s rejected version %d in Redis; keeping version %s:\n%s",
                    self.describe(),
                    version,
                    current.version if current else "none",
                    exc,
                )
                return
            self._apply_if_newer(ruleset, version, "redis")
            self._mark_in_sync()

    def _on_notification(self, data: Any) -> None:
        """A write was published: sync, unless we already serve that version (our own)."""
        try:
            announced = int(_text(data))
        except ValueError:
            announced = None
        current = self._current
        if (
            announced is not None
            and current is not None
            and self._source == "redis"
            and announced <= current.version
        ):
            return
        self._sync()

    def _parse(self, raw: bytes | str) -> Ruleset:
        if len(raw) > MAX_DOCUMENT_BYTES:
            raise RulesetError(
                ["<document>: larger than the document size limit"], source=self._key
            )
        try:
            doc = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise RulesetError([f"<document>: not valid JSON: {exc}"], source=self._key) from None
        return Ruleset.from_dict(doc, source=self._key)

    def _restore_missing(self) -> bool:
        """Redis lost our ruleset: put back the last good one we know, unless someone already
        did (or wrote a newer one). Returns whether there was one to put back."""
        current = self._current
        if current is not None and self._source in ("redis", "snapshot"):
            version, ruleset, action = current.version, current.ruleset, "restore after data loss"
        elif (snapshot := self._read_snapshot()) is not None:
            (version, ruleset), action = snapshot, "restore after data loss"
        elif self._bootstrap is not None:
            version, ruleset, action = 0, self._bootstrap, "bootstrap"
        else:
            return False
        version = max(version, 1)
        summary = summarize(None, ruleset.to_dict()) if action == "bootstrap" else {}
        restored = self._restore_script(
            keys=[self._key, self._audit],
            args=[
                json.dumps(ruleset.to_dict(), separators=(",", ":")),
                version,
                "flagware",
                time.time(),
                self._channel,
                self._history_length,
                action,
                json.dumps(summary),
            ],
        )
        if restored and action == "bootstrap":
            logger.info("flagware: %s seeded an empty Redis with its bootstrap", self.describe())
        elif restored:
            logger.warning(
                "flagware: %s found no ruleset in Redis and restored version %d",
                self.describe(),
                version,
            )
        return True

    def _apply_if_newer(self, ruleset: Ruleset, version: int, source: Source) -> bool:
        """Swap in ``ruleset`` unless we already serve a newer version (never go back).

        A version equal to ours replaces a ruleset that did not come from Redis (a
        snapshot or bootstrap of the same version): Redis is the authority. Takes only the
        swap lock: the follower calls this holding the sync lock, and a writer holding the
        write lock may wait for the sync lock.
        """
        with self._swap_lock:
            current = self._current
            if current is not None and (
                version < current.version
                or (version == current.version and (self._source == "redis" or source != "redis"))
            ):
                return False
            self._apply(ruleset, version)
            self._source = source
        if source == "redis":
            self._write_snapshot(version, ruleset)
        return True

    def _mark_in_sync(self) -> None:
        if self._last_error is not None:
            logger.warning("flagware: %s is connected again", self.describe())
        self._stale_since = None
        self._last_error = None

    def _note_disconnected(self, exc: BaseException) -> None:
        if self._connected or self._last_error is None:
            logger.warning(
                "flagware: %s lost Redis (%s); serving version %s until it is back",
                self.describe(),
                exc,
                self._current.version if self._current else "none",
            )
        self._connected = False
        self._last_error = f"{type(exc).__name__}: {exc}"
        if self._stale_since is None:
            self._stale_since = time.time()

    def _start_thread(self) -> None:
        if self._stop.is_set():
            return
        self._thread = threading.Thread(
            target=self._follow, name=f"flagware-redis-{self.namespace}", daemon=True
        )
        self._thread.start()

    def _follow(self) -> None:
        """Listen for changes and poll, reconnecting with backoff, until closed."""
        backoff = 0.05
        while not self._stop.is_set():
            pubsub = None
            try:
                pubsub = self._client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
                pubsub.subscribe(self._channel)
                self._sync()  # whatever happened while we were not listening
                backoff = 0.05
                next_poll = time.monotonic() + self._poll_interval
                while not self._stop.is_set():
                    wait = min(max(next_poll - time.monotonic(), 0.0), 0.5)
                    message = pubsub.get_message(timeout=wait)
                    if message is not None and message.get("type") == "message":
                        self._on_notification(message.get("data"))
                    if time.monotonic() >= next_poll:
                        self._sync()
                        next_poll = time.monotonic() + self._poll_interval
            except (redis.RedisError, OSError, ValueError) as exc:
                self._note_disconnected(exc)
                self._stop.wait(backoff * random.uniform(0.5, 1.5))
                backoff = min(backoff * 2, 5.0)
            except Exception:  # never let the follower die
                logger.exception("flagware: %s: unexpected error; retrying", self.describe())
                self._stop.wait(1.0)
            finally:
                if pubsub is not None:
                    with contextlib.suppress(Exception):  # the connection is dropped anyway
                        pubsub.close()

    # --- the write API's backend ------------------------------------------------------------

    @contextlib.contextmanager
    def _writers_turn(self) -> Iterator[None]:
        """A short Redis lock (redis-py's) so writers in many processes take turns.

        Without it, every writer validating the whole ruleset inside its compare-and-set
        window makes them collide and retry; with it they queue. The lock expires by itself
        if a writer dies, and compare-and-set still guards every commit.
        """
        lock = self._client.lock(
            self._write_lock_key, timeout=WRITE_LOCK_SECONDS, sleep=0.005, blocking_timeout=30
        )
        try:
            acquired = lock.acquire()
        except (redis.RedisError, OSError) as exc:
            raise StoreError(f"{self.describe()}: Redis is unavailable for writing: {exc}") from exc
        if not acquired:
            raise StoreError(f"{self.describe()}: waited 30 s for other writers; try again")
        try:
            yield
        finally:
            with contextlib.suppress(redis.RedisError, OSError):  # it expires by itself
                lock.release()

    def _latest(self) -> tuple[int, dict[str, Any]]:
        """The version and document in Redis (restoring our last good one if Redis lost it)."""
        try:
            current = self._current
            raw_version = self._client.hget(self._key, "version")
            if (
                current is not None
                and self._source == "redis"
                and raw_version is not None
                and int(_text(raw_version)) == current.version
            ):  # the common case: what we serve is current, no need to fetch and validate it
                return current.version, current.ruleset.to_dict()
            raw_doc, raw_version = self._client.hmget(self._key, ["doc", "version"])
            if (raw_doc is None or raw_version is None) and self._restore_missing():
                raw_doc, raw_version = self._client.hmget(self._key, ["doc", "version"])
        except (redis.RedisError, OSError) as exc:
            raise StoreError(f"{self.describe()}: Redis is unavailable for writing: {exc}") from exc
        if raw_doc is None or raw_version is None:  # a first ruleset for an empty Redis
            return 0, Ruleset().to_dict()
        try:
            doc = self._parse(raw_doc).to_dict()
        except RulesetError:  # corrupt: edit what we serve (the last good) instead
            doc = self._get().ruleset.to_dict()
        return int(_text(raw_version)), doc

    def _try_commit(
        self, ruleset: Ruleset, expected: int | None, actor: str, action: str
    ) -> int | None:
        new_doc = ruleset.to_dict()
        current = self._current
        try:
            old = _summarizable(self._client.hget(self._key, "doc"))
        except (redis.RedisError, OSError) as exc:
            raise StoreError(f"{self.describe()}: Redis is unavailable for writing: {exc}") from exc
        if old is None and current is not None:  # missing or corrupt: compare with ours
            old = current.ruleset.to_dict()
        try:
            ok, version = self._commit_script(
                keys=[self._key, self._audit],
                args=[
                    "" if expected is None else expected,
                    json.dumps(new_doc, separators=(",", ":")),
                    actor,
                    time.time(),
                    action,
                    json.dumps(summarize(old, new_doc)),
                    self._channel,
                    self._history_length,
                    current.version if current is not None else 0,
                ],
            )
        except (redis.RedisError, OSError) as exc:
            raise StoreError(f"{self.describe()}: Redis is unavailable for writing: {exc}") from exc
        if not ok:
            return None
        self._apply_if_newer(ruleset, int(version), "redis")
        return int(version)

    def history(self, flag: str | None = None, limit: int = 50) -> list[Change]:
        # Without a flag filter, fetch only what was asked for: entries carry whole documents.
        if flag is None:
            return self._changes(count=limit)
        return super().history(flag, limit)

    def _changes(self, count: int | None = None) -> list[Change]:
        try:
            entries = self._client.xrevrange(self._audit, count=count or self._history_length)
        except (redis.RedisError, OSError) as exc:
            raise StoreError(f"{self.describe()}: Redis is unavailable: {exc}") from exc
        changes = []
        for _, raw in entries or ():
            change = parse_audit_entry(raw or {})
            if change is None:
                logger.warning(
                    "flagware: %s skipped an audit entry without a version", self.describe()
                )
            else:
                changes.append(change)
        return changes

    # --- the local snapshot -----------------------------------------------------------------

    def _snapshot_file(self, path: str | os.PathLike[str] | Literal[False] | None) -> Path | None:
        if path is False:
            return None
        if path is not None:
            return Path(path)
        directory = _private_cache_dir()
        if directory is None:
            logger.warning(
                "flagware: no private directory for snapshots; cold starts without "
                "Redis will fail closed (pass snapshot_path=)"
            )
            return None
        digest = sha256(f"{self._where()}|{self.namespace}".encode()).hexdigest()[:12]
        return directory / f"{self.namespace}-{digest}.json"

    def _write_snapshot(self, version: int, ruleset: Ruleset) -> None:
        if self._snapshot is None:
            return
        data = json.dumps(
            {"flagware_snapshot": 1, "version": version, "document": ruleset.to_dict()}
        )
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{self._snapshot.name}.", dir=self._snapshot.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(data)
            os.replace(tmp, self._snapshot)
        except OSError as exc:
            logger.warning("flagware: cannot write the snapshot %s: %s", self._snapshot, exc)

    def _read_snapshot(self) -> tuple[int, Ruleset] | None:
        if self._snapshot is None or not self._snapshot.exists():
            return None
        if not _trusted(self._snapshot):
            logger.error(
                "flagware: ignoring the snapshot %s: it must belong to this user and not be "
                "writable by others",
                self._snapshot,
            )
            return None
        try:
            data = json.loads(self._snapshot.read_bytes()[: MAX_DOCUMENT_BYTES + 1])
            if not isinstance(data, Mapping) or not isinstance(data.get("version"), int):
                raise ValueError("not a flagware snapshot")
            return data["version"], Ruleset.from_dict(
                data.get("document"), source=str(self._snapshot)
            )
        except (OSError, ValueError) as exc:
            logger.error("flagware: ignoring the unreadable snapshot %s: %s", self._snapshot, exc)
            return None


def _private_cache_dir() -> Path | None:
    """A directory only this user can write: ~/.cache/flagware, else one in the temp dir."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    candidates = [Path(base) / "flagware", Path(tempfile.gettempdir()) / f"flagware-{os.getuid()}"]
    for directory in candidates:
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            continue
        if _trusted(directory):
            return directory
    return None


def _trusted(path: Path) -> bool:
    """Whether ``path`` belongs to this user and nobody else may write it (no planting)."""
    try:
        st = path.lstat()
    except OSError:
        return False
    return st.st_uid == os.getuid() and not st.st_mode & 0o022


def _after_fork_in_child() -> None:
    """Threads and locks do not survive fork(): give each store in a worker its own.

    That includes a new connection pool: the parent's follower thread may have held the
    old pool's lock at the moment of the fork, and that copy would stay locked forever.
    """
    for store in list(_live_stores):
        store._sync_lock = threading.Lock()
        store._swap_lock = threading.Lock()
        store._write_lock = threading.RLock()
        store._apply_lock = threading.Lock()
        store._use_client(_clone_client(store._client), owns=True)
        store._thread = None
        store._start_thread()


def _clone_client(client: redis.Redis) -> redis.Redis:
    """A client like ``client`` on a pool of its own (nothing shared with the parent)."""
    pool = client.connection_pool
    fresh = pool.__class__(
        connection_class=pool.connection_class,
        max_connections=pool.max_connections,
        **pool.connection_kwargs,
    )
    return redis.Redis(connection_pool=fresh)


os.register_at_fork(after_in_child=_after_fork_in_child)
