"""What RedisStore reads from Redis, fuzzed: the ruleset hash's fields, the key's type,
the audit stream's entries and the change channel's messages, on a real redis-server.

Whatever is stored, a store never raises, never stops following Redis, serves either its
last good ruleset or exactly what a valid stored version says, starts on it, reads its
history, and lets a save replace it.
"""

from __future__ import annotations

import json
from typing import Any

import redis
from hypothesis import event, given, settings
from hypothesis import strategies as st

from flagware import Ruleset
from flagware.stores.redis import RedisStore
from flagware.stores.redis._layout import MAX_VERSION
from tests.redis_server import RedisServer
from tests.stored import digest, keys

DOCS = [
    {"flags": {"beta": {"strategies": [{"type": "everyone"}]}}},
    {"unknown": "hidden", "flags": {"beta": {"strategies": [{"type": "accounts", "ids": ["a"]}]}}},
    {"flags": {"beta": {"strategies": [{"type": "percentage", "percent": 500}]}}},  # invalid
    [1, 2, 3],
]
REPAIR = {"flags": {"repaired": {"strategies": [{"type": "everyone"}]}}}
CHEAP = max(50, settings.default.max_examples // 20)  # properties that start a store each


def encoded_docs() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.sampled_from([json.dumps(d, separators=(",", ":")).encode() for d in DOCS]),
        st.binary(max_size=64),
        st.text(max_size=64).map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=8),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(st.text(max_size=8), inner, max_size=4)
            ),
            max_leaves=12,
        ).map(lambda v: json.dumps({"flags": v}).encode()),
    )


def versions() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.integers(min_value=-3, max_value=30).map(lambda n: str(n).encode()),
        st.sampled_from(
            [
                b"",
                b"1.5",
                b"07",
                b" 3",
                b"9" * 16,
                b"9" * 15,
                b"1000000000001",
                b"\xff\xfe",
                b"3\x00",
                b"1e3",
            ]
        ),
        st.binary(max_size=12),
    )


@st.composite
def stored_fields(draw: st.DrawFn) -> dict[str, Any]:
    """A ruleset hash as anything might leave it (or a key of another type)."""
    kind = draw(st.sampled_from(["hash"] * 8 + ["string", "list", "none"]))
    fields: dict[str, bytes] = {}
    if kind == "hash":
        doc = draw(st.none() | encoded_docs())
        if doc is not None:
            fields["doc"] = doc
        version = draw(st.none() | versions())
        if version is not None:
            fields["version"] = version
        how = draw(st.sampled_from(["right", "wrong", "junk", "absent"]))
        if how == "right" and doc is not None:
            fields["digest"] = digest(doc).encode()
        elif how == "wrong":
            fields["digest"] = digest(b"something else").encode()
        elif how == "junk":
            fields["digest"] = draw(st.binary(max_size=70))
        if not fields:
            fields["junk"] = b"x"
    return {"kind": kind, "fields": fields, "message": draw(st.none() | st.binary(max_size=20))}


def audit_entries() -> st.SearchStrategy[list[dict[bytes, bytes]]]:
    names = st.sampled_from(
        [b"version", b"previous", b"actor", b"at", b"action", b"summary", b"doc", b"digest"]
    )
    values = st.one_of(
        st.binary(max_size=24),
        st.sampled_from([b"1", b"2", b"nan", b"1e20", b"-1", b"{}", b"[]", b'{"flags_added": 5}']),
        encoded_docs(),
    )
    return st.lists(st.dictionaries(names, values, min_size=1, max_size=8), max_size=4)


def store_it(client: Any, namespace: str, stored: dict[str, Any]) -> None:
    key, _, channel = keys(namespace)
    client.delete(key)
    if stored["kind"] == "hash":
        client.hset(key, mapping=stored["fields"])
    elif stored["kind"] == "string":
        client.set(key, b"not a hash")
    elif stored["kind"] == "list":
        client.rpush(key, b"a", b"b")
    if stored["message"] is not None:
        client.publish(channel, stored["message"])


def servable(stored: dict[str, Any]) -> Ruleset | None:
    """The ruleset a store may serve from these fields, if any (a valid, intact version)."""
    fields = stored["fields"]
    if stored["kind"] != "hash" or "doc" not in fields or "version" not in fields:
        return None
    version = fields["version"]
    if not (version.isdigit() and not version.startswith(b"0") and int(version) <= MAX_VERSION):
        return None
    if "digest" in fields and fields["digest"] != digest(fields["doc"]).encode():
        return None
    try:
        return Ruleset.from_dict(json.loads(fields["doc"]))
    except ValueError:
        return None


def test_a_following_store_survives_whatever_is_stored(
    redis_server: RedisServer, namespace: str
) -> None:
    store = RedisStore.from_url(
        redis_server.url,
        namespace=namespace,
        snapshot_path=False,
        poll_interval=0.05,
        bootstrap=DOCS[0],
    )
    client = redis.Redis.from_url(redis_server.url)
    # The test plays the follower itself (store.refresh(), as a message or a poll would make
    # it): with the follower thread running too, which of the two saw what is a race.
    assert store._follower is not None
    store._follower.stop()

    @given(stored=stored_fields(), entries=audit_entries())
    def check(stored: dict[str, Any], entries: list[dict[bytes, bytes]]) -> None:
        before = store.ruleset()
        for entry in entries:
            client.xadd(keys(namespace)[1], entry)
        store_it(client, namespace, stored)
        store.refresh()  # what the follower does on a message or a poll, here and now
        health = store.health()
        assert health.connected, health
        allowed = servable(stored)
        served = store.ruleset()
        event("served the stored version" if served is not before else "kept the last good")
        assert served is before or (allowed is not None and served == allowed)
        store.history(limit=10)  # damaged entries are read, never raised
        version = store.save(REPAIR).version
        assert version > 0
        assert store.ruleset() == Ruleset.from_dict(REPAIR)
        assert store.health().problem is None

    try:
        check()
    finally:
        store.close()
        client.close()


def test_a_store_starts_on_whatever_is_stored(redis_server: RedisServer, namespace: str) -> None:
    with redis.Redis.from_url(redis_server.url) as client:

        @settings(max_examples=CHEAP)
        @given(stored=stored_fields())
        def check(stored: dict[str, Any]) -> None:
            store_it(client, namespace, stored)
            with RedisStore.from_url(
                redis_server.url, namespace=namespace, snapshot_path=False, poll_interval=0.02
            ) as store:
                health = store.health()
                assert health.connected, health
                allowed = servable(stored)
                if health.source == "redis":
                    assert allowed is not None
                    assert store.ruleset() == allowed
                else:
                    assert health.source == "fail-closed"
                    assert not store.engine().evaluate_all(None).enabled_flags()
                store.save(REPAIR)

        check()
