"""stale_flags against a real RedisStore: its audit history and its last-seen hash."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
import redis

from flagware import RedisStore
from flagware.exposures import Exposure
from flagware.exposures.redis_stream import RedisStreamHook, read_last_seen
from flagware.lifecycle import FlagFilter, stale_flags
from flagware.ruleset import Ruleset
from tests.redis_server import RedisServer

HALF = [{"type": "percentage", "percent": 50}]
EVERYONE = [{"type": "everyone"}]
DAY = 86_400
V1: dict[str, Any] = {
    "flags": {
        "old_on": {"strategies": EVERYONE},
        "old_full_percent": {"strategies": [{"type": "percentage", "percent": 100}]},
        "killed": {"enabled": False, "strategies": HALF},
        "zero": {"strategies": [{"type": "percentage", "percent": 0}]},
        "rolling": {"strategies": HALF},
        "expired": {"strategies": HALF, "created": "2025-06-01", "expires": "2026-01-01"},
        "never_read": {"strategies": HALF, "created": "2025-01-01", "owner": "team-a"},
        "switch": {"strategies": EVERYONE, "permanent": True, "created": "2025-01-01"},
        "recent_on": {"strategies": HALF},
        "guarded": {
            "strategies": [
                {**EVERYONE[0], "when": [{"attribute": "a", "op": "eq", "values": ["x"]}]}
            ]
        },
        "experiment": {"strategies": EVERYONE, "variants": {"a": 50, "b": 50}},
    }
}


@pytest.fixture
def store(redis_server: RedisServer, namespace: str) -> Iterator[RedisStore]:
    with RedisStore.from_url(
        redis_server.url, namespace=namespace, poll_interval=None, snapshot_path=False
    ) as opened:
        yield opened


def _seed(store: RedisStore) -> float:
    """Two versions a second apart; returns a clock whose cutoff falls between them."""
    store.save(V1, actor="seed")
    time.sleep(1.1)
    v2 = copy.deepcopy(V1)
    v2["flags"]["recent_on"]["strategies"] = EVERYONE
    v2["flags"]["old_on"]["description"] = "still on for everyone"
    store.save(v2, actor="seed")
    newest = store.history(limit=1)[0].at
    return newest + 30 * DAY - 0.5


def _reasons(found: list[Any]) -> set[tuple[str, str]]:
    return {(s.name, s.reason) for s in found}


def test_history_and_expiry_find_the_stale_flags(store: RedisStore) -> None:
    now = _seed(store)
    found = stale_flags(store, days=30, now=now)
    assert _reasons(found) == {
        ("old_on", "fully_on"),
        ("old_full_percent", "fully_on"),
        ("killed", "fully_off"),
        ("zero", "fully_off"),
        ("expired", "expired"),
    }
    on = next(s for s in found if s.name == "old_on")
    assert on.since == store.history(limit=2)[1].at  # since v1: the v2 edit kept it on
    assert "on for everyone for 30 days" in on.detail


def test_nothing_is_stale_before_the_days_have_passed(store: RedisStore) -> None:
    now = _seed(store)
    assert _reasons(stale_flags(store, days=31, now=now)) == {("expired", "expired")}


def test_a_flag_that_changed_state_counts_from_the_change(store: RedisStore) -> None:
    now = _seed(store)
    later = stale_flags(store, days=30, now=datetime.fromtimestamp(now + 1, timezone.utc))
    assert ("recent_on", "fully_on") in _reasons(later)


def test_exposures_find_unread_flags(
    store: RedisStore, redis_server: RedisServer, namespace: str
) -> None:
    now = _seed(store)
    assert read_last_seen(store) == {}
    client = redis.Redis.from_url(redis_server.url)
    hook = RedisStreamHook(client, namespace=namespace)
    for flag, at in [("rolling", now - 31 * DAY), ("expired", now - DAY), ("recent_on", now)]:
        hook.after_evaluation(Exposure(flag, True, None, "r", "acct-1", 1, at))
    hook.flush()
    client.close()
    assert read_last_seen(store)["rolling"] == int(now - 31 * DAY)
    found = stale_flags(store, days=30, now=now)
    unused = {s.name for s in found if s.reason == "unused"}
    # never_read has no exposure and was created long ago; the others have none and no
    # `created`, so how long they went unread is not known; switch is permanent.
    assert unused == {"rolling", "never_read"}
    assert next(s for s in found if s.name == "never_read").owner == "team-a"


def test_given_last_seen_replaces_the_store_s(store: RedisStore) -> None:
    now = _seed(store)
    found = stale_flags(store, days=30, now=now, last_seen={"recent_on": now - 40 * DAY})
    assert {s.name for s in found if s.reason == "unused"} == {"recent_on", "never_read", "expired"}


def test_a_required_flag_is_not_unused_and_a_gated_one_not_fully_on(store: RedisStore) -> None:
    doc = copy.deepcopy(V1)
    doc["flags"]["gate"] = {"strategies": HALF, "created": "2025-01-01"}
    doc["flags"]["old_on"]["prerequisites"] = [{"flag": "gate"}]
    store.save(doc, actor="seed")
    now = store.history(limit=1)[0].at + 40 * DAY
    found = _reasons(stale_flags(store, days=30, now=now, last_seen={"rolling": now}))
    assert ("never_read", "unused") in found
    assert ("gate", "unused") not in found  # old_on requires it
    assert ("old_on", "fully_on") not in found  # on only where gate is
    assert ("old_full_percent", "fully_on") in found


def test_negative_days_are_refused(store: RedisStore) -> None:
    store.save(V1)
    with pytest.raises(ValueError, match="negative"):
        stale_flags(store, days=-1)


def test_the_filter_matches_name_tags_owner_and_expiry() -> None:
    flags = Ruleset.from_dict(
        {
            "flags": {
                "checkout_v2": {"tags": ["payments", "q3"], "owner": "Team-Pay"},
                "search_box": {"tags": ["ui"], "expires": "2026-01-01", "created": "2025-01-01"},
                "dark_mode": {"owner": "ui-team"},
            }
        }
    ).flags.values()
    today = datetime(2026, 6, 1, tzinfo=timezone.utc).date()

    def names(**criteria: Any) -> set[str]:
        keep = FlagFilter(today=today, **criteria)
        return {f.name for f in flags if keep(f)}

    assert names(search="CHECK") == {"checkout_v2"}
    assert names(search="ui") == set()
    assert names(search="ui", match_metadata=True) == {"search_box", "dark_mode"}
    assert names(tags=("payments", "q3")) == {"checkout_v2"}
    assert names(tags=("payments", "ui")) == set()
    assert names(owner="team-pay") == {"checkout_v2"}
    assert names(expired=True) == {"search_box"}
    assert names() == {"checkout_v2", "search_box", "dark_mode"}
