"""Fixtures of the RedisStore tests: a plain client to look at (and tamper with) what is
stored, and a factory of stores on the session's redis-server, closed after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from flagware.stores.redis import RedisStore
from tests.redis_server import RedisServer

POLL = 0.2  # the poll interval of the stores open_store makes, unless told otherwise


@pytest.fixture
def raw(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A plain client on the session server, to look at (and tamper with) what is stored."""
    client = redis.Redis.from_url(redis_server.url)
    yield client
    client.close()


@pytest.fixture
def open_store(
    redis_server: RedisServer, namespace: str, tmp_path: Path
) -> Iterator[Callable[..., RedisStore]]:
    """Open RedisStores (on the session server and this test's namespace by default, each
    with a snapshot file of its own)."""
    made: list[RedisStore] = []

    def open_(url: str | None = None, **kwargs: Any) -> RedisStore:
        kwargs.setdefault("namespace", namespace)
        kwargs.setdefault("snapshot_path", tmp_path / f"snapshot-{len(made)}.json")
        kwargs.setdefault("poll_interval", POLL)
        store = RedisStore.from_url(url or redis_server.url, **kwargs)
        made.append(store)
        return store

    yield open_
    for store in made:
        store.close()
