"""Fixtures shared across the suite: a real Redis server, started by the tests; and the
hypothesis profiles (``HYPOTHESIS_PROFILE=nightly pytest tests/properties`` runs the
property tests at 10,000 examples each)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, settings

from tests.redis_server import RedisServer

# Loaded here, before any test module is imported, so every @given the suite has (the
# ones without max_examples of their own) runs with it. "fast": local runs and every CI
# run. "nightly": the long fuzzing run, with a bounded time budget in CI.
settings.register_profile(
    "fast",
    max_examples=150,
    deadline=None,  # a shared 2-core machine makes timings meaningless
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile(
    "nightly",
    max_examples=10_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or "fast")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One redis-server for the session; tests isolate themselves with a namespace."""
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def own_redis() -> Iterator[Callable[[], RedisServer]]:
    """A factory of private redis-servers, for tests that kill, pause or restart them."""
    started: list[RedisServer] = []

    def start() -> RedisServer:
        server = RedisServer().start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def namespace() -> str:
    """A namespace no other test uses."""
    return f"t{uuid.uuid4().hex[:12]}"
