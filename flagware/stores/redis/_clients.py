"""redis-py clients for RedisStore: one server, Sentinel or Cluster, built from a URL or
from arguments, rebuilt after ``fork()``, closed and described in one place.

URLs (credentials in the user part apply to the Redis servers, not to the sentinels)::

    redis://[user:password@]host:6379/0         one server (rediss:// for TLS)
    unix:///run/redis.sock?db=0                 one server on a Unix socket
    redis+sentinel://[user:password@]s1:26379,s2:26379,s3:26379/mymaster[/0]
    redis+cluster://[user:password@]n1:7000,n2:7001,n3:7002

``rediss+sentinel://`` and ``rediss+cluster://`` use TLS. Every client gets timeouts on
connecting and on each call, and one quick retry of a failed connection (a pooled
connection to a Redis that restarted fails once, then works) instead of redis-py's
default of ten: the store has its own reconnect loop, and a write to a Redis that is
down should fail in seconds, not retry for longer.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias
from urllib.parse import parse_qs, unquote, urlsplit

import redis
from redis.backoff import ExponentialBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelConnectionPool

__all__ = [
    "Client",
    "ClientFactory",
    "clone",
    "close_client",
    "cluster_factory",
    "decodes",
    "factory_from_url",
    "is_cluster",
    "sentinel_factory",
    "where",
]

Client: TypeAlias = "redis.Redis | RedisCluster"
Address = tuple[str, int]

SENTINEL_PORT = 26379
REDIS_PORT = 6379


def quick_retry() -> Retry:
    """One retry of a refused or dropped connection after 10 ms; none on timeouts."""
    return Retry(
        ExponentialBackoff(cap=0.05, base=0.01), retries=1, supported_errors=(RedisConnectionError,)
    )


@dataclass(frozen=True)
class ClientFactory:
    """Builds equal, independent clients: one per store, and a new one in a forked child."""

    build: Callable[[], Client]
    description: str

    def __call__(self) -> Client:
        return self.build()


def _timeouts(socket_timeout: float, socket_connect_timeout: float) -> dict[str, Any]:
    return {
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": socket_connect_timeout,
        "retry": quick_retry(),
    }


def factory_from_url(
    url: str, *, socket_timeout: float, socket_connect_timeout: float, **kwargs: Any
) -> ClientFactory:
    """A factory for the client ``url`` names (see the module docstring for the forms).

    Raises ValueError for a URL it cannot use.
    """
    scheme = url.partition("://")[0].lower()
    options = _timeouts(socket_timeout, socket_connect_timeout) | kwargs
    if scheme in ("redis+sentinel", "rediss+sentinel"):
        return _sentinel_from_url(url, options)
    if scheme in ("redis+cluster", "rediss+cluster"):
        nodes, username, password, _, query = _split_multi_host(url, REDIS_PORT)
        if query:
            raise ValueError(f"redis+cluster URLs take no query options, got {sorted(query)}")
        return cluster_factory(
            nodes, username=username, password=password, ssl=scheme.startswith("rediss"), **options
        )

    def build() -> Client:
        client: redis.Redis = redis.Redis.from_url(url, health_check_interval=15, **options)
        return client

    client = build()  # parses the URL now, so a bad one fails at configuration time
    description = where(client)
    client.close()
    return ClientFactory(build, description)


def sentinel_factory(
    sentinels: Sequence[Address],
    service_name: str,
    *,
    db: int = 0,
    username: str | None = None,
    password: str | None = None,
    sentinel_username: str | None = None,
    sentinel_password: str | None = None,
    ssl: bool = False,
    socket_timeout: float = 2.0,
    socket_connect_timeout: float = 2.0,
    **kwargs: Any,
) -> ClientFactory:
    """A factory of clients for the current master of ``service_name``, as the sentinels
    report it (redis-py's :class:`redis.sentinel.Sentinel`); after a failover the next
    connection goes to the new master."""
    if not sentinels:
        raise ValueError("Sentinel needs at least one sentinel address")
    if not service_name:
        raise ValueError("Sentinel needs the name of the monitored master (service_name)")
    addresses = [(str(host), int(port)) for host, port in sentinels]
    timeouts = _timeouts(socket_timeout, socket_connect_timeout)
    sentinel_options: dict[str, Any] = {**timeouts, "ssl": ssl}
    if sentinel_username is not None:
        sentinel_options["username"] = sentinel_username
    if sentinel_password is not None:
        sentinel_options["password"] = sentinel_password

    def build() -> Client:
        manager = Sentinel(addresses, sentinel_kwargs=sentinel_options, **timeouts)
        client: redis.Redis = manager.master_for(
            service_name,
            db=db,
            username=username,
            password=password,
            ssl=ssl,
            health_check_interval=15,
            **kwargs,
        )
        return client

    hosts = ",".join(f"{host}:{port}" for host, port in addresses)
    return ClientFactory(build, f"sentinel {service_name!r} via {hosts}/{db}")


def cluster_factory(
    nodes: Sequence[Address],
    *,
    username: str | None = None,
    password: str | None = None,
    ssl: bool = False,
    socket_timeout: float = 2.0,
    socket_connect_timeout: float = 2.0,
    **kwargs: Any,
) -> ClientFactory:
    """A factory of :class:`redis.cluster.RedisCluster` clients that start from ``nodes``
    (any reachable one is enough; the client learns the rest from the cluster)."""
    if not nodes:
        raise ValueError("Redis Cluster needs at least one node address")
    addresses = [(str(host), int(port)) for host, port in nodes]
    options = {**_timeouts(socket_timeout, socket_connect_timeout), **kwargs}
    options.pop("retry", None)  # RedisCluster retries across nodes by itself

    def build() -> Client:
        return RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in addresses],
            username=username,
            password=password,
            ssl=ssl,
            **options,
        )

    hosts = ",".join(f"{host}:{port}" for host, port in addresses)
    return ClientFactory(build, f"cluster {hosts}")


def _sentinel_from_url(url: str, options: dict[str, Any]) -> ClientFactory:
    sentinels, username, password, path, query = _split_multi_host(url, SENTINEL_PORT)
    parts = [unquote(p) for p in path.strip("/").split("/") if p]
    if not parts or len(parts) > 2:
        raise ValueError(
            "a redis+sentinel URL names the master after the hosts: "
            "redis+sentinel://host:26379,host:26380/mymaster[/db]"
        )
    if len(parts) == 2 and not (parts[1].isascii() and parts[1].isdigit()):
        raise ValueError(f"the database in a redis+sentinel URL must be a number, got {parts[1]!r}")
    extra = {k: v[-1] for k, v in query.items()}
    unknown = sorted(set(extra) - {"sentinel_username", "sentinel_password"})
    if unknown:
        raise ValueError(f"unknown redis+sentinel URL options: {', '.join(unknown)}")
    options = {k: v for k, v in options.items() if k != "retry"}
    return sentinel_factory(
        sentinels,
        parts[0],
        db=int(parts[1]) if len(parts) == 2 else 0,
        username=username,
        password=password,
        sentinel_username=extra.get("sentinel_username"),
        sentinel_password=extra.get("sentinel_password"),
        ssl=url.lower().startswith("rediss"),
        **options,
    )


def _split_multi_host(
    url: str, default_port: int
) -> tuple[list[Address], str | None, str | None, str, dict[str, list[str]]]:
    """``scheme://[user:password@]h1:p1,h2:p2/path?query`` in parts (urlsplit alone cannot
    read several hosts)."""
    parts = urlsplit(url)
    userinfo, _, hostlist = parts.netloc.rpartition("@")
    username = password = None
    if userinfo:
        user, colon, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else None
    addresses = []
    for item in hostlist.split(","):
        host, port = _host_port(item.strip(), default_port)
        addresses.append((host, port))
    return addresses, username, password, parts.path, parse_qs(parts.query)


def _host_port(item: str, default_port: int) -> Address:
    if not item:
        raise ValueError("empty host in the Redis URL")
    if item.startswith("["):  # [IPv6]:port
        host, _, rest = item[1:].partition("]")
        port_text = rest.removeprefix(":")
    else:
        host, _, port_text = item.partition(":")
    if not port_text:
        return host, default_port
    if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:
        raise ValueError(f"invalid port in the Redis URL: {item!r}")
    return host, int(port_text)


def is_cluster(client: object) -> bool:
    return isinstance(client, RedisCluster)


def where(client: Client) -> str:
    """The server a client talks to, for logs: a socket path, host:port/db, the sentinel
    service, or the cluster's nodes."""
    if isinstance(client, RedisCluster):
        nodes = sorted(node.name for node in client.get_nodes())
        return f"cluster {','.join(nodes)}"
    pool = client.connection_pool
    if isinstance(pool, SentinelConnectionPool):
        hosts = ",".join(
            f"{kw.get('host')}:{kw.get('port')}"
            for kw in (s.connection_pool.connection_kwargs for s in pool.sentinel_manager.sentinels)
        )
        db = pool.connection_kwargs.get("db", 0)
        return f"sentinel {pool.service_name!r} via {hosts}/{db}"
    kwargs = pool.connection_kwargs
    path = kwargs.get("path")
    return str(path) if path else f"{kwargs.get('host')}:{kwargs.get('port')}/{kwargs.get('db', 0)}"


