"""RedisStore on Redis Sentinel: a master, a replica and three sentinels, all real processes.

The store finds the master through the sentinels (``redis+sentinel://`` or
``RedisStore.from_sentinel``), waits for a replica on every write, and follows the master
through a failover: requests never fail, writes resume on the new master, no write that
was acknowledged is lost, and every worker converges.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from flagware import Ruleset, StoreError
from flagware.stores.redis import RedisStore
from flagware.testing import DOC_A, DOC_B
from tests.redis_topologies import SentinelSetup, sentinel_setup
from tests.stores.test_redis_outages import ACCT_FLAG, EXPECTED, Hammer, gunicorn, seed

WAIT = 30.0


def wait_until(condition: Callable[[], bool], timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.fixture
def sentinels() -> Iterator[SentinelSetup]:
    with sentinel_setup(replicas=1) as setup:
        yield setup


def test_a_sentinel_url_and_from_sentinel_reach_the_same_master(
    sentinels: SentinelSetup, namespace: str
) -> None:
    by_url = RedisStore.from_url(
        sentinels.url, namespace=namespace, snapshot_path=False, poll_interval=600
    )
    by_args = RedisStore.from_sentinel(
        sentinels.addresses, "mymaster", namespace=namespace, snapshot_path=False, poll_interval=600
    )
    try:
        assert "sentinel 'mymaster'" in by_url.describe()
        version = by_url.save(DOC_A, actor="alice").version
        # No poll for 10 minutes: the change arrives by pub/sub from the master.
        assert wait_until(lambda: by_args.ruleset() == Ruleset.from_dict(DOC_A))
        assert by_args.version == version
        assert by_args.save(DOC_B).version == version + 1
        assert [(c.version, c.actor) for c in by_url.history()][-1] == (version, "alice")
    finally:
        by_url.close()
        by_args.close()


def test_a_write_is_acknowledged_only_once_a_replica_has_it(
    sentinels: SentinelSetup, namespace: str
) -> None:
    store = RedisStore.from_url(sentinels.url, namespace=namespace, snapshot_path=False)
    try:
        store.save(DOC_A)
        sentinels.replicas[0].pause()  # the replica stops answering: nothing can confirm
        try:
            with pytest.raises(StoreError, match="0 of 1 replicas confirmed"):
                store.save(DOC_B)
        finally:
            sentinels.replicas[0].resume()
        assert store.save(DOC_A).version > 0
    finally:
        store.close()


class Writer:
    """Edits the ruleset without pause through a store of its own, noting every write that
    was acknowledged (returned a version) and what it wrote."""

    def __init__(self, url: str, namespace: str) -> None:
        self.store = RedisStore.from_url(url, namespace=namespace, snapshot_path=False)
        self.acknowledged: list[tuple[int, str]] = []
        self.refused = 0
        self.stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        count = 0
        while not self.stop.is_set():
            count += 1
            description = f"write {count}"
            try:
                version = self.store.set_flag(
                    "acct_flag", {**ACCT_FLAG, "description": description}
                ).version
            except StoreError:
                self.refused += 1
                time.sleep(0.05)
                continue
            self.acknowledged.append((version, description))
            time.sleep(0.02)

    def __enter__(self) -> Writer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._thread.join(timeout=60)
        self.store.close()


def test_a_failover_under_load_fails_no_request_and_loses_no_acknowledged_write(
    sentinels: SentinelSetup, namespace: str, tmp_path: Path
) -> None:
    url = sentinels.url
    version = seed(url, namespace, tmp_path)
    old_master = sentinels.master
    with gunicorn(url, namespace, tmp_path, workers=2) as app:
        app.until_every_worker(lambda a: a["version"] >= version and a["connected"])
        with Hammer(app) as hammer, Writer(url, namespace) as writer:
            assert wait_until(lambda: len(writer.acknowledged) >= 5)
            old_master.kill()  # SIGKILL: the sentinels promote the replica
            new_port = sentinels.replicas[0].port
            assert wait_until(lambda: sentinels.master_port() == new_port), "no failover"
            failed_over = len(writer.acknowledged)
            old_master.start()  # back, empty: the sentinels make it the new master's replica
            sentinels.wait_until_watched(new_port, replicas=1)
            assert wait_until(lambda: len(writer.acknowledged) >= failed_over + 5), (
                f"writes did not resume after the failover ({writer.refused} refused)"
            )
            assert wait_until(lambda: hammer.count(lambda a: a["version"] > version) > 0)
        assert hammer.failures == [], hammer.failures[:5]
        assert hammer.count(lambda a: True) > 100

        # Every acknowledged write is in the new master's history, the last one is live.
        with RedisStore.from_url(url, namespace=namespace, snapshot_path=False) as reader:
            history = {c.version: c for c in reader.history(limit=10_000)}
            live = reader.ruleset().flags["acct_flag"].description
            live_version = reader.version
        lost = [
            (v, d)
            for v, d in writer.acknowledged
            if v not in history or history[v].document["flags"]["acct_flag"]["description"] != d
        ]
        assert lost == [], f"acknowledged writes lost in the failover: {lost}"
        assert live == writer.acknowledged[-1][1]

        # Every worker converges on what the new master holds.
        answers = app.until_every_worker(
            lambda a: a["version"] == live_version and a["flags"] == EXPECTED and a["connected"]
        )
        assert {a["source"] for a in answers.values()} == {"redis"}
