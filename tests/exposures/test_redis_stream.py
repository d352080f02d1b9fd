"""RedisStreamHook against a real redis-server: the stream, MAXLEN trimming, last-seen."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

import flagware.exposures as fx
from flagware import Account, RedisStore
from flagware.exposures import Exposure
from flagware.exposures.redis_stream import RedisStreamHook, stream_fields
from flagware.stores.redis._layout import exposures_key, last_seen_key
from tests.redis_server import RedisServer

RULES = {"flags": {"beta": {"strategies": [{"type": "everyone"}]}, "dark": {"strategies": []}}}


@pytest.fixture
def raw(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url)
    yield client
    client.close()


def exposure(flag: str, at: float, account: str = "acct-1") -> Exposure:
    return Exposure(flag, True, None, "r", account, 3, at)


def test_keys_share_the_namespace_hash_tag() -> None:
    assert exposures_key("shop") == "{flagware:shop}:exposures"
    assert last_seen_key("shop") == "{flagware:shop}:exposures:last-seen"


def test_a_store_hook_writes_the_stream_and_last_seen(
    redis_server: RedisServer, raw: redis.Redis, namespace: str
) -> None:
    store = RedisStore.from_url(
        redis_server.url, namespace=namespace, poll_interval=None, snapshot_path=False
    )
    try:
        store.save(RULES)
        fx.add_hook(RedisStreamHook.for_store(store))
        flags = fx.record_exposures(store.engine().evaluate_all(Account("acct-1")), store)
        assert flags["beta"] is True
        assert flags["dark"] is False
        assert flags["beta"] is True
        fx.flush()
    finally:
        store.close()
    entries = raw.xrange(exposures_key(namespace))
    fields = [{k.decode(): v.decode() for k, v in entry.items()} for _, entry in entries]
    assert [(f["flag"], f["value"], f["account_id"], f["ruleset_version"]) for f in fields] == [
        ("beta", "true", "acct-1", "1"),
        ("dark", "false", "acct-1", "1"),
    ]
    assert fields[1]["reason"] == "no strategies: test users only"
    last_seen = raw.hgetall(last_seen_key(namespace))
    assert set(last_seen) == {b"beta", b"dark"}
    assert int(last_seen[b"beta"]) == int(float(fields[0]["at"]))


def test_the_stream_stays_bounded(raw: redis.Redis, namespace: str) -> None:
    hook = RedisStreamHook(raw, namespace=namespace, maxlen=100)
    for batch in range(10):
        for i in range(200):
            hook.after_evaluation(exposure(f"f{i % 7}", 1_700_000_000.5 + batch * 1000 + i))
        hook.flush()
    length = raw.xlen(exposures_key(namespace))
    # MAXLEN ~ trims whole radix-tree nodes (100 entries by default): about 100, never 2,000.
    assert 100 <= length < 400
    newest = raw.xrevrange(exposures_key(namespace), count=1)[0][1]
    assert newest[b"at"] == b"1700009199.5"


def test_last_seen_keeps_the_latest_second_per_flag(raw: redis.Redis, namespace: str) -> None:
    hook = RedisStreamHook(raw, namespace=namespace)
    hook.after_evaluation(exposure("a", 1_700_000_010.9))
    hook.after_evaluation(exposure("a", 1_700_000_005.0))
    hook.after_evaluation(exposure("b", 1_700_000_001.5))
    hook.flush()
    assert raw.hgetall(last_seen_key(namespace)) == {b"a": b"1700000010", b"b": b"1700000001"}
    hook.after_evaluation(exposure("a", 1_700_000_020.0))
    hook.flush()
    assert raw.hget(last_seen_key(namespace), "a") == b"1700000020"


def test_without_last_seen_only_the_stream(raw: redis.Redis, namespace: str) -> None:
    hook = RedisStreamHook(raw, namespace=namespace, last_seen=False)
    hook.after_evaluation(exposure("a", 1.0))
    hook.flush()
    hook.flush()  # nothing pending: no write
    assert raw.xlen(exposures_key(namespace)) == 1
    assert not raw.exists(last_seen_key(namespace))


def test_stream_fields_are_text() -> None:
    assert stream_fields(Exposure("f", False, None, "why", None, None, 2.5)) == {
        "flag": "f",
        "value": "false",
        "variant": "",
        "reason": "why",
        "account_id": "",
        "ruleset_version": "",
        "at": "2.5",
    }
    with pytest.raises(ValueError, match="maxlen"):
        RedisStreamHook(None, maxlen=0)
