"""Redis Sentinel and Redis Cluster, as real processes on loopback, for the tests.

:class:`SentinelSetup` is a master, its replicas and three sentinels watching them;
:class:`ClusterSetup` is three masters sharing the 16,384 slots. Both are built from the
same ``redis-server`` binary as the rest of the suite (a sentinel is ``redis-server
sentinel.conf --sentinel``), without persistence, and stopped as a whole.
"""

from __future__ import annotations

import contextlib
import random
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import redis

from tests.redis_server import RedisServer

SERVICE = "mymaster"
# A replica syncs at once (Redis 7 waits 5 s for more replicas before a diskless sync).
REPLICATION = ["--repl-diskless-sync-delay", "0"]
SLOTS = 16384


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(redis.RedisError, OSError):
            if condition():
                return
        time.sleep(0.05)
    raise RuntimeError(f"timed out after {timeout:g}s waiting for {what}")


def cluster_port() -> int:
    """A free port whose cluster bus port (10,000 above it) is free and valid too."""
    for _ in range(1000):
        port = random.randint(20000, 40000)
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        return port
    raise RuntimeError("no free pair of ports for a cluster node")


def client(port: int) -> redis.Redis:
    return redis.Redis(port=port, socket_timeout=2, socket_connect_timeout=2)


class SentinelProcess(RedisServer):
    """A redis-server in sentinel mode, watching ``master_port`` as :data:`SERVICE`."""

    def __init__(self, master_port: int) -> None:
        super().__init__()
        self.config = Path(self.directory) / "sentinel.conf"
        self.config.write_text(
            f"port {self.port}\n"
            "bind 127.0.0.1\n"
            f"dir {self.directory}\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {master_port} 2\n"
            f"sentinel down-after-milliseconds {SERVICE} 500\n"
            f"sentinel failover-timeout {SERVICE} 3000\n"
            f"sentinel parallel-syncs {SERVICE} 1\n"
        )

    def command(self) -> list[str]:
        return [super().command()[0], str(self.config), "--sentinel"]


class SentinelSetup:
    """A master with ``replicas`` replicas and three sentinels (quorum 2)."""

    def __init__(self, replicas: int = 1) -> None:
        self.master = RedisServer(args=REPLICATION).start()
        self.replicas = [
            RedisServer(args=[*REPLICATION, "--replicaof", "127.0.0.1", str(self.master.port)])
            for _ in range(replicas)
        ]
        for replica in self.replicas:
            replica.start()
        self.sentinels = [SentinelProcess(self.master.port).start() for _ in range(3)]
        self.wait_until_watched(self.master.port, replicas)

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{SERVICE}/0"

    @property
    def addresses(self) -> list[tuple[str, int]]:
        return [("127.0.0.1", s.port) for s in self.sentinels]

    def master_port(self) -> int:
        """The master's port, as the first sentinel that answers reports it."""
        for sentinel in self.sentinels:
            with contextlib.suppress(redis.RedisError, OSError), client(sentinel.port) as c:
                address = c.sentinel_get_master_addr_by_name(SERVICE)
                if address:
                    return int(address[1])
        raise RuntimeError("no sentinel answered")

    def wait_until_watched(self, master_port: int, replicas: int) -> None:
        """Until every sentinel agrees on the master, sees its replicas in sync and knows the
        other sentinels: a failover can then happen."""

        def ready() -> bool:
            for sentinel in self.sentinels:
                with client(sentinel.port) as c:
                    address = c.sentinel_get_master_addr_by_name(SERVICE)
                    if not address or int(address[1]) != master_port:
                        return False
                    if len(c.sentinel_sentinels(SERVICE)) < 2:
                        return False
                    seen = c.sentinel_slaves(SERVICE)
                    if sum(1 for r in seen if "s_down" not in r.get("flags", "")) < replicas:
                        return False
            with client(master_port) as c:
                info = c.info("replication")
            online = [info[k] for k in info if k.startswith("slave") and k[5:].isdigit()]
            return sum(1 for r in online if r.get("state") == "online") >= replicas

        wait_for(ready, f"the sentinels to watch the master on {master_port}")

    def server_on(self, port: int) -> RedisServer:
        return next(s for s in (self.master, *self.replicas) if s.port == port)

    def stop(self) -> None:
        for server in (*self.sentinels, *self.replicas, self.master):
            server.stop()


class ClusterSetup:
    """Three masters, no replicas, every slot assigned: a cluster in state ok."""

    def __init__(self, size: int = 3) -> None:
        self.nodes = [
            RedisServer(
                port=cluster_port(),
                args=[
                    "--cluster-enabled", "yes",
                    "--cluster-config-file", "nodes.conf",
                    "--cluster-node-timeout", "1000",
                ]
            ).start()
            for _ in range(size)
        ]  # fmt: skip
        share = SLOTS // size
        for i, node in enumerate(self.nodes):
            last = SLOTS - 1 if i == size - 1 else (i + 1) * share - 1
            with client(node.port) as c:
                c.execute_command("CLUSTER ADDSLOTS", *range(i * share, last + 1))
        with client(self.nodes[0].port) as c:
            for node in self.nodes[1:]:
                c.execute_command("CLUSTER MEET", "127.0.0.1", node.port)
        self.wait_until_ok()

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    @property
    def addresses(self) -> list[tuple[str, int]]:
        return [("127.0.0.1", n.port) for n in self.nodes]

    def wait_until_ok(self) -> None:
        def ok() -> bool:
            for node in self.nodes:
                with client(node.port) as c:
                    info = c.execute_command("CLUSTER INFO")  # parsed into a dict
                    if info.get("cluster_state") != "ok":
                        return False
                    if int(info.get("cluster_known_nodes", 0)) != len(self.nodes):
                        return False
            return True

        wait_for(ok, "the cluster to be ok")

    def node_of(self, key: str) -> RedisServer:
        """The node that holds ``key``'s slot."""
        with client(self.nodes[0].port) as c:
            slot = int(c.execute_command("CLUSTER KEYSLOT", key))
            for start, end, master, *_ in c.execute_command("CLUSTER SLOTS"):
                if int(start) <= slot <= int(end):
                    port = int(master[1])
                    return next(n for n in self.nodes if n.port == port)
        raise RuntimeError(f"no node holds the slot of {key}")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


@contextlib.contextmanager
def sentinel_setup(replicas: int = 1) -> Iterator[SentinelSetup]:
    setup = SentinelSetup(replicas)
    try:
        yield setup
    finally:
        setup.stop()


@contextlib.contextmanager
def cluster_setup() -> Iterator[ClusterSetup]:
    setup = ClusterSetup()
    try:
        yield setup
    finally:
        setup.stop()
