"""RedisStore: one ruleset shared by every process, cached and compiled in each of them.

A :class:`~flagware.Store` over a :class:`~.backend.RedisBackend`, followed by notify and
poll, with a last-known-good snapshot on disk and a fail-safe cold start. Writes run as
Lua scripts: compare, replace the document, append the audit entry and publish, in one
atomic step. Reads never touch Redis: requests evaluate the compiled copy in memory.

When Redis is unavailable the last good ruleset keeps serving, indefinitely. A process
that starts while Redis is down serves the snapshot, else the ``bootstrap`` ruleset,
else it *fails closed*: every flag off, test users included. What happens when Redis
holds bad data, or lost it, is in :mod:`._recovery`.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import redis

from flagware.errors import StoreUnavailable
from flagware.stores._failsafe import load_bootstrap
from flagware.stores._snapshot import Snapshot
from flagware.stores.redis import _clients as clients
from flagware.stores.redis import _recovery as recovery
from flagware.stores.redis._clients import Client, ClientFactory
from flagware.stores.redis.backend import RedisBackend
from flagware.stores.store import Health, Store

if TYPE_CHECKING:
    from flagware.engine import Clock
    from flagware.ruleset.load import RulesetLike

__all__ = ["Health", "RedisStore"]

_NAMESPACE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class RedisStore(Store):
    """The ruleset in Redis, compiled in memory, kept current by a background thread.

    :param client: a ``redis.Redis`` or ``redis.cluster.RedisCluster`` client (give it
        socket timeouts; ``from_url``, ``from_sentinel`` and ``from_cluster`` do).
    :param namespace: separates rulesets of several apps in one Redis.
    :param poll_interval: seconds between version checks besides pub/sub; ``None``: no
        background thread at all, for a process that opens the store, acts and exits (the
        store is as current as its last write or :meth:`~flagware.Store.refresh`).
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
        poll_interval: float | None = 5.0,
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
        if not _NAMESPACE.fullmatch(namespace):
            raise ValueError(f"namespace must match {_NAMESPACE.pattern}, got {namespace!r}")
        if poll_interval is not None and poll_interval <= 0:
            raise ValueError(f"poll_interval must be positive, got {poll_interval}")
        if wait_for_replicas < 0 or replica_timeout <= 0:
            raise ValueError("wait_for_replicas must be >= 0 and replica_timeout positive")
        if wait_for_replicas and clients.is_cluster(client):
            raise ValueError("wait_for_replicas is not supported on Redis Cluster clients")
        if clients.decodes(client):
            # Everything read from Redis is checked as bytes; a client that decodes replies
            # would fail on the first stored byte that is not UTF-8.
            client, owns_client = clients.clone(client, decode_responses=False), True
        backend = RedisBackend(
            client,
            namespace,
            owns_client=owns_client,
            factory=client_factory,
            history_length=history_length,
            wait_for_replicas=wait_for_replicas,
            replica_timeout_ms=max(1, int(replica_timeout * 1000)),
            sharded_pubsub=sharded_pubsub,
        )
        self.namespace = namespace
        if snapshot_path is False:
            snapshot = None
        elif snapshot_path is None:
            snapshot = Snapshot.default_for(backend.where(), namespace)
        else:
            snapshot = Snapshot(snapshot_path)
        backend.snapshot, backend.bootstrap = snapshot, load_bootstrap(bootstrap)
        super().__init__(
            backend,
            clock=clock,
            poll_interval=poll_interval,
            snapshot=snapshot,
            bootstrap=backend.bootstrap,
        )

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
        factory = clients.factory_from_url(
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
        factory = clients.sentinel_factory(
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
        factory = clients.cluster_factory(
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
        try:
            client = factory()  # a cluster client connects as it is made
        except (redis.RedisError, OSError) as exc:
            raise StoreUnavailable(f"cannot reach Redis at {factory.description}: {exc}") from exc
        try:
            return cls(
                client, namespace=namespace, owns_client=True, client_factory=factory, **kwargs
            )
        except BaseException:
            clients.close_client(client)
            raise

    def _restore_missing(self) -> bool:
        """Put back the newest ruleset known if the namespace is empty (as the follower
        does when it notices); returns whether there was one to put back."""
        backend: RedisBackend = self._backend  # type: ignore[assignment]
        with backend.unavailable():
            return recovery.restore_missing(backend, self._served())
