"""RedisStore: the store contract on a real redis-server, plus what only a Redis store does.

Every test talks to a real ``redis-server`` (the session-wide ``redis_server`` fixture,
isolated by a unique namespace, or a private server from ``own_redis`` when it must die).
Nothing is mocked. Waits are bounded polling loops for correctness, never speed checks.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import redis
import yaml

from flagware import Account, Ruleset, RulesetError, StoreError, VersionConflict
from flagware.ruleset.documents import MAX_DOCUMENT_BYTES
from flagware.stores.redis import Health, RedisStore
from flagware.testing import (
    DOC_A,
    DOC_B,
    INVALID,
    StoreContract,
    StoreFactory,
    canonical,
)
from tests.redis_server import RedisServer, free_port, redis_binary
from tests.stored import digest, write_ruleset

WAIT = 10.0  # seconds a store gets to notice a change before a test fails
POLL = 0.2  # the poll interval of most stores here

OpenStore = Callable[..., RedisStore]


def wait_until(condition: Callable[[], bool], timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def keys(namespace: str) -> tuple[str, str, str]:
    """The ruleset hash, the audit stream and the change channel of a namespace."""
    tag = f"{{flagware:{namespace}}}"
    return f"{tag}:ruleset", f"{tag}:audit", f"{tag}:changes"


def unreachable_url() -> str:
    """A Redis URL with nothing listening (connection refused at once)."""
    return f"redis://127.0.0.1:{free_port()}/0"


def follower_threads(namespace: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"flagware-redis-{namespace}"]


def huge_document() -> dict[str, Any]:
    """A *valid* ruleset whose JSON is larger than the document size limit."""
    doc = {"flags": {f"f{i}": {"description": "x" * 1900, "strategies": []} for i in range(9000)}}
    assert len(json.dumps(doc, separators=(",", ":"))) > MAX_DOCUMENT_BYTES
    return doc


# --- fixtures --------------------------------------------------------------------------------


def subscribed(client: redis.Redis, namespace: str, count: int) -> Callable[[], bool]:
    """Whether ``count`` followers listen on the namespace's channel."""
    channel = keys(namespace)[2]
    return lambda: dict(client.pubsub_numsub(channel)).get(channel.encode(), 0) >= count


# --- the contract ----------------------------------------------------------------------------


class TestRedisStore(StoreContract):
    @pytest.fixture
    def make_store(
        self, redis_server: RedisServer, namespace: str, tmp_path: Path
    ) -> Iterator[StoreFactory]:
        """The first store of a test starts on an empty namespace with ``doc`` as its
        bootstrap (which it writes to Redis); later stores share the namespace, have no
        bootstrap and snapshots of their own, so what they hold came from Redis."""
        made: list[RedisStore] = []

        def make(doc: dict[str, Any]) -> RedisStore:
            store = RedisStore.from_url(
                redis_server.url,
                namespace=namespace,
                snapshot_path=tmp_path / f"snapshot-{len(made)}.json",
                poll_interval=POLL,
                bootstrap=None if made else doc,
            )
            made.append(store)
            return store

        yield make
        for store in made:
            store.close()


# --- several stores on one namespace ---------------------------------------------------------


def test_two_stores_on_one_namespace_see_each_others_writes(open_store: OpenStore) -> None:
    a = open_store(bootstrap=DOC_A)
    b = open_store()
    assert b.ruleset() == Ruleset.from_dict(DOC_A)
    assert b.version == a.version
    a.save(DOC_B, actor="alice")
    assert wait_until(lambda: b.ruleset() == Ruleset.from_dict(DOC_B) and b.version == a.version)
    b.set_flag("from_b", {"strategies": [{"type": "everyone"}]}, actor="bob")
    assert wait_until(lambda: "from_b" in a.ruleset().flags and a.version == b.version)
    assert a.engine().is_released_to("from_b", Account(id="anyone"))
    history_a = [(c.version, c.actor, c.action) for c in a.history()]
    assert history_a == [(c.version, c.actor, c.action) for c in b.history()]
    assert history_a[:2] == [(3, "bob", "set_flag"), (2, "alice", "save")]


def test_a_change_arrives_by_pubsub_long_before_the_next_poll(
    open_store: OpenStore, raw: redis.Redis, namespace: str
) -> None:
    a = open_store(bootstrap=DOC_A, poll_interval=600)
    b = open_store(poll_interval=600)
    assert wait_until(subscribed(raw, namespace, 2))  # both followers listen
    received: list[Ruleset] = []
    b.subscribe(received.append)
    a.save(DOC_B)
    # No poll happens for 600 s: only the published message can bring the change this soon.
    assert wait_until(lambda: b.ruleset() == Ruleset.from_dict(DOC_B))
    assert b.version == a.version
    # Listeners run right after the swap, in the follower's thread: a moment after it.
    assert wait_until(lambda: len(received) > 0)
    assert received == [b.ruleset()]


