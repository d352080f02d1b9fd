"""RedisStore: one ruleset shared by every process, cached and compiled in each of them.

The keys, fields and Lua scripts are in :mod:`flagware.stores.redis_layout`; the clients
(one server, Sentinel, Cluster) in :mod:`flagware.stores.redis_clients`. Writes run as
Lua scripts: compare, replace the document, append the audit entry and publish, in one
atomic step. Reads never touch Redis: requests evaluate the compiled copy in memory. A
background thread listens on the channel and also polls every ``poll_interval`` seconds
(pub/sub drops messages while disconnected); it owns its reconnect loop and never applies
an older version over a newer one.

Nothing read from Redis is trusted. A document that is corrupt, invalid, or changed in
place without a new version (its digest no longer matches) is logged and refused, and the
last good ruleset keeps serving; a save replaces it.

When Redis is unavailable the last good ruleset keeps serving, indefinitely. A process
that starts while Redis is down serves the snapshot it keeps on local disk, else the
``bootstrap`` ruleset, else it *fails closed*: every flag off, test users included.

When Redis loses data the rule is: **what Redis holds wins, and versions only go up.**
An empty namespace is never "no flags" (with ``unknown: released`` that would release
every unfinished feature): the first process that notices writes back the newest ruleset
it knows, under its own version, but only into an empty namespace. A document someone
writes meanwhile (``flagware push`` into the empty namespace, or an older backup that
came back) is never overwritten by such a restore: the processes that served a higher
version renumber it above theirs, so every process applies it, and record the version
they served in the audit history, so it can be restored by hand.
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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from flagware.errors import MORE_PROBLEMS, RulesetError, StoreError
from flagware.ruleset import MAX_DOCUMENT_BYTES, Ruleset, load_ruleset
from flagware.stores.audit import Change, parse_audit_entry, summarize
from flagware.stores.store import Store, coerce_ruleset

try:
    import redis
except ImportError:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "flagware's RedisStore needs redis-py: pip install 'flagware[redis]'"
    ) from None

from flagware.stores import redis_clients, redis_layout
from flagware.stores.redis_clients import Client, ClientFactory
from flagware.stores.redis_layout import CORRUPT, EMPTY, Head, Keys, digest_of

if TYPE_CHECKING:
    from flagware.engine import Clock
    from flagware.stores.store import RulesetLike

__all__ = ["Health", "RedisStore"]

logger = logging.getLogger("flagware")
_live_stores: weakref.WeakSet[RedisStore] = weakref.WeakSet()

Source = Literal["redis", "snapshot", "bootstrap", "fail-closed"]
WRITE_LOCK_SECONDS = 10
# Reconnecting: the first retry soon, then doubling up to this many seconds, so a
# follower is back within about half a second of Redis (measured in BENCHMARKS.md).
RECONNECT_FIRST = 0.05
RECONNECT_MAX = 0.5
# Every flag off for everyone: what a cold start with no Redis and nothing on disk serves.
FAIL_CLOSED = Ruleset(unknown="hidden")
RESTORE_ACTION = "restore after data loss"
_NAMESPACE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True)
class Health:
    """How a RedisStore is doing, for health endpoints and dashboards.

    ``problem`` says why the document in Redis is not the one served (corrupt, invalid,
    changed in place); None when Redis holds what this process serves, or holds nothing.
    """

    connected: bool
    version: int
    source: Source
    stale_since: float | None  # epoch seconds since when it may be out of date; None: in sync
    last_error: str | None
    problem: str | None = None


@dataclass(frozen=True)
class _Stored:
    """The ruleset hash as one read found it: its small fields and the document."""

    head: Head
    doc: bytes | None


class _Unservable(Exception):
    """A stored document that must not be served (the message says why)."""


class RedisStore(Store):
    """The ruleset in Redis, compiled in memory, kept current by a background thread.

    :param client: a ``redis.Redis`` or ``redis.cluster.RedisCluster`` client (give it
        socket timeouts; ``from_url``, ``from_sentinel`` and ``from_cluster`` do).
    :param namespace: separates rulesets of several apps in one Redis.
    :param poll_interval: seconds between version checks besides pub/sub.
    :param snapshot_path: where the last good ruleset is kept on disk for cold starts
        without Redis; ``None`` picks a file in the temp directory, ``False`` disables it.
    :param bootstrap: a ruleset (path, document or Ruleset) for a first start with Redis
        empty or unreachable and no snapshot; it is also written to an empty Redis.
    :param history_length: audit entries kept (approximately) in the stream.
    :param wait_for_replicas: a write is acknowledged only once this many replicas have
        it (Redis ``WAIT``), so a failover cannot lose it; otherwise ``StoreError``.
    :param replica_timeout: seconds a write waits for those replicas.
    :param sharded_pubsub: notify with sharded pub/sub (``SPUBLISH``, Redis 7+) instead
        of classic pub/sub; for Redis Cluster, where it keeps messages inside one shard.
    """

    def __init__(
        self,
        client: Client,
        *,
        namespace: str = "default",
        poll_interval: float = 5.0,
        snapshot_path: str | os.PathLike[str] | Literal[False] | None = None,
        bootstrap: RulesetLike | str | os.PathLike[str] | None = None,
        history_length: int = 1000,
        wait_for_replicas: int = 0,
        replica_timeout: float = 1.0,
        sharded_pubsub: bool = False,
        clock: Clock = time.time,
        owns_client: bool = False,
        client_factory: ClientFactory | None = None,
    ) -> None:
        super().__init__(clock=clock, history_length=history_length)
        if not _NAMESPACE.fullmatch(namespace):
            raise ValueError(f"namespace must match {_NAMESPACE.pattern}, got {namespace!r}")
        if poll_interval <= 0:
            raise ValueError(f"poll_interval must be positive, got {poll_interval}")
        if wait_for_replicas < 0 or replica_timeout <= 0:
            raise ValueError("wait_for_replicas must be >= 0 and replica_timeout positive")
        if wait_for_replicas and redis_clients.is_cluster(client):
            raise ValueError("wait_for_replicas is not supported on Redis Cluster clients")
        self.namespace = namespace
        self._keys = Keys.of(namespace)
        self._factory = client_factory
        if redis_clients.decodes(client):
            # Everything read from Redis is checked as bytes; a client that decodes replies
            # would fail on the first stored byte that is not UTF-8.
            client, owns_client = redis_clients.clone(client, decode_responses=False), True
        self._use_client(client, owns=owns_client)
        self._poll_interval = poll_interval
        self._history_length = history_length
        self._wait_replicas = wait_for_replicas
        self._replica_timeout_ms = max(1, int(replica_timeout * 1000))
        self._publish = "SPUBLISH" if sharded_pubsub else "PUBLISH"
        self._snapshot = self._snapshot_file(snapshot_path)
        self._bootstrap = self._load_bootstrap(bootstrap)
        self._source: Source = "fail-closed"
        # The digest field and document length of what we serve, if it came from Redis.
        self._stored_digest: str | None = None
        self._stored_length = 0
        self._connected = False
        self._stale_since: float | None = time.time()
        self._last_error: str | None = None
        self._problem: str | None = None
        self._refused: object = None  # the stored state last refused (logged once)
        self._base: tuple[int, dict[str, Any]] | None = None  # what an edit started from
        self._unservable = False  # whether that was a stored document we could not serve
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sync_lock = threading.Lock()
        self._swap_lock = threading.Lock()
        self._start()
        _live_stores.add(self)

    def _use_client(self, client: Client, *, owns: bool) -> None:
        self._client = client
        self._owns_client = owns
        self._head_script = client.register_script(redis_layout.HEAD)
        self._fetch_script = client.register_script(redis_layout.FETCH)
        self._commit_script = client.register_script(redis_layout.COMMIT)
        self._restore_script = client.register_script(redis_layout.RESTORE_IF_EMPTY)
        self._renumber_script = client.register_script(redis_layout.RENUMBER)

    # --- construction -----------------------------------------------------------------------

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
        """A store on a new client for ``url``: ``redis://``, ``rediss://``, ``unix://``,
        ``redis+sentinel://s1:26379,s2:26379/mymaster/0`` or ``redis+cluster://n1:7000,...``.

        Credentials go in the URL (``redis://user:password@host:6379/0``). Remaining
        keyword arguments are the store's (``poll_interval``, ``snapshot_path``, ...).
        A Sentinel URL waits for one replica on every write unless
        ``wait_for_replicas`` says otherwise.
        """
        factory = redis_clients.factory_from_url(
            url, socket_timeout=socket_timeout, socket_connect_timeout=socket_connect_timeout
        )
        if url.lower().partition("://")[0].endswith("+sentinel"):
            kwargs.setdefault("wait_for_replicas", 1)
        return cls._from_factory(factory, namespace, kwargs)

    @classmethod
    def from_sentinel(
        cls,
        sentinels: Sequence[tuple[str, int]],
        service_name: str,
        *,
        namespace: str = "default",
        db: int = 0,
        username: str | None = None,
        password: str | None = None,
        sentinel_username: str | None = None,
        sentinel_password: str | None = None,
        ssl: bool = False,
        socket_timeout: float = 2.0,
        socket_connect_timeout: float = 2.0,
        wait_for_replicas: int = 1,
        **kwargs: Any,
    ) -> RedisStore:
        """A store on the master the sentinels monitor as ``service_name``, following it
        through failovers. Writes wait for ``wait_for_replicas`` replicas (default 1), so
        a failover never loses an acknowledged write."""
        factory = redis_clients.sentinel_factory(
            sentinels,
            service_name,
            db=db,
            username=username,
            password=password,
            sentinel_username=sentinel_username,
            sentinel_password=sentinel_password,
            ssl=ssl,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_connect_timeout,
        )
        kwargs["wait_for_replicas"] = wait_for_replicas
        return cls._from_factory(factory, namespace, kwargs)

    @classmethod
    def from_cluster(
        cls,
        nodes: Sequence[tuple[str, int]],
        *,
        namespace: str = "default",
        username: str | None = None,
        password: str | None = None,
        ssl: bool = False,
        socket_timeout: float = 2.0,
        socket_connect_timeout: float = 2.0,
        **kwargs: Any,
    ) -> RedisStore:
        """A store on a Redis Cluster reached through any of ``nodes``. The namespace's
        keys share one hash tag, so they live in one slot."""
        factory = redis_clients.cluster_factory(
            nodes,
            username=username,
            password=password,
            ssl=ssl,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_connect_timeout,
        )
        return cls._from_factory(factory, namespace, kwargs)

    @classmethod
    def _from_factory(
        cls, factory: ClientFactory, namespace: str, kwargs: dict[str, Any]
    ) -> RedisStore:
        client = factory()
        try:
            return cls(
                client, namespace=namespace, owns_client=True, client_factory=factory, **kwargs
            )
        except BaseException:
            redis_clients.close_client(client)
            raise

    def describe(self) -> str:
        return f"RedisStore({self._where()}, namespace={self.namespace!r})"

    def _where(self) -> str:
        if self._factory is not None:
            return self._factory.description
        return redis_clients.where(self._client)

    def health(self) -> Health:
        """Connection state, the version served, where it came from, and since when stale."""
        current = self._current
        return Health(
            connected=self._connected,
            version=current.version if current else 0,
            source=self._source,
            stale_since=self._stale_since,
            last_error=self._last_error,
            problem=self._problem,
        )

    def close(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)
        self._thread = None
        if self._owns_client:
            redis_clients.close_client(self._client)

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

    # --- reading Redis ----------------------------------------------------------------------

    def _head(self) -> Head:
        return Head.from_reply(self._head_script(keys=[self._keys.ruleset, self._keys.audit]))

    def _fetch(self) -> _Stored:
        """The whole hash in one atomic read."""
        reply = self._fetch_script(keys=[self._keys.ruleset, self._keys.audit])
        return _Stored(Head.from_reply(reply), reply[3] if isinstance(reply[3], bytes) else None)

    def _verify(self, stored: _Stored) -> tuple[int, Ruleset]:
        """The version and ruleset of a stored hash, or :class:`_Unservable` saying why not."""
        head, doc = stored.head, stored.doc
        problem = head.problem()
        if problem is not None or head.version is None or doc is None:
            raise _Unservable(problem or "the ruleset hash is empty")
        if head.digest is not None and head.digest != digest_of(doc):
            raise _Unservable(
                f"the document of version {head.version} does not match the `digest` beside "
                "it: it was written or changed without updating the digest, and processes "
                "that loaded this version before would serve other rules; save a new version"
            )
        return head.version, self._parse(doc)

    def _parse(self, raw: bytes) -> Ruleset:
        if len(raw) > MAX_DOCUMENT_BYTES:
            raise RulesetError(
                ["<document>: larger than the document size limit"], source=self._keys.ruleset
            )
        try:
            doc = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise RulesetError(
                [f"<document>: not valid JSON: {exc}"], source=self._keys.ruleset
            ) from None
        return Ruleset.from_dict(doc, source=self._keys.ruleset)

    # --- following Redis --------------------------------------------------------------------

    def _sync(self) -> None:
        """Apply what Redis holds if it is newer than ours; restore or renumber after a loss."""
        with self._sync_lock:
            for _ in range(5):  # a restore or renumber raced with another process: look again
                if self._sync_once():
                    return

    def _sync_once(self) -> bool:
        """One look at Redis; False if it changed under us and must be looked at again."""
        head = self._head()
        self._connected = True
        if head.state == "empty":
            if self._restore_missing():
                return False
            self._mark_in_sync()  # nothing anywhere: keep what we serve (fail closed)
            return True
        current, source = self._current, self._source
        served = current.version if current is not None else 0
        if head.state == "ok" and source == "redis" and head.version == served:
            if head.digest != self._stored_digest or head.doc_length != self._stored_length:
                problem = (
                    f"version {served} in Redis was changed without a new version (its digest "
                    "changed); this process keeps serving the rules it loaded as that version"
                )
                self._refuse(("in place", head.raw_version, head.digest), problem, problem)
            else:
                self._mark_in_sync()
            return True
        if self._refused == (head.raw_version, head.digest, head.state):
            return True  # already looked at, and refused: wait for a new write
        stored = self._fetch()
        if stored.head != head:
            return False
        try:
            version, ruleset = self._verify(stored)
        except (_Unservable, RulesetError) as exc:
            what = f"version {head.version}" if head.version is not None else "the ruleset"
            if isinstance(exc, RulesetError):
                count = len(exc.problems)
                lines = "".join(f"\n  - {p}" for p in exc.problems)
                lines += f"\n  {MORE_PROBLEMS}" if exc.more else ""
                problem = f"it is invalid ({count} problem{'s' if count != 1 else ''}){lines}"
            else:
                problem = str(exc)
            self._refuse(
                (head.raw_version, head.digest, head.state),
                problem,
                f"rejected {what} in Redis; keeping version {served or 'none'}:\n{exc}",
            )
            return True
        digest = digest_of(stored.doc or b"")
        if current is not None and source in ("redis", "snapshot") and version < served:
            try:
                renumbered = self._renumber(head, digest, ruleset, served, current.ruleset)
            except _Unservable as exc:
                problem = str(exc)
                self._refuse((head.raw_version, head.digest, head.state), problem, problem)
                return True
            if renumbered is None:
                return False
            version = renumbered
        self._apply_if_newer(ruleset, version, "redis", digest, len(stored.doc or b""))
        self._mark_in_sync()
        return True

    def _on_notification(self, data: Any) -> None:
        """A write was published: sync, unless we already serve that version (our own). A
        lower version than ours is news too: Redis went back, and was written to."""
        announced = redis_layout.parse_version(data)
        current = self._current
        if (
            announced is not None
            and current is not None
            and self._source == "redis"
            and announced == current.version
            and self._problem is None
        ):
            return
        self._sync()

    def _restore_missing(self) -> bool:
        """The namespace is empty: put back the newest ruleset we know, unless someone
        already did (or wrote one). Returns whether there was one to put back."""
        current = self._current
        if current is not None and self._source in ("redis", "snapshot"):
            version, ruleset, action = current.version, current.ruleset, RESTORE_ACTION
        elif (snapshot := self._read_snapshot()) is not None:
            (version, ruleset), action = snapshot, RESTORE_ACTION
        elif self._bootstrap is not None:
            version, ruleset, action = 0, self._bootstrap, "bootstrap"
        else:
            return False
        version = max(version, 1)
        doc = json.dumps(ruleset.to_dict(), separators=(",", ":")).encode()
        summary = summarize(None, ruleset.to_dict()) if action == "bootstrap" else {}
        restored = self._restore(doc, version, action, summary)
        if restored == -1:  # only the hash was lost: the stream holds a newer version
            recorded = self._newest_recorded()
            if recorded is not None:
                doc, version = recorded
                action = RESTORE_ACTION
            restored = self._restore(doc, version, action, {}, force=True)
        if restored and action == "bootstrap":
            logger.info("flagware: %s seeded an empty Redis with its bootstrap", self.describe())
        elif restored:
            logger.warning(
                "flagware: %s found no ruleset in Redis and restored version %d",
                self.describe(),
                version,
            )
        return True

    def _newest_recorded(self) -> tuple[bytes, int] | None:
        """The newest audit entry's document (as stored, so its digest holds) and version,
        if it is a valid ruleset."""
        entries = self._client.xrevrange(self._keys.audit, count=1)
        if not entries:
            return None
        raw = entries[0][1] or {}
        change, doc = parse_audit_entry(raw), raw.get(b"doc")
        if change is None or not isinstance(doc, bytes) or "document" in change.unreadable:
            return None
        try:
            self._parse(doc)
        except RulesetError:
            return None
        return doc, change.version

    def _restore(
        self, doc: bytes, version: int, action: str, summary: Mapping[str, Any], force: bool = False
    ) -> int:
        """Run the restore script: 1 restored, 0 the namespace is not empty, -1 refused
        (the audit stream recorded a newer version)."""
        result = self._restore_script(
            keys=[self._keys.ruleset, self._keys.audit],
            args=[
                doc,
                digest_of(doc),
                version,
                "flagware",
                time.time(),
                self._keys.channel,
                self._history_length,
                action,
                json.dumps(summary),
                self._publish,
                "force" if force else "",
            ],
        )
        return int(result)

    def _renumber(
        self, head: Head, digest: str, ruleset: Ruleset, served: int, ours: Ruleset
    ) -> int | None:
        """Redis holds an older version than ours (written after it lost data, or a backup):
        keep it, under a version above ours. None if Redis changed meanwhile."""
        served_doc = json.dumps(ours.to_dict(), separators=(",", ":")).encode()
        ok, version = self._renumber_script(
            keys=[self._keys.ruleset, self._keys.audit],
            args=[
                head.raw_version or b"",
                head.digest or "",
                served,
                served_doc,
                "flagware",
                time.time(),
                json.dumps(summarize(ours.to_dict(), ruleset.to_dict())),
                self._keys.channel,
                self._history_length,
                digest,
                self._publish,
                digest_of(served_doc),
            ],
        )
        if ok == -1:
            raise _Unservable(_at_the_limit(self._keys))
        if not ok:
            return None
        logger.warning(
            "flagware: %s found version %s in Redis, older than the version %d it served "
            "(Redis lost data, then was written to, or a backup came back); serving it as "
            "version %s. Version %d is kept in the history: `flagware restore %d` brings it back",
            self.describe(),
            redis_layout.text(head.raw_version),
            served,
            redis_layout.text(version),
            served,
            served,
        )
        return redis_layout.parse_version(version)

    def _apply_if_newer(
        self,
        ruleset: Ruleset,
        version: int,
        source: Source,
        digest: str | None = None,
        length: int = 0,
    ) -> bool:
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
            self._stored_digest, self._stored_length = digest, length
        if source == "redis":
            self._write_snapshot(version, ruleset)
        return True

    def _refuse(self, state: object, problem: str, message: str) -> None:
        """Redis holds something we must not serve: log it once, report why in health(),
        keep serving ours."""
        if state != self._refused:
            logger.error("flagware: %s %s", self.describe(), message)
        self._refused = state
        self._problem = problem
        if self._stale_since is None:
            self._stale_since = time.time()

    def _mark_in_sync(self) -> None:
        if self._last_error is not None:
            logger.warning("flagware: %s is connected again", self.describe())
        if self._problem is not None:
            logger.warning(
                "flagware: %s serves what Redis holds again (version %s)",
                self.describe(),
                self._current.version if self._current else "none",
            )
        self._stale_since = None
        self._last_error = None
        self._problem = None
        self._refused = None

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
        backoff = RECONNECT_FIRST
        kinds = ("smessage",) if self._publish == "SPUBLISH" else ("message",)
        while not self._stop.is_set():
            pubsub = None
            try:
                pubsub = self._client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
                read = pubsub.get_message
                if self._publish == "SPUBLISH":
                    pubsub.ssubscribe(self._keys.channel)
                    # A cluster's pub/sub reads shard channels from each node's connection.
                    read = getattr(pubsub, "get_sharded_message", read)
                else:
                    pubsub.subscribe(self._keys.channel)
                self._sync()  # whatever happened while we were not listening
                backoff = RECONNECT_FIRST
                next_poll = time.monotonic() + self._poll_interval
                while not self._stop.is_set():
                    wait = min(max(next_poll - time.monotonic(), 0.0), 0.5)
                    message = read(timeout=wait)
                    if message is not None and message.get("type") in kinds:
                        self._on_notification(message.get("data"))
                    if time.monotonic() >= next_poll:
                        self._sync()
                        next_poll = time.monotonic() + self._poll_interval
            except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
                self._note_disconnected(exc)
                self._stop.wait(backoff * random.uniform(0.5, 1.0))
                backoff = min(backoff * 2, RECONNECT_MAX)
            except redis.RedisError as exc:  # an error reply: Redis is there, but refused
                self._note_disconnected(exc)
                self._stop.wait(RECONNECT_MAX)
            except Exception:  # never let the follower die
                logger.exception("flagware: %s: unexpected error; retrying", self.describe())
                self._stop.wait(1.0)
            finally:
                if pubsub is not None:
                    with contextlib.suppress(Exception):  # the connection is dropped anyway
                        pubsub.close()

    # --- the write API's backend ------------------------------------------------------------

    @contextlib.contextmanager
    def _unavailable(self, doing: str = "writing") -> Iterator[None]:
        """Redis failures as :class:`StoreError`, the one error a write may raise for them."""
        try:
            yield
        except (redis.RedisError, OSError) as exc:
            raise StoreError(f"{self.describe()}: Redis is unavailable for {doing}: {exc}") from exc

    @contextlib.contextmanager
    def _writers_turn(self) -> Iterator[None]:
        """A short Redis lock (redis-py's) so writers in many processes take turns.

        Without it, every writer validating the whole ruleset inside its compare-and-set
        window makes them collide and retry; with it they queue. The lock expires by itself
        if a writer dies, and compare-and-set still guards every commit.
        """
        lock = self._client.lock(
            self._keys.write_lock, timeout=WRITE_LOCK_SECONDS, sleep=0.005, blocking_timeout=30
        )
        with self._unavailable():
            acquired = lock.acquire()
        if not acquired:
            raise StoreError(f"{self.describe()}: waited 30 s for other writers; try again")
        try:
            yield
        finally:
            with contextlib.suppress(redis.RedisError, OSError):  # it expires by itself
                lock.release()

    def _latest(self) -> tuple[int, dict[str, Any]]:
        """The compare-and-set token and document to edit: 0 for an empty namespace, -1 for
        a corrupt hash (no readable version), else the version in Redis. A stored document
        that cannot be served is replaced by an edit of the last good one."""
        with self._unavailable():
            head = self._head()
            if head.state == "empty" and self._restore_missing():
                head = self._head()
            current = self._current
            if (
                current is not None
                and self._source == "redis"
                and head.state == "ok"
                and head.version == current.version
                and head.digest == self._stored_digest
                and head.doc_length == self._stored_length
            ):  # the common case: what we serve is current, no need to fetch and validate it
                version, doc, self._unservable = current.version, current.ruleset.to_dict(), False
            else:
                version, doc, self._unservable = self._latest_stored(self._fetch())
        self._base = version, doc
        return version, json.loads(json.dumps(doc))

    def _latest_stored(self, stored: _Stored) -> tuple[int, dict[str, Any], bool]:
        """The token, the document to edit and whether what is stored cannot be served."""
        head = stored.head
        if head.state == "empty":  # a first ruleset for an empty namespace
            return 0, Ruleset().to_dict(), False
        if head.state == "corrupt" or head.version is None:
            return -1, self._get().ruleset.to_dict(), True
        try:
            return head.version, self._verify(stored)[1].to_dict(), False
        except (_Unservable, RulesetError):  # edit what we serve (the last good) instead
            return head.version, self._get().ruleset.to_dict(), True

    def _stored_unservable(self) -> bool:
        return self._unservable

    def _try_commit(
        self, ruleset: Ruleset, expected: int | None, actor: str, action: str
    ) -> int | None:
        with self._write_lock:
            token = "" if expected is None else EMPTY if expected == 0 else str(expected)
            if expected is not None and expected < 0:
                token = CORRUPT
            new_doc = ruleset.to_dict()
            base, self._base = self._base, None
            current = self._current
            if base is not None and base[0] == expected:
                old: dict[str, Any] | None = base[1]
            else:
                old = current.ruleset.to_dict() if current is not None else None
            doc = json.dumps(new_doc, separators=(",", ":")).encode()
            digest = digest_of(doc)
            args = [
                token,
                doc,
                digest,
                actor,
                time.time(),
                action,
                json.dumps(summarize(old, new_doc)),
                self._keys.channel,
                self._history_length,
                current.version if current is not None else 0,
                self._publish,
            ]
            with self._unavailable():
                (ok, raw_version), replicas = self._commit(args)
            if ok == -1:
                raise StoreError(f"{self.describe()}: {_at_the_limit(self._keys)}")
            if not ok:
                return None
            version = redis_layout.parse_version(raw_version)
            if version is None:  # pragma: no cover - the script formats it
                raise StoreError(f"{self.describe()}: Redis returned version {raw_version!r}")
            self._apply_if_newer(ruleset, version, "redis", digest, len(doc))
            self._mark_in_sync()  # whatever Redis held that we refused, our write replaced
            if replicas is not None and replicas < self._wait_replicas:
                raise StoreError(
                    f"{self.describe()}: version {version} was written, but only {replicas} of "
                    f"{self._wait_replicas} replicas confirmed it within "
                    f"{self._replica_timeout_ms} ms: a failover now could lose it"
                )
            return version

    def _commit(self, args: list[Any]) -> tuple[Any, int | None]:
        """Run the commit script; with ``wait_for_replicas``, on the same connection as
        ``WAIT`` (which counts the replicas that have this connection's writes)."""
        keys = [self._keys.ruleset, self._keys.audit]
        if not self._wait_replicas:
            return self._commit_script(keys=keys, args=args), None
        pipe = self._client.pipeline(transaction=False)
        self._commit_script(keys=keys, args=args, client=pipe)
        pipe.execute_command("WAIT", self._wait_replicas, self._replica_timeout_ms)
        result, replicas = pipe.execute()
        return result, int(replicas)

    def history(self, flag: str | None = None, limit: int = 50) -> list[Change]:
        # Without a flag filter, fetch only what was asked for: entries carry whole documents.
        if flag is None:
            return self._changes(count=limit)
        return super().history(flag, limit)

    def _changes(self, count: int | None = None) -> list[Change]:
        with self._unavailable("reading the history"):
            entries = self._client.xrevrange(self._keys.audit, count=count or self._history_length)
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
            if not isinstance(data, Mapping) or type(data.get("version")) is not int:
                raise ValueError("not a flagware snapshot")
            return data["version"], Ruleset.from_dict(
                data.get("document"), source=str(self._snapshot)
            )
        except (OSError, ValueError, RecursionError) as exc:
            logger.error("flagware: ignoring the unreadable snapshot %s: %s", self._snapshot, exc)
            return None


def _at_the_limit(keys: Keys) -> str:
    return (
        f"the next version would be above {redis_layout.MAX_VERSION:,}, the highest there is "
        "(only a write from outside flagware can bring a namespace there); delete the "
        f"namespace's keys ({keys.ruleset}, {keys.audit}) to start its versions over"
    )


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

    That includes a new client: the parent's follower thread may have held the old pool's
    lock at the moment of the fork, and that copy would stay locked forever.
    """
    for store in list(_live_stores):
        store._sync_lock = threading.Lock()
        store._swap_lock = threading.Lock()
        store._write_lock = threading.RLock()
        store._apply_lock = threading.Lock()
        fresh = (
            store._factory() if store._factory is not None else redis_clients.clone(store._client)
        )
        store._use_client(fresh, owns=True)
        store._thread = None
        store._start_thread()


os.register_at_fork(after_in_child=_after_fork_in_child)
