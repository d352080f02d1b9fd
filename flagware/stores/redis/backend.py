"""RedisBackend: one namespace of a Redis server, Sentinel set or Cluster, as a Backend.

Every call is one atomic Lua script or one plain read; Redis failures become
:class:`~flagware.StoreUnavailable` in one place (:meth:`RedisBackend.unavailable`). What a
follower does with what it reads, including the rules after Redis lost data, is in
:mod:`._recovery`.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator, Mapping
from typing import Any

import redis

from flagware.errors import RulesetError, StoreError, StoreUnavailable, WriteContention
from flagware.ruleset import MAX_DOCUMENT_BYTES, Ruleset, parse_text
from flagware.stores._follow import RECONNECT_MAX
from flagware.stores._snapshot import Snapshot
from flagware.stores.audit import Change, parse_audit_entry, summarize
from flagware.stores.backend import (
    BaseBackend,
    Committed,
    Latest,
    Listen,
    Loaded,
    Served,
    Unservable,
)
from flagware.stores.redis import _clients as clients
from flagware.stores.redis import _layout as layout
from flagware.stores.redis import _recovery as recovery
from flagware.stores.redis import _scripts as scripts
from flagware.stores.redis._clients import Client, ClientFactory
from flagware.stores.redis._layout import CORRUPT, EMPTY, Head, Keys, Stamp, Stored

__all__ = ["RedisBackend"]

WRITE_LOCK_SECONDS = 10


class RedisBackend(BaseBackend):
    """The keys of one namespace (:mod:`._layout`), changed only by :mod:`._scripts`."""

    name = "redis"
    label = "Redis"
    shared = True

    def __init__(
        self,
        client: Client,
        namespace: str,
        *,
        owns_client: bool,
        factory: ClientFactory | None,
        history_length: int,
        wait_for_replicas: int,
        replica_timeout_ms: int,
        sharded_pubsub: bool,
    ) -> None:
        self.namespace = namespace
        self.keys = Keys.of(namespace)
        self.history_length = history_length
        self.publish = "SPUBLISH" if sharded_pubsub else "PUBLISH"
        self._factory = factory
        self._wait_replicas = wait_for_replicas
        self._replica_timeout_ms = replica_timeout_ms
        self.use_client(client, owns=owns_client)
        # Filled in by RedisStore: what a restore after data loss may fall back on.
        self.snapshot: Snapshot | None = None
        self.bootstrap: Ruleset | None = None
        self.refused: Any = None  # the stored state last refused, and why (see recovery)

    def use_client(self, client: Client, *, owns: bool) -> None:
        self.client = client
        self._owns_client = owns
        self._head_script = client.register_script(scripts.HEAD)
        self._fetch_script = client.register_script(scripts.FETCH)
        self._commit_script = client.register_script(scripts.COMMIT)
        self.restore_script = client.register_script(scripts.RESTORE_IF_EMPTY)
        self.renumber_script = client.register_script(scripts.RENUMBER)

    @property
    def thread_name(self) -> str:
        """The name of the store's follower thread."""
        return f"flagware-redis-{self.namespace}"

    def where(self) -> str:
        """The server, sentinels or cluster nodes, without credentials."""
        if self._factory is not None:
            return self._factory.description
        return clients.where(self.client)

    def describe(self) -> str:
        return f"RedisStore({self.where()}, namespace={self.namespace!r})"

    @contextlib.contextmanager
    def unavailable(self, doing: str = "writing") -> Iterator[None]:
        """Redis failures as :class:`StoreUnavailable`, the one error they become.

        An error reply (Redis is there, but refused) asks the follower to wait longer
        than a dropped connection does.
        """
        try:
            yield
        except (redis.RedisError, OSError) as exc:
            error = StoreUnavailable(f"{self.describe()}: Redis is unavailable for {doing}: {exc}")
            if isinstance(exc, redis.RedisError) and not isinstance(
                exc, redis.ConnectionError | redis.TimeoutError
            ):
                error.retry_after = RECONNECT_MAX  # type: ignore[attr-defined]
            raise error from exc

    # --- reading ----------------------------------------------------------------------------

    def head(self) -> Head:
        return Head.from_reply(self._head_script(keys=[self.keys.ruleset, self.keys.audit]))

    def fetch(self) -> Stored:
        """The whole hash in one atomic read."""
        reply = self._fetch_script(keys=[self.keys.ruleset, self.keys.audit])
        return Stored(Head.from_reply(reply), reply[3] if isinstance(reply[3], bytes) else None)

    def parse(self, raw: bytes, previous: Ruleset | None = None) -> Ruleset:
        """A stored document, validated (RulesetError names the key); read as an edit of
        ``previous`` (what we serve), it costs the flags that changed."""
        if len(raw) > MAX_DOCUMENT_BYTES:
            raise RulesetError(
                ["<document>: larger than the document size limit"], source=self.keys.ruleset
            )
        return parse_text(raw, "json", source=self.keys.ruleset, previous=previous)

    def load(self, served: Served | None) -> Loaded | None:
        with self.unavailable("reading"):
            return recovery.load(self, served)

    def latest(self, served: Served | None) -> Latest:
        """The compare-and-set token and document to edit: 0 for an empty namespace, -1 for
        a corrupt hash (no readable version), else the version in Redis. A stored document
        that cannot be served is replaced by an edit of the last good one."""
        with self.unavailable():
            head = self.head()
            if head.state == "empty" and recovery.restore_missing(self, served):
                head = self.head()
            if (
                served is not None
                and served.source == self.name
                and head.state == "ok"
                and head.version == served.version
                and served.stamp == Stamp(head.digest, head.doc_length)
            ):  # the common case: what we serve is current, no need to fetch and validate it
                return Latest(served.version, served.ruleset)
            stored = self.fetch()
        head = stored.head
        if head.state == "empty":  # a first ruleset for an empty namespace
            return Latest(0, Ruleset())
        fallback = served.ruleset if served is not None else Ruleset()
        if head.state == "corrupt" or head.version is None:
            return Latest(-1, fallback, unservable=True)
        try:
            previous = served.ruleset if served is not None else None
            return Latest(head.version, recovery.verify(self, stored, previous)[1])
        except (Unservable, RulesetError):  # edit what we serve (the last good)
            return Latest(head.version, fallback, unservable=True)

    def history(self, limit: int | None) -> list[Change]:
        with self.unavailable("reading the history"):
            entries = self.client.xrevrange(self.keys.audit, count=limit or self.history_length)
        changes = []
        for _, raw in entries or ():
            change = parse_audit_entry(raw or {})
            if change is not None:  # an entry without a version tells nothing
                changes.append(change)
        return changes

    # --- writing ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def writers_turn(self) -> Iterator[None]:
        """A short Redis lock (redis-py's) so writers in many processes take turns.

        Without it, every writer validating the whole ruleset inside its compare-and-set
        window makes them collide and retry; with it they queue. The lock expires by itself
        if a writer dies, and compare-and-set still guards every commit.
        """
        lock = self.client.lock(
            self.keys.write_lock, timeout=WRITE_LOCK_SECONDS, sleep=0.005, blocking_timeout=30
        )
        with self.unavailable():
            acquired = lock.acquire()
        if not acquired:
            raise WriteContention(f"{self.describe()}: waited 30 s for other writers; try again")
        try:
            yield
        finally:
            with contextlib.suppress(redis.RedisError, OSError):  # it expires by itself
                lock.release()

    def commit(
        self,
        ruleset: Ruleset,
        token: int | None,
        *,
        actor: str,
        action: str,
        before: Mapping[str, Any] | None,
        served: Served | None = None,
    ) -> Committed | None:
        cas = "" if token is None else EMPTY if token == 0 else CORRUPT if token < 0 else str(token)
        new_doc = ruleset._shared_document()
        doc = layout.document_bytes(ruleset)
        digest = layout.digest_of(doc)
        args = [
            cas, doc, digest, actor, time.time(), action, json.dumps(summarize(before, new_doc)),
            self.keys.channel, self.history_length, served.version if served else 0,
            self.publish,
        ]  # fmt: skip
        with self.unavailable():
            (ok, raw_version), replicas = self._run_commit(args)
        if ok == -1:
            raise StoreError(f"{self.describe()}: {layout.at_the_limit(self.keys)}")
        if not ok:
            return None
        version = layout.parse_version(raw_version)
        if version is None:  # pragma: no cover - the script formats it
            raise StoreError(f"{self.describe()}: Redis returned version {raw_version!r}")
        self.refused = None
        warning = None
        if replicas is not None and replicas < self._wait_replicas:
            warning = StoreError(
                f"{self.describe()}: version {version} was written, but only {replicas} of "
                f"{self._wait_replicas} replicas confirmed it within "
                f"{self._replica_timeout_ms} ms: a failover now could lose it"
            )
        return Committed(version, Stamp(digest, len(doc)), warning)

    def _run_commit(self, args: list[Any]) -> tuple[Any, int | None]:
        """Run the commit script; with ``wait_for_replicas``, on the same connection as
        ``WAIT`` (which counts the replicas that have this connection's writes)."""
        keys = [self.keys.ruleset, self.keys.audit]
        if not self._wait_replicas:
            return self._commit_script(keys=keys, args=args), None
        pipe = self.client.pipeline(transaction=False)
        self._commit_script(keys=keys, args=args, client=pipe)
        pipe.execute_command("WAIT", self._wait_replicas, self._replica_timeout_ms)
        result, replicas = pipe.execute()
        return result, int(replicas)

    # --- notifications and the process's life -------------------------------------------

    @contextlib.contextmanager
    def listen(self) -> Iterator[Listen]:
        """Subscribe to the namespace's channel; yields ``wait(timeout)`` returning the
        announced version (True for an announcement it cannot read), or None."""
        sharded = self.publish == "SPUBLISH"
        kinds = ("smessage",) if sharded else ("message",)
        pubsub = None
        try:
            with self.unavailable("listening"):
                pubsub = self.client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call,unused-ignore]
                read = pubsub.get_message
                if sharded:
                    pubsub.ssubscribe(self.keys.channel)
                    # A cluster's pub/sub reads shard channels from each node's connection.
                    read = getattr(pubsub, "get_sharded_message", read)
                else:
                    pubsub.subscribe(self.keys.channel)

            def wait(timeout: float) -> object:
                with self.unavailable("listening"):
                    message = read(timeout=timeout)
                if message is None or message.get("type") not in kinds:
                    return None
                announced = layout.parse_version(message.get("data"))
                return True if announced is None else announced

            yield wait
        finally:
            if pubsub is not None:
                with contextlib.suppress(Exception):  # the connection is dropped anyway
                    pubsub.close()

    def after_fork(self) -> None:
        """A new client: the parent's follower may have held the old pool's lock at the
        moment of the fork, and that copy would stay locked forever."""
        fresh = self._factory() if self._factory is not None else clients.clone(self.client)
        self.use_client(fresh, owns=True)

    def close(self) -> None:
        if self._owns_client:
            clients.close_client(self.client)