def test_polling_picks_up_a_write_that_published_nothing(
    open_store: OpenStore, raw: redis.Redis, namespace: str
) -> None:
    store = open_store(bootstrap=DOC_A)
    assert wait_until(subscribed(raw, namespace, 1))
    write_ruleset(raw, namespace, json.dumps(DOC_B), store.version + 1, publish=False)
    assert wait_until(lambda: store.ruleset() == Ruleset.from_dict(DOC_B))
    assert store.version == 2
    assert store.health().source == "redis"


def test_update_edits_the_latest_document_in_redis(
    open_store: OpenStore, raw: redis.Redis, namespace: str
) -> None:
    """A store edits what Redis holds, even a change its follower has not applied yet."""
    store = open_store(bootstrap=DOC_A, poll_interval=600)
    write_directly(raw, namespace, json.dumps(DOC_B), 2, publish=False)  # no poll for 600 s
    assert store.ruleset() == Ruleset.from_dict(DOC_A)
    seen: list[dict[str, Any]] = []

    def change(doc: dict[str, Any]) -> None:
        seen.append(json.loads(json.dumps(doc)))
        doc["test_users"] = [*doc["test_users"], "edited"]

    version = store.update(change).version
    assert seen == [canonical(DOC_B)]
    assert version == 3
    assert store.ruleset() == Ruleset.from_dict(
        {**DOC_B, "test_users": [*canonical(DOC_B)["test_users"], "edited"]}
    )
    with pytest.raises(VersionConflict):
        store.save(DOC_A, expected_version=2)


def test_concurrent_edits_from_eight_stores_all_survive(open_store: OpenStore) -> None:
    first = open_store(bootstrap=DOC_A)
    stores = [first] + [open_store() for _ in range(7)]
    edits = 12
    versions: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(stores))

    def edit(index: int, store: RedisStore) -> None:
        try:
            barrier.wait()
            for i in range(edits):
                versions.append(store.set_flag(f"s{index}_{i}", {"strategies": []}).version)
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=edit, args=pair) for pair in enumerate(stores)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not any(worker.is_alive() for worker in workers)
    assert errors == []
    total = len(stores) * edits
    assert sorted(versions) == list(range(2, total + 2))  # every write got its own version
    names = {f"s{s}_{i}" for s in range(len(stores)) for i in range(edits)}
    for store in stores:
        assert wait_until(lambda store=store: store.version == total + 1)
        assert set(store.ruleset().flags) == names | {"beta", "ab"}
    history = first.history(limit=10_000)
    assert [c.version for c in history] == list(range(total + 1, 0, -1))
    assert sorted(n for c in history[:-1] for n in c.summary["flags_added"]) == sorted(names)


# --- what is stored in Redis -----------------------------------------------------------------


def test_the_document_is_json_in_the_ruleset_hash(
    open_store: OpenStore, raw: redis.Redis, namespace: str
) -> None:
    store = open_store(bootstrap=DOC_A)
    store.save(DOC_B, actor="alice")
    key, audit, _ = keys(namespace)
    assert raw.type(key) == b"hash"
    fields = raw.hgetall(key)
    assert set(fields) == {b"doc", b"version", b"digest"}
    assert json.loads(fields[b"doc"].decode("utf-8")) == canonical(DOC_B)
    assert fields[b"digest"].decode() == digest(fields[b"doc"])
    assert int(fields[b"version"]) == store.version == 2
    assert raw.type(audit) == b"stream"
    prefix = f"{{flagware:{namespace}}}"
    assert sorted(raw.scan_iter(match=f"{prefix}*")) == sorted([key.encode(), audit.encode()])
    # No pickle (nor anything else binary) anywhere: every stored value is UTF-8 text, and
    # the structured ones are JSON.
    values = list(fields.values())
    for _, entry in raw.xrange(audit):
        values.extend(entry.values())
        json.loads(entry[b"doc"])
        json.loads(entry[b"summary"])
    for value in values:
        assert not value.startswith(b"\x80")  # the pickle protocol marker
        value.decode("utf-8")


