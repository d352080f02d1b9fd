"""examples/django_app: in-process with its own settings, and served by uvicorn."""

from __future__ import annotations

import asyncio
import http.client
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from django.test import AsyncClient, Client, override_settings

from examples.django_app import settings as example
from tests.processes import free_port, serving

OVERRIDE = {"X-Flagware-Override": "new_checkout=off, checkout_button=green"}


@pytest.fixture
def example_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The example's settings in place of the tests' (its database-free INSTALLED_APPS
    aside: the tests' apps stay installed), with the bundled ruleset."""
    for name in ("FLAGWARE_REDIS_URL", "FLAGWARE_RULES", "FLAGWARE_TOKEN_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with override_settings(
        ROOT_URLCONF=example.ROOT_URLCONF,
        MIDDLEWARE=example.MIDDLEWARE,
        TEMPLATES=example.TEMPLATES,
        FLAGWARE=example._flagware(),
    ):
        yield


@pytest.mark.usefixtures("example_settings")
def test_the_page_shows_the_accounts_flags() -> None:
    client = Client()
    page = client.get("/", headers={"X-Account-Id": "acct-42"}).text
    assert "Hello acct-42" in page
    assert "New checkout" in page
    assert "Classic checkout" in client.get("/", headers={"X-Account-Id": "acct-555"}).text
    assert "Hello anonymous visitor" in client.get("/").text


@pytest.mark.usefixtures("example_settings")
def test_the_api_is_an_async_view() -> None:
    body = Client().get("/api/flags", headers={"X-Account-Id": "acct-42"}).json()
    assert body["account"] == "acct-42"
    assert body["flags"]["new_checkout"] is True
    overridden = Client().get("/api/flags", headers={"X-Account-Id": "testuser1", **OVERRIDE})
    assert overridden.json()["flags"]["new_checkout"] is False
    assert overridden.json()["variants"]["checkout_button"] == "green"
    assert overridden["X-Flagware-Overrides-Applied"] == "new_checkout=off, checkout_button=green"


@pytest.mark.usefixtures("example_settings")
def test_the_stream_under_asgi() -> None:
    async def fetch() -> bytes:
        response = await AsyncClient().get("/stream", headers={"X-Account-Id": "acct-7"})
        return b"".join([chunk async for chunk in response.streaming_content])

    assert asyncio.run(fetch()).decode().splitlines() == [
        f"chunk {i}: new_checkout=True" for i in range(3)
    ]


# --- under a real server ------------------------------------------------------------------


def _answers(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        conn.request("GET", "/ping")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """uvicorn serving examples.django_app.asgi:application on a free loopback port."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLAGWARE_", "DJANGO_"))}
    env.update(PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTHONWARNINGS", None)
    command = [
        sys.executable, "-m", "uvicorn", "examples.django_app.asgi:application",
        "--host", "127.0.0.1", "--port", str(port), "--lifespan", "off",
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    log: Path = tmp_path_factory.mktemp("uvicorn-django") / "server.log"
    with serving(command, env, lambda: _answers(port), log):
        yield f"http://127.0.0.1:{port}"


def test_under_uvicorn(served: str) -> None:
    with httpx.Client(base_url=served, timeout=10) as client:
        body: dict[str, Any] = client.get("/api/flags", headers={"X-Account-Id": "acct-42"}).json()
        assert body["account"] == "acct-42"
        assert body["flags"]["new_checkout"] is True
        overridden = client.get("/api/flags", headers={"X-Account-Id": "testuser1", **OVERRIDE})
        assert overridden.json()["flags"]["new_checkout"] is False
        assert overridden.headers["cache-control"] == "private, no-store"
        assert overridden.headers["vary"] == "X-Flagware-Override"
        ignored = client.get("/api/flags", headers={"X-Account-Id": "acct-7", **OVERRIDE})
        assert ignored.json()["flags"]["new_checkout"] is True
        assert "cache-control" not in ignored.headers
        stream = client.get("/stream", headers={"X-Account-Id": "testuser1", **OVERRIDE})
        assert stream.text.splitlines() == [f"chunk {i}: new_checkout=False" for i in range(3)]
        page = client.get("/", headers={"X-Account-Id": "acct-42"}).text
        assert "Hello acct-42" in page
        assert "New checkout" in page
        assert client.get("/api/flags").json()["account"] is None  # nothing leaks across