def decodes(client: Client) -> bool:
    """Whether a client turns replies into text (``decode_responses=True``)."""
    if isinstance(client, RedisCluster):
        return bool(client.get_encoder().decode_responses)
    return bool(client.connection_pool.connection_kwargs.get("decode_responses"))


def clone(client: Client, **overrides: Any) -> Client:
    """A client like ``client`` on connections of its own, with ``overrides`` applied to
    its connection options (for a forked child, whose copy of the parent's pool may hold a
    lock some parent thread held at the fork, and for a client that decodes replies)."""
    if isinstance(client, RedisCluster):
        kwargs = dict(client.get_connection_kwargs())
        for key in ("host", "port", "connection_pool", "connection_class"):
            kwargs.pop(key, None)
        nodes = [ClusterNode(n.host, n.port) for n in client.get_nodes()]
        return RedisCluster(startup_nodes=nodes, **(kwargs | overrides))
    pool = client.connection_pool
    kwargs = dict(pool.connection_kwargs) | overrides
    if isinstance(pool, SentinelConnectionPool):
        kwargs.pop("connection_pool", None)  # the pool's proxy, rebuilt by the new pool
        fresh: redis.ConnectionPool = SentinelConnectionPool(
            pool.service_name, pool.sentinel_manager, **kwargs
        )
    else:
        fresh = pool.__class__(
            connection_class=pool.connection_class,
            max_connections=pool.max_connections,
            **kwargs,
        )
    return redis.Redis(connection_pool=fresh)


def close_client(client: Client) -> None:
    """Close a client's connections, and the sentinel connections a Sentinel client owns."""
    with contextlib.suppress(Exception):  # closing what may already be broken
        if not isinstance(client, RedisCluster):
            pool = client.connection_pool
            if isinstance(pool, SentinelConnectionPool):
                for sentinel in pool.sentinel_manager.sentinels:
                    sentinel.close()
        client.close()