def test_the_audit_stream_has_one_entry_per_version(
    open_store: OpenStore, raw: redis.Redis, namespace: str
) -> None:
    store = open_store(bootstrap=DOC_A)
    store.save(DOC_B, actor="alice")
    store.set_flag("x", {"strategies": []}, actor="bob")
    store.delete_flag("x")
    audit = keys(namespace)[1]
    stream = [
        {k.decode(): v.decode() for k, v in fields.items()} for _, fields in raw.xrange(audit)
    ]
    assert raw.xlen(audit) == store.version == 4
    assert [int(e["version"]) for e in stream] == [1, 2, 3, 4]
    assert [int(e["previous"]) for e in stream] == [0, 1, 2, 3]
    assert all(
        set(e) == {"version", "previous", "actor", "at", "action", "summary", "doc", "digest"}
        for e in stream
    )
    assert [e["actor"] for e in stream[1:]] == ["alice", "bob", "api"]
    assert [e["action"] for e in stream[1:]] == ["save", "set_flag", "delete_flag"]
    assert json.loads(stream[2]["summary"]) == {"flags_added": ["x"]}
    assert json.loads(stream[-1]["doc"]) == store.ruleset().to_dict()
    # history() reads the stream: every process sees the same history.
    other = open_store()
    assert [(c.version, c.actor, c.action) for c in other.history()] == [
        (int(e["version"]), e["actor"], e["action"]) for e in reversed(stream)
    ]


# --- a bad document written by something else ------------------------------------------------


CORRUPT: dict[str, tuple[Callable[[], bytes], str]] = {
    "invalid-json": (lambda: b'{"flags": {"beta": ', "<document>: not valid JSON"),
    "not-a-mapping": (lambda: b"[1, 2, 3]", "<document>: must be a mapping"),
    "invalid-ruleset": (
        lambda: json.dumps(INVALID).encode(),
        "flags.beta.strategies[0].percent",
    ),
    "huge": (
        lambda: json.dumps(huge_document(), separators=(",", ":")).encode(),
        "<document>: larger than the document size limit",
    ),
}


@pytest.fixture(params=sorted(CORRUPT))
def corrupt(request: pytest.FixtureRequest) -> tuple[bytes, str]:
    make, problem = CORRUPT[request.param]
    return make(), problem


write_directly = write_ruleset


def rejections(caplog: pytest.LogCaptureFixture, version: int) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == "flagware"
        and r.levelno == logging.ERROR
        and f"rejected version {version} in Redis" in r.getMessage()
    ]


