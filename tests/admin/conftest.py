"""Fixtures of the admin panel tests: real stores, and a logged-in panel on ``store``."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from flagware import MemoryStore, Store
from flagware.stores.redis import RedisStore
from tests.admin.support import DOC, Panel

StoreFactory = Callable[..., Store]


@pytest.fixture
def make_store(request: pytest.FixtureRequest) -> Iterator[StoreFactory]:
    """Build a store of a kind ("memory" or "redis") holding a document; closed at teardown."""
    made: list[Store] = []

    def make(kind: str = "memory", doc: dict[str, Any] | None = None) -> Store:
        doc = copy.deepcopy(DOC if doc is None else doc)
        store: Store
        if kind == "memory":
            store = MemoryStore(doc)
        else:
            server = request.getfixturevalue("redis_server")
            namespace = request.getfixturevalue("namespace")
            store = RedisStore.from_url(
                server.url,
                namespace=namespace,
                snapshot_path=False,
                bootstrap=doc,
                poll_interval=0.1,  # closes in 0.1 s instead of 0.5 s
            )
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture
def store(request: pytest.FixtureRequest, make_store: StoreFactory) -> Store:
    return make_store(getattr(request, "param", "memory"))


@pytest.fixture
def panel(store: Store) -> Panel:
    return Panel.logged_in(store)
