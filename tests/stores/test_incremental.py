"""Stores apply a change at the cost of the flags it touches, and end up exactly where a
cold start would: the writer keeps the flags an edit left alone, a follower reads a new
version against the one it serves, and neither may drift from what is stored."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis

from flagware import Account, Engine, MemoryStore, Ruleset, RulesetError
from flagware.ruleset import canonical_json, parse_text
from flagware.stores.redis import RedisStore

DOC: dict[str, Any] = {
    "test_users": ["tester"],
    "flags": {
        **{
            f"pct_{i}": {"strategies": [{"type": "percentage", "percent": 7 * i}]}
            for i in range(12)
        },
        "list": {"strategies": [{"type": "accounts", "ids": ["acct-1", "acct-2"]}]},
        "digits": {"strategies": [{"type": "last_digit", "digits": [3]}]},
        "ab": {"strategies": [{"type": "everyone"}], "variants": {"green": 50, "control": 50}},
        "nl_pro": {
            "strategies": [
                {
                    "type": "attribute",
                    "attribute": "country",
                    "op": "in",
                    "values": ["NL"],
                    "when": [{"attribute": "plan", "op": "eq", "values": ["pro"]}],
                }
            ]
        },
    },
}
PEOPLE = [
    Account(f"acct-{i}", number=i, attributes={"country": ["NL", "DE"][i % 2], "plan": "pro"})
    for i in range(60)
]


def values(engine: Engine) -> list[tuple[dict[str, bool], dict[str, str]]]:
    return [(fs.as_dict(), fs.variants()) for fs in map(engine.evaluate_all, PEOPLE)]


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def test_a_one_flag_edit_keeps_every_other_flag_and_compiles_like_a_cold_start() -> None:
    store = MemoryStore(DOC)
    before = store.ruleset()
    store.set_flag("list", {"strategies": [{"type": "accounts", "ids": ["acct-3"]}]})
    after = store.ruleset()
    kept = [name for name in before.flags if after.flags[name] is before.flags[name]]
    assert sorted(kept) == sorted(set(DOC["flags"]) - {"list"})
    assert after == Ruleset.from_dict(after.to_dict())
    assert values(store.engine()) == values(Engine(Ruleset.from_dict(after.to_dict())))


def test_an_edit_touching_one_flag_cannot_write_into_another() -> None:
    store = MemoryStore(DOC)

    def sneaky(doc: dict[str, Any]) -> None:
        doc["flags"]["list"]["enabled"] = False  # "list" was not declared

    with pytest.raises(TypeError):
        store.update(sneaky, touching=["digits"])
    assert store.version == 1
    assert store.ruleset().flags["list"].enabled


def test_an_edit_touching_one_flag_cannot_write_deep_into_another() -> None:
    store = MemoryStore(DOC)
    served = store.ruleset()

    def sneaky(doc: dict[str, Any]) -> None:
        doc["flags"]["list"]["strategies"][0]["ids"].append("acct-9")  # nested, undeclared

    with pytest.raises(AttributeError):  # lists read as tuples there
        store.update(sneaky, touching=["digits"])

    def deeper(doc: dict[str, Any]) -> None:
        doc["flags"]["nl_pro"]["strategies"][0]["when"][0]["op"] = "ne"

    with pytest.raises(TypeError):  # mappings are read-only views there
        store.update(deeper, touching=["digits"])
    assert store.version == 1
    assert store.ruleset() is served
    assert served.to_dict() == Ruleset.from_dict(DOC).to_dict()  # its document is untouched
    assert store.update(lambda doc: None, touching=["list"]).changed is False


def test_a_draft_reads_back_as_the_ruleset_it_came_from() -> None:
    ruleset = Ruleset.from_dict(DOC)
    draft, _ = ruleset._draft(frozenset())  # every flag a read-only view, lists as tuples
    again = Ruleset.from_dict(draft)
    assert again == ruleset
    assert list(again.flags) == list(ruleset.flags)


def test_an_edit_that_replaces_an_undeclared_flag_is_still_validated() -> None:
    store = MemoryStore(DOC)

    def replace(doc: dict[str, Any]) -> None:
        doc["flags"]["list"] = {"strategies": [{"type": "percentage", "percent": 101}]}

    with pytest.raises(RulesetError, match=r"flags\.list\.strategies\[0\]\.percent"):
        store.update(replace, touching=["digits"])

    def replace_validly(doc: dict[str, Any]) -> None:
        doc["flags"]["list"] = {"strategies": [{"type": "everyone"}]}
        del doc["flags"]["digits"]

    commit = store.update(replace_validly, touching=())
    assert commit.changed
    assert "digits" not in store.ruleset().flags
    assert store.engine().evaluate_all(Account("anyone")).is_enabled("list")
    assert commit.before == Ruleset.from_dict(DOC).to_dict()


def test_variants_are_the_same_for_the_writer_and_for_what_it_stored() -> None:
    store = MemoryStore(DOC)
    stored = canonical_json(store.ruleset().to_dict()).encode()  # what a store writes
    reread = Engine(parse_text(stored))
    assert [fs.variant("ab") for fs in map(store.engine().evaluate_all, PEOPLE)] == [
        fs.variant("ab") for fs in map(reread.evaluate_all, PEOPLE)
    ]
    assert [name for name, _ in store.ruleset().flags["ab"].variants] == ["control", "green"]


def test_a_follower_reads_each_version_against_the_one_it_serves(
    open_store: Callable[..., RedisStore], raw: redis.Redis, namespace: str
) -> None:
    writer = open_store()
    writer.save(DOC)
    follower = open_store()
    wait_for(lambda: follower.version == writer.version)
    served = follower.ruleset()
    writer.set_flag("pct_3", {"strategies": [{"type": "percentage", "percent": 55}]})
    wait_for(lambda: follower.version == writer.version)
    now = follower.ruleset()
    assert now == writer.ruleset()
    assert [n for n in served.flags if now.flags[n] is not served.flags[n]] == ["pct_3"]
    cold = open_store(poll_interval=None)
    assert cold.ruleset() == now
    assert values(follower.engine()) == values(cold.engine())


def test_a_follower_that_missed_versions_converges_to_what_is_stored(
    open_store: Callable[..., RedisStore],
) -> None:
    writer = open_store()
    writer.save(DOC)
    follower = open_store(poll_interval=None)  # reads only when told to
    follower.refresh()
    served = follower.ruleset()
    writer.set_flag("pct_1", {"strategies": [{"type": "percentage", "percent": 90}]})
    writer.delete_flag("digits")
    writer.set_flag("zz_new", {"strategies": [{"type": "accounts", "ids": ["acct-9"]}]})
    writer.add_test_user("another-tester")
    follower.refresh()
    now = follower.ruleset()
    assert follower.version == writer.version
    assert now == writer.ruleset()
    assert list(now.flags) == list(Ruleset.from_dict(now.to_dict()).flags)
    assert now.flags["list"] is served.flags["list"]
    assert values(follower.engine()) == values(Engine(Ruleset.from_dict(now.to_dict())))


def test_a_stored_text_that_is_not_canonical_is_read_whole(
    open_store: Callable[..., RedisStore], raw: redis.Redis
) -> None:
    writer = open_store()
    writer.save(DOC)
    follower = open_store(poll_interval=None)
    follower.refresh()
    key = writer._backend.keys.ruleset  # type: ignore[attr-defined]
    doc = Ruleset.from_dict(DOC).to_dict()
    doc["flags"]["list"]["strategies"][0]["ids"] = ["acct-7"]
    # An outside writer: pretty JSON (not what flagware writes), digest and version right.
    text = json.dumps(doc, indent=1).encode()
    raw.hset(key, mapping={"doc": text, "digest": hashlib.sha256(text).hexdigest(), "version": 50})
    follower.refresh()
    assert follower.version == 50
    assert follower.ruleset() == Ruleset.from_dict(doc)
    assert follower.engine().evaluate_all(Account("acct-7")).is_enabled("list")


def test_a_follower_applies_a_segment_change_to_every_flag_using_it(
    open_store: Callable[..., RedisStore],
) -> None:
    doc = {
        **DOC,
        "segments": {
            "nl": {
                "strategies": [
                    {"type": "attribute", "attribute": "country", "op": "eq", "values": ["NL"]}
                ]
            }
        },
    }
    doc["flags"] = {
        **DOC["flags"],
        "seg_a": {"strategies": [{"type": "segment", "name": "nl"}]},
        "seg_b": {
            "strategies": [{"type": "segment", "name": "nl"}],
            "prerequisites": [{"flag": "seg_a"}],
        },
    }
    writer = open_store()
    writer.save(doc)
    follower = open_store()
    wait_for(lambda: follower.version == writer.version)
    engine = follower.engine()
    de = next(a for a in PEOPLE if a.attributes["country"] == "DE")
    assert not engine.is_released_to("seg_b", de)  # compiled checkers, which must not outlive it
    writer.set_segment(
        "nl",
        {
            "strategies": [
                {"type": "attribute", "attribute": "country", "op": "eq", "values": ["DE"]}
            ]
        },
    )
    wait_for(lambda: follower.version == writer.version)
    after = follower.engine()
    assert after.ruleset == writer.ruleset()
    assert after.is_released_to("seg_a", de)
    assert after.is_released_to("seg_b", de)
    assert values(after) == values(Engine(Ruleset.from_dict(after.ruleset.to_dict())))
    writer.set_flag("list", {"strategies": [{"type": "accounts", "ids": ["acct-4"]}]})
    wait_for(lambda: follower.version == writer.version)
    assert follower.ruleset().flags["seg_b"] is after.ruleset.flags["seg_b"]  # kept: same segments
    assert values(follower.engine()) == values(
        Engine(Ruleset.from_dict(follower.ruleset().to_dict()))
    )