def test_a_corrupt_document_is_rejected_and_the_last_good_keeps_serving(
    open_store: OpenStore,
    raw: redis.Redis,
    namespace: str,
    corrupt: tuple[bytes, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    data, problem = corrupt
    store = open_store(bootstrap=DOC_A)
    good, version = store.ruleset(), store.version
    received: list[Ruleset] = []
    store.subscribe(received.append)
    with caplog.at_level(logging.ERROR, logger="flagware"):
        write_directly(raw, namespace, data, version + 1)
        assert wait_until(lambda: bool(rejections(caplog, version + 1)))
        time.sleep(5 * POLL)  # several polls: the same bad version is not logged again
    records = rejections(caplog, version + 1)
    assert len(records) == 1
    assert problem in records[0].getMessage()
    assert store.ruleset() is good
    assert store.version == version
    assert store.health().source == "redis"
    assert received == []
    # A later valid write (by anyone) is applied.
    write_directly(raw, namespace, json.dumps(DOC_B), version + 2)
    assert wait_until(lambda: store.ruleset() == Ruleset.from_dict(DOC_B))
    assert store.version == version + 2


def test_save_replaces_a_corrupt_document(
    open_store: OpenStore, raw: redis.Redis, namespace: str, corrupt: tuple[bytes, str]
) -> None:
    data, _ = corrupt
    store = open_store(bootstrap=DOC_A)
    write_directly(raw, namespace, data, 2)
    assert store.save(DOC_B).version == 3
    assert store.ruleset() == Ruleset.from_dict(DOC_B)
    assert json.loads(raw.hget(keys(namespace)[0], "doc")) == canonical(DOC_B)


def test_an_edit_after_a_corrupt_document_edits_the_last_good_ruleset(
    open_store: OpenStore, raw: redis.Redis, namespace: str, corrupt: tuple[bytes, str]
) -> None:
    # RedisStore._latest: "corrupt: edit what we serve (the last good) instead". An edit
    # of one flag must neither fail on someone else's bad document nor build on it.
    data, _ = corrupt
    store = open_store(bootstrap=DOC_A)
    write_directly(raw, namespace, data, 2)
    assert store.set_flag("new", {"strategies": [{"type": "everyone"}]}).version == 3
    expected = canonical(DOC_A)
    expected["flags"]["new"] = {"strategies": [{"type": "everyone"}]}
    assert store.ruleset().to_dict() == expected
    assert json.loads(raw.hget(keys(namespace)[0], "doc")) == expected


def test_a_store_starting_on_a_corrupt_document_never_serves_it(
    open_store: OpenStore,
    raw: redis.Redis,
    namespace: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    snapshot = tmp_path / "good.json"
    with open_store(bootstrap=DOC_A, snapshot_path=snapshot):
        pass
    write_directly(raw, namespace, json.dumps(INVALID), 2)
    with caplog.at_level(logging.ERROR, logger="flagware"):
        from_snapshot = open_store(snapshot_path=snapshot)
        nothing = open_store()
    assert from_snapshot.ruleset() == Ruleset.from_dict(DOC_A)
    assert from_snapshot.health().source == "snapshot"
    assert nothing.health().source == "fail-closed"
    assert not nothing.engine().evaluate_all(Account(id="tester")).is_enabled("beta")
    assert rejections(caplog, 2)


def test_save_refuses_a_document_larger_than_the_stores_accept(
    open_store: OpenStore, raw: redis.Redis, namespace: str
) -> None:
    # Every RedisStore rejects a stored document over MAX_DOCUMENT_BYTES, so a save() that
    # writes one leaves the writer serving a ruleset no other process (nor a cold start,
    # nor the writer after a restart) will ever load.
    writer = open_store(bootstrap=DOC_A)
    reader = open_store()
    with pytest.raises(RulesetError, match="limit"):
        writer.save(huge_document())
    assert json.loads(raw.hget(keys(namespace)[0], "doc")) == canonical(DOC_A)
    assert writer.ruleset() == reader.ruleset() == Ruleset.from_dict(DOC_A)


# --- versions only move forward --------------------------------------------------------------


def test_an_older_version_in_redis_is_served_under_a_newer_version(
    open_store: OpenStore, raw: redis.Redis, namespace: str
) -> None:
    # Redis went back (an older backup came back, or it lost data and was written to): what
    # it holds wins, renumbered above what any process served, so no process takes it for
    # old news and keeps serving something Redis no longer holds.
    store = open_store(bootstrap=DOC_A)
    other = open_store()
    for doc in (DOC_B, DOC_A, DOC_B):
        store.save(doc)
    assert store.version == 4
    assert wait_until(lambda: other.version == 4)
    write_directly(raw, namespace, json.dumps(DOC_A), 2)
    expected = Ruleset.from_dict(DOC_A)
    assert wait_until(lambda: store.ruleset() == expected and other.ruleset() == expected)
    assert store.version == other.version == 5
    assert raw.hget(keys(namespace)[0], "version") == b"5"
    newest = store.history(limit=1)[0]
    assert (newest.version, newest.previous_version) == (5, 2)
    assert newest.action == "renumber after data loss"
    assert newest.document == canonical(DOC_A)
    # The stream still records version 4, so nothing had to be kept for it.
    assert [c.version for c in store.history(limit=3)] == [5, 4, 3]


def test_a_write_after_redis_went_back_a_version_is_served(
    open_store: OpenStore, raw: redis.Redis, namespace: str
) -> None:
    # Redis's version can go down (an older backup restored, a bootstrap written into a
    # Redis that restarted empty). A write that then succeeds must not vanish: save()
    # returns a version, and the store that wrote it must serve what it wrote.
    store = open_store(bootstrap=DOC_A)
    store.save(DOC_B)
    store.save(DOC_A)
    write_directly(raw, namespace, json.dumps(DOC_B), 1)
    version = store.set_flag("after", {"strategies": [{"type": "everyone"}]}).version
    assert "after" in store.ruleset().flags
    assert store.version == version


# --- empty Redis: fail closed, or bootstrap --------------------------------------------------


def test_empty_redis_without_snapshot_or_bootstrap_fails_closed(
    open_store: OpenStore, raw: redis.Redis, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="flagware"):
        store = open_store()
    health = store.health()
    assert health.source == "fail-closed"
    assert health.connected is True
    assert health.version == 0
    ruleset = store.ruleset()
    assert ruleset.unknown == "hidden"  # an empty Redis is not "no flags, unknown released"
    assert dict(ruleset.flags) == {}
    assert ruleset.test_users == frozenset()
    tester = Account(id="tester", attributes={"country": "NL"})
    for flagset in (
        store.engine().evaluate_all(tester),
        store.engine().evaluate_all(tester, test_user=True),  # test users included
        store.engine().evaluate_all(None),
    ):
        assert not flagset.is_enabled("beta")
        assert not flagset.is_enabled("anything_at_all")
        assert flagset.enabled_flags() == frozenset()
    errors = [r for r in caplog.records if r.name == "flagware" and r.levelno == logging.ERROR]
    assert any("FAILING CLOSED" in r.getMessage() for r in errors)
    assert not raw.exists(keys(namespace)[0])  # failing closed writes nothing to Redis
    # The first ruleset anyone saves is followed.
    open_store().save(DOC_A)
    assert wait_until(lambda: store.ruleset() == Ruleset.from_dict(DOC_A))
    assert store.health().source == "redis"


def test_a_redis_that_lost_the_ruleset_is_not_no_flags(
    open_store: OpenStore, raw: redis.Redis, namespace: str
) -> None:
    store = open_store(bootstrap=DOC_A)
    store.save(DOC_B)
    raw.delete(*keys(namespace)[:2])  # as FLUSHDB or a restart without persistence would
    assert wait_until(lambda: raw.hget(keys(namespace)[0], "version") is not None)
    assert store.ruleset() == Ruleset.from_dict(DOC_B)
    assert store.version == 2
    assert json.loads(raw.hget(keys(namespace)[0], "doc")) == canonical(DOC_B)


@pytest.mark.parametrize("form", ["dict", "ruleset", "json-path", "yaml-str-path"])
def test_bootstrap_is_served_on_an_empty_redis_and_written_to_it(
    open_store: OpenStore, raw: redis.Redis, namespace: str, tmp_path: Path, form: str
) -> None:
    bootstrap: Any
    if form == "dict":
        bootstrap = DOC_B
    elif form == "ruleset":
        bootstrap = Ruleset.from_dict(DOC_B)
    elif form == "json-path":
        bootstrap = tmp_path / "boot.json"
        bootstrap.write_text(json.dumps(DOC_B), encoding="utf-8")
    else:
        path = tmp_path / "boot.yaml"
        path.write_text(yaml.safe_dump(DOC_B), encoding="utf-8")
        bootstrap = str(path)
    store = open_store(bootstrap=bootstrap)
    assert store.ruleset() == Ruleset.from_dict(DOC_B)
    assert store.health().source == "redis"
    assert store.version == 1
    assert json.loads(raw.hget(keys(namespace)[0], "doc")) == canonical(DOC_B)
    assert open_store().ruleset() == Ruleset.from_dict(DOC_B)  # others read it from Redis


def test_bootstrap_is_ignored_when_redis_has_a_ruleset(
    open_store: OpenStore, raw: redis.Redis, namespace: str
) -> None:
    open_store(bootstrap=DOC_A).save(DOC_B)
    store = open_store(bootstrap=DOC_A)
    assert store.ruleset() == Ruleset.from_dict(DOC_B)
    assert store.version == 2
    assert raw.xlen(keys(namespace)[1]) == 2


def test_an_invalid_bootstrap_is_refused_at_start(
    redis_server: RedisServer, namespace: str
) -> None:
    client = redis.Redis.from_url(redis_server.url)
    try:
        with pytest.raises(RulesetError, match=r"flags\.beta\.strategies\[0\]\.percent"):
            RedisStore(client, namespace=namespace, snapshot_path=False, bootstrap=INVALID)
        assert follower_threads(namespace) == []
    finally:
        client.close()


# --- cold start with Redis unreachable -------------------------------------------------------


def test_cold_start_without_redis_serves_the_snapshot(
    open_store: OpenStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    snapshot = tmp_path / "last-good.json"
    earlier = open_store(bootstrap=DOC_A, snapshot_path=snapshot)
    earlier.save(DOC_B)
    earlier.close()
    written = json.loads(snapshot.read_text(encoding="utf-8"))
    assert written["version"] == 2
    assert written["document"] == canonical(DOC_B)
    with caplog.at_level(logging.WARNING, logger="flagware"):
        cold = open_store(unreachable_url(), snapshot_path=snapshot, bootstrap=DOC_A)
    assert cold.ruleset() == Ruleset.from_dict(DOC_B)  # the snapshot beats the bootstrap
    assert cold.version == 2
    health = cold.health()
    assert health.source == "snapshot"
    assert health.connected is False
    assert health.stale_since is not None
    assert health.last_error
    assert any(str(snapshot) in r.getMessage() for r in caplog.records)
    with pytest.raises(StoreError):
        cold.set_flag("x", {})
    assert cold.ruleset() == Ruleset.from_dict(DOC_B)


def test_cold_start_after_redis_died_uses_the_default_snapshot_file(
    own_redis: Callable[[], RedisServer], tmp_path: Path, namespace: str, monkeypatch: Any
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # where default snapshots go
    server = own_redis()
    with RedisStore.from_url(server.url, namespace=namespace, bootstrap=DOC_A) as earlier:
        earlier.save(DOC_B)
    assert [p.name for p in (tmp_path / "flagware").glob(f"{namespace}-*.json")]
    server.kill()
    with RedisStore.from_url(server.url, namespace=namespace, poll_interval=POLL) as cold:
        assert cold.health().source == "snapshot"
        assert cold.ruleset() == Ruleset.from_dict(DOC_B)
    # Another namespace on the same server has a snapshot of its own (none yet).
    with RedisStore.from_url(server.url, namespace=f"{namespace}x", poll_interval=POLL) as other:
        assert other.health().source == "fail-closed"


def test_cold_start_without_redis_or_snapshot_serves_the_bootstrap(
    open_store: OpenStore, tmp_path: Path
) -> None:
    cold = open_store(unreachable_url(), bootstrap=DOC_B)
    assert cold.ruleset() == Ruleset.from_dict(DOC_B)
    assert cold.health().source == "bootstrap"
    assert cold.health().connected is False
    assert not (tmp_path / "snapshot-0.json").exists()  # only Redis's rulesets are kept


def test_cold_start_with_nothing_fails_closed(
    open_store: OpenStore, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="flagware"):
        cold = open_store(unreachable_url())
    assert cold.health().source == "fail-closed"
    assert cold.health().connected is False
    assert cold.ruleset().unknown == "hidden"
    assert not cold.engine().evaluate_all(Account(id="tester"), test_user=True).is_enabled("x")
    assert any("FAILING CLOSED" in r.getMessage() for r in caplog.records)


def test_an_unreadable_snapshot_is_ignored(
    open_store: OpenStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    snapshot = tmp_path / "broken.json"
    snapshot.write_text('{"flagware_snapshot": 1, "version": 3, "document": {"flags": 7}}')
    with caplog.at_level(logging.ERROR, logger="flagware"):
        cold = open_store(unreachable_url(), snapshot_path=snapshot, bootstrap=DOC_A)
    assert cold.health().source == "bootstrap"
    assert cold.ruleset() == Ruleset.from_dict(DOC_A)
    assert any("unreadable snapshot" in r.getMessage() for r in caplog.records)


def test_snapshot_can_be_disabled(open_store: OpenStore, tmp_path: Path) -> None:
    store = open_store(bootstrap=DOC_A, snapshot_path=False)
    store.save(DOC_B)
    assert list(tmp_path.iterdir()) == []


# --- health ----------------------------------------------------------------------------------


def test_health_of_a_connected_store(open_store: OpenStore) -> None:
    store = open_store(bootstrap=DOC_A)
    store.save(DOC_B)
    assert store.health() == Health(
        connected=True, version=2, source="redis", stale_since=None, last_error=None
    )


def test_health_reports_a_lost_redis(
    own_redis: Callable[[], RedisServer], open_store: OpenStore
) -> None:
    server = own_redis()
    store = open_store(server.url, bootstrap=DOC_A)
    before = time.time()
    server.kill()
    assert wait_until(lambda: not store.health().connected)
    health = store.health()
    assert health.version == 1
    assert health.source == "redis"
    assert health.stale_since is not None
    assert health.stale_since >= before - 1
    assert health.last_error
    assert store.ruleset() == Ruleset.from_dict(DOC_A)


# --- construction ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad", ["", "a b", "x" * 65, "{tag}", "app:1", "app/1", "ünïcode", "tab\t", "nl\n"]
)
def test_namespace_is_validated(redis_server: RedisServer, bad: str) -> None:
    client = redis.Redis.from_url(redis_server.url)
    try:

        def construct() -> None:
            store = RedisStore(client, namespace=bad, snapshot_path=False)
            store.close()  # reached only if the namespace was (wrongly) accepted

        with pytest.raises(ValueError, match="namespace"):
            construct()
        assert follower_threads(bad) == []
    finally:
        client.close()


@pytest.mark.parametrize("good", ["x" * 64, "My-App_2.prod"])
def test_valid_namespaces_name_the_keys(open_store: OpenStore, raw: redis.Redis, good: str) -> None:
    good = f"{good[:-12]}{uuid.uuid4().hex[:12]}"  # unique per run, same shape
    try:
        store = open_store(namespace=good, bootstrap=DOC_A)
        assert store.namespace == good
        assert raw.hget(keys(good)[0], "version") == b"1"
        assert f"namespace={good!r}" in repr(store)
    finally:
        raw.delete(*keys(good)[:2])


@pytest.mark.parametrize("interval", [0, -1])
def test_poll_interval_must_be_positive(redis_server: RedisServer, interval: float) -> None:
    client = redis.Redis.from_url(redis_server.url)
    try:
        with pytest.raises(ValueError, match="poll_interval"):
            RedisStore(client, poll_interval=interval, snapshot_path=False)
    finally:
        client.close()


def test_from_url_with_user_and_password(
    open_store: OpenStore, redis_server: RedisServer, raw: redis.Redis, namespace: str
) -> None:
    user, password = f"fw-{namespace}", "s3cret/with@odd:chars"
    prefix = f"{{flagware:{namespace}}}:*"
    # A user that may touch this namespace's keys and channel only.
    raw.acl_setuser(
        user,
        enabled=True,
        reset_channels=True,
        passwords=[f"+{password}"],
        keys=[prefix],
        channels=[prefix],
        commands=["+@all"],
    )
    try:
        url = f"redis://{quote(user)}:{quote(password, safe='')}@127.0.0.1:{redis_server.port}/0"
        store = open_store(url, bootstrap=DOC_A)
        assert store.health().source == "redis"
        store.save(DOC_B)
        assert json.loads(raw.hget(keys(namespace)[0], "doc")) == canonical(DOC_B)
        follower = open_store(url)
        store.set_flag("x", {})
        assert wait_until(lambda: "x" in follower.ruleset().flags)
        assert [c.version for c in follower.history()] == [3, 2, 1]
        wrong = f"redis://{quote(user)}:wrong@127.0.0.1:{redis_server.port}/0"
        denied = open_store(wrong, bootstrap=DOC_A)
        assert denied.health().source == "bootstrap"
        assert denied.health().connected is False
        assert "auth" in (denied.health().last_error or "").lower()
        with pytest.raises(StoreError):
            denied.save(DOC_B)
    finally:
        raw.acl_deluser(user)


def test_from_url_selects_the_database(
    open_store: OpenStore, redis_server: RedisServer, namespace: str
) -> None:
    store = open_store(f"redis://127.0.0.1:{redis_server.port}/3", bootstrap=DOC_A)
    assert "/3" in store.describe()
    db0 = redis.Redis(port=redis_server.port, db=0)
    db3 = redis.Redis(port=redis_server.port, db=3)
    try:
        assert not db0.exists(keys(namespace)[0])
        assert json.loads(db3.hget(keys(namespace)[0], "doc")) == canonical(DOC_A)
    finally:
        db3.delete(*keys(namespace)[:2])
        db0.close()
        db3.close()


@pytest.fixture
def unix_socket() -> Iterator[str]:
    """A private redis-server listening on a unix socket only."""
    directory = tempfile.mkdtemp(prefix="fw-")  # short: socket paths are limited to ~100 bytes
    socket_path = os.path.join(directory, "redis.sock")
    command = [
        redis_binary(),
        "--port", "0",
        "--unixsocket", socket_path,
        "--unixsocketperm", "700",
        "--save", "",
        "--appendonly", "no",
        "--dir", directory,
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = redis.Redis(unix_socket_path=socket_path)
        try:

            def ready() -> bool:
                try:
                    return bool(client.ping())
                except redis.RedisError:
                    return False

            assert wait_until(ready), "redis-server did not start on a unix socket"
        finally:
            client.close()
        yield socket_path
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


def test_from_url_unix_socket(open_store: OpenStore, unix_socket: str, namespace: str) -> None:
    url = f"unix://{unix_socket}?db=0"
    store = open_store(url, bootstrap=DOC_A)
    assert unix_socket in store.describe()
    assert store.health().source == "redis"
    follower = open_store(url)
    store.save(DOC_B)
    assert wait_until(lambda: follower.ruleset() == Ruleset.from_dict(DOC_B))
    client = redis.Redis(unix_socket_path=unix_socket)
    try:
        assert json.loads(client.hget(keys(namespace)[0], "doc")) == canonical(DOC_B)
    finally:
        client.close()


@pytest.mark.parametrize("decode_responses", [False, True])
def test_a_client_can_be_passed_directly(
    open_store: OpenStore,
    redis_server: RedisServer,
    namespace: str,
    tmp_path: Path,
    raw: redis.Redis,
    decode_responses: bool,
) -> None:
    client = redis.Redis(
        host="127.0.0.1",
        port=redis_server.port,
        decode_responses=decode_responses,
        socket_timeout=5,
        socket_connect_timeout=5,
    )
    try:
        store = RedisStore(
            client,
            namespace=namespace,
            poll_interval=POLL,
            snapshot_path=tmp_path / "own.json",
            bootstrap=DOC_A,
        )
        try:
            assert store.ruleset() == Ruleset.from_dict(DOC_A)
            assert store.health().source == "redis"
            other = open_store()
            store.save(DOC_B, actor="alice")
            assert wait_until(lambda: other.ruleset() == Ruleset.from_dict(DOC_B))
            other.set_flag("x", {"strategies": [{"type": "everyone"}]}, actor="bob")
            assert wait_until(lambda: "x" in store.ruleset().flags)  # followed by pub/sub
            assert store.version == 3
            history = store.history()
            assert [(c.version, c.actor) for c in history[:2]] == [(3, "bob"), (2, "alice")]
            assert history[0].summary == {"flags_added": ["x"]}
            assert store.restore(2).version == 4
            assert store.ruleset() == Ruleset.from_dict(DOC_B)
            with pytest.raises(VersionConflict):
                store.save(DOC_A, expected_version=3)
            write_directly(raw, namespace, json.dumps(INVALID), 5)
            assert store.save(DOC_A).version == 6
            assert store.ruleset() == Ruleset.from_dict(DOC_A)
        finally:
            store.close()
        assert client.ping()  # the store did not own, so did not close, the client
    finally:
        client.close()


# --- Redis down ------------------------------------------------------------------------------


def _every_write(store: RedisStore) -> dict[str, Callable[[], object]]:
    return {
        "save": lambda: store.save(DOC_B).version,
        "save-expected": lambda: store.save(DOC_B, expected_version=store.version).version,
        "update": lambda: store.update(lambda doc: None).version,
        "set_flag": lambda: store.set_flag("x", {}).version,
        "delete_flag": lambda: store.delete_flag("beta").version,
        "set_enabled": lambda: store.set_enabled("beta", False).version,
        "add_test_user": lambda: store.add_test_user("qa").version,
        "remove_test_user": lambda: store.remove_test_user("tester").version,
        "restore": lambda: store.restore(1).version,
        "history": store.history,
    }


def test_writes_while_redis_is_down_raise_store_error(
    own_redis: Callable[[], RedisServer], open_store: OpenStore
) -> None:
    server = own_redis()
    store = open_store(server.url, bootstrap=DOC_A)
    received: list[Ruleset] = []
    store.subscribe(received.append)
    server.kill()
    started = time.monotonic()
    failed = []
    for name, write in _every_write(store).items():
        with pytest.raises(StoreError) as caught:
            write()
        assert not isinstance(caught.value, VersionConflict), name
        failed.append(name)
    assert time.monotonic() - started < 60  # failed, rather than hung
    assert len(failed) == 10
    assert store.ruleset() == Ruleset.from_dict(DOC_A)
    assert received == []


def test_writes_to_a_hung_redis_raise_store_error(
    own_redis: Callable[[], RedisServer], open_store: OpenStore
) -> None:
    server = own_redis()
    store = open_store(server.url, bootstrap=DOC_A, socket_timeout=0.5, socket_connect_timeout=0.5)
    server.pause()  # the socket stays open, nothing answers
    try:
        started = time.monotonic()
        with pytest.raises(StoreError):
            store.set_flag("x", {})
        with pytest.raises(StoreError):
            store.save(DOC_B, expected_version=store.version)
        assert time.monotonic() - started < 60  # bounded by the socket timeouts
        assert store.ruleset() == Ruleset.from_dict(DOC_A)
    finally:
        server.resume()


# --- closing ---------------------------------------------------------------------------------


def test_close_stops_the_follower_thread(open_store: OpenStore, namespace: str) -> None:
    store = open_store(bootstrap=DOC_A)
    cold = open_store(unreachable_url(), namespace=f"{namespace}c", bootstrap=DOC_A)
    assert [t.is_alive() for t in follower_threads(namespace)] == [True]
    assert [t.is_alive() for t in follower_threads(f"{namespace}c")] == [True]
    store.close()
    cold.close()
    assert follower_threads(namespace) == []
    assert follower_threads(f"{namespace}c") == []
    # A closed store no longer follows Redis, and keeps serving its last ruleset.
    open_store().save(DOC_B)
    time.sleep(5 * POLL)
    assert store.ruleset() == Ruleset.from_dict(DOC_A)


def test_no_follower_thread_outlives_its_store(
    redis_server: RedisServer, namespace: str, tmp_path: Path
) -> None:
    for i in range(5):
        with RedisStore.from_url(
            redis_server.url,
            namespace=namespace,
            snapshot_path=tmp_path / f"s{i}.json",
            poll_interval=POLL,
            bootstrap=DOC_A,
        ) as store:
            store.set_flag(f"f{i}", {})
            assert len(follower_threads(namespace)) == 1
        assert follower_threads(namespace) == []


def test_close_releases_the_connections_of_its_own_client(
    own_redis: Callable[[], RedisServer], open_store: OpenStore
) -> None:
    server = own_redis()
    client = redis.Redis.from_url(server.url)
    try:
        store = open_store(server.url, bootstrap=DOC_A)
        store.set_flag("x", {})
        assert wait_until(lambda: len(client.client_list()) >= 3)  # commands, pub/sub, us
        store.close()
        assert wait_until(lambda: len(client.client_list()) == 1)  # only this client is left
    finally:
        client.close()


def test_a_snapshot_others_could_have_written_is_not_trusted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    snapshot = tmp_path / "planted.json"
    planted = {"flagware_snapshot": 1, "version": 99, "document": {"test_users": ["me"]}}
    snapshot.write_text(json.dumps(planted))
    snapshot.chmod(0o666)
    with (
        caplog.at_level(logging.ERROR, logger="flagware"),
        RedisStore.from_url(unreachable_url(), snapshot_path=snapshot) as store,
    ):
        assert store.health().source == "fail-closed"
        assert store.ruleset().test_users == frozenset()
    assert "not be writable by others" in caplog.text
