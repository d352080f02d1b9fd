"""RedisStore on Redis Cluster: three masters sharing the slots, all real processes.

A namespace's keys share one hash tag, so they live in one slot and the Lua scripts work;
changes are announced with classic pub/sub (the cluster bus carries a message to every
node) or, with ``sharded_pubsub=True`` on Redis 7, within the slot's shard. A restart of
the node that holds the namespace is survived: the stores keep serving, reconnect, put
the ruleset back and follow writes again.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator

import pytest
import redis

from flagware import Ruleset
from flagware.stores.redis import RedisStore
from flagware.testing import DOC_A, DOC_B, canonical
from tests.redis_server import redis_binary
from tests.redis_topologies import ClusterSetup, cluster_setup
from tests.stored import keys

WAIT = 30.0


def wait_until(condition: Callable[[], bool], timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def redis_major() -> int:
    out = subprocess.run([redis_binary(), "--version"], capture_output=True, text=True, check=True)
    return int(out.stdout.split("v=", 1)[1].split(".", 1)[0])


@pytest.fixture(scope="module")
def cluster() -> Iterator[ClusterSetup]:
    with cluster_setup() as setup:
        yield setup


@pytest.fixture
def open_store(cluster: ClusterSetup, namespace: str) -> Iterator[Callable[..., RedisStore]]:
    made: list[RedisStore] = []

    def open_(**kwargs: object) -> RedisStore:
        kwargs.setdefault("namespace", namespace)
        kwargs.setdefault("snapshot_path", False)
        kwargs.setdefault("poll_interval", 600)  # changes must arrive by pub/sub
        store = RedisStore.from_url(cluster.url, **kwargs)  # type: ignore[arg-type]
        made.append(store)
        return store

    yield open_
    for store in made:
        store.close()


@pytest.mark.parametrize(
    "sharded",
    [
        False,
        pytest.param(
            True,
            marks=pytest.mark.skipif(
                redis_major() < 7, reason="sharded pub/sub needs Redis 7 (this is Redis 6)"
            ),
        ),
    ],
)
def test_writes_notifications_and_history_work(
    open_store: Callable[..., RedisStore], sharded: bool
) -> None:
    writer = open_store(bootstrap=DOC_A, sharded_pubsub=sharded)
    follower = open_store(sharded_pubsub=sharded)
    assert "cluster" in writer.describe()
    assert follower.ruleset() == Ruleset.from_dict(DOC_A)
    version = writer.save(DOC_B, actor="alice").version
    assert wait_until(lambda: follower.ruleset() == Ruleset.from_dict(DOC_B))
    assert follower.version == version
    follower.set_enabled("beta", False, actor="bob")
    assert wait_until(lambda: not writer.ruleset().flags["beta"].enabled)
    assert [(c.actor, c.action) for c in writer.history()][:2] == [
        ("bob", "disable"),
        ("alice", "save"),
    ]


def test_from_cluster_takes_node_addresses(cluster: ClusterSetup, namespace: str) -> None:
    with RedisStore.from_cluster(
        cluster.addresses[:1], namespace=namespace, snapshot_path=False, bootstrap=DOC_A
    ) as store:
        assert store.health().source == "redis"
        assert store.save(DOC_B).version == 2


def test_a_restart_of_the_node_holding_the_namespace_is_survived(
    cluster: ClusterSetup, open_store: Callable[..., RedisStore], namespace: str
) -> None:
    writer = open_store(bootstrap=DOC_A, poll_interval=0.5)
    follower = open_store(poll_interval=0.5)
    version = writer.save(DOC_B).version
    assert wait_until(lambda: follower.version == version)
    node = cluster.node_of(keys(namespace)[0])

    node.kill()  # no persistence: the namespace's data is gone with it
    assert wait_until(lambda: not follower.health().connected)
    assert follower.ruleset() == Ruleset.from_dict(DOC_B)  # the last good keeps serving
    node.start()  # same port and cluster config: it takes its slots back, empty
    cluster.wait_until_ok()

    assert wait_until(lambda: follower.health().connected and writer.health().connected)
    with redis.Redis(port=node.port) as raw:
        assert wait_until(lambda: raw.hget(keys(namespace)[0], "doc") is not None)
        stored = raw.hget(keys(namespace)[0], "doc")
    assert stored is not None
    assert Ruleset.from_dict(json.loads(stored)) == Ruleset.from_dict(DOC_B)
    after = writer.set_flag("after_restart", {"strategies": [{"type": "everyone"}]}).version
    assert wait_until(lambda: follower.version == after)
    assert "after_restart" in follower.ruleset().flags
    assert follower.ruleset().to_dict() == writer.ruleset().to_dict()
    assert canonical(DOC_B)["flags"].items() <= follower.ruleset().to_dict()["flags"].items()
