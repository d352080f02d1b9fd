"""What the browser journeys share: the browser, the server processes, the example app's
answers, the seeded ruleset, screenshots, and the notes printed at the end of the run.

The admin panel and the example app run as real processes on loopback ports, both on one
Redis namespace; the tests seed and read that namespace with a RedisStore of their own.
"""

from __future__ import annotations

import contextlib
import copy
import http.client
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import redis

import flagware
from examples import demo
from flagware.engine import Engine
from flagware.ruleset import Ruleset

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

from tests.processes import serving

REPO_ROOT = Path(__file__).resolve().parents[2]
# Each run writes its screenshots to docs/screenshots/latest/ (not tracked: CI keeps them as
# an artefact); FLAGWARE_SCREENSHOTS=docs/screenshots refreshes the committed set.
SCREENSHOTS = Path(
    os.environ.get("FLAGWARE_SCREENSHOTS") or REPO_ROOT / "docs" / "screenshots" / "latest"
).resolve()

USER, PASSWORD = "operator", "s3cret"
PROPAGATION_LIMIT = 1.0  # seconds from Save to the example app answering with the change

BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

# Printed by the terminal summary (conftest.py), so a plain `pytest` run shows them too.
NOTES: list[str] = []


def note(line: str) -> None:
    print(line)
    NOTES.append(line)


# --- The browser. ---------------------------------------------------------------------------


class BrowserMisconfigured(Exception):
    """FLAGWARE_CHROMIUM names no executable: an error even where a browser is optional."""


def find_browser() -> tuple[str | None, str]:
    """The Chromium to drive, or None and where it was looked for (for the skip message).

    ``$FLAGWARE_CHROMIUM`` if set (it must then be an executable), else the first of
    chromium / chromium-browser / google-chrome on PATH. Playwright's own downloaded
    browsers are never used: ``playwright install`` needs the network.
    """
    configured = os.environ.get("FLAGWARE_CHROMIUM")
    if configured:
        found = shutil.which(configured)
        if found is None:
            raise BrowserMisconfigured(f"FLAGWARE_CHROMIUM={configured!r} is not an executable")
        return found, "FLAGWARE_CHROMIUM"
    for name in BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return found, name
    return None, f"none of {', '.join(BROWSER_NAMES)} is on PATH and FLAGWARE_CHROMIUM is unset"


# --- The ruleset. ---------------------------------------------------------------------------


def seed_document() -> dict[str, Any]:
    """The example's bundled ruleset with dark_mode at 5 %: what every journey starts from."""
    doc = flagware.load_ruleset(demo.BUNDLED_RULES).to_dict()
    doc["flags"]["dark_mode"]["strategies"] = [{"type": "percentage", "percent": 5}]
    return doc


def with_percent(doc: Mapping[str, Any], flag: str, percent: float) -> dict[str, Any]:
    changed = copy.deepcopy(dict(doc))
    changed["flags"][flag]["strategies"] = [{"type": "percentage", "percent": percent}]
    return changed


def expected_flags(doc: Mapping[str, Any], account_id: str) -> dict[str, bool]:
    """What the example app must answer for a demo account under ``doc``, by the engine."""
    ruleset = Ruleset.from_dict(dict(doc))
    engine = Engine(ruleset)
    account = demo.ACCOUNTS[account_id]
    flags = engine.evaluate_all(account, test_user=account_id in ruleset.test_users)
    return flags.as_dict()


# --- Processes. -----------------------------------------------------------------------------


def get(
    url: str, headers: Mapping[str, str] | None = None, timeout: float = 2.0
) -> tuple[int, str]:
    """Status and body of a GET on loopback (no proxy, no browser)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        conn.request("GET", parts.path or "/", headers=dict(headers or {}))
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


@contextlib.contextmanager
def run_server(
    command: list[str], env: Mapping[str, str], ready: Callable[[], bool], log_path: Path
) -> Iterator[None]:
    """Start ``command``, wait (bounded) until ``ready()``, always stop it afterwards."""
    with serving(command, env, ready, log_path):
        yield


def server_env(redis_url: str, namespace: str, cache_dir: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "FLAGWARE_REDIS_URL": redis_url,
        "FLAGWARE_NAMESPACE": namespace,
        "FLAGWARE_ADMIN_USER": USER,
        "FLAGWARE_ADMIN_PASSWORD": PASSWORD,
        # RedisStore's snapshot file goes here, not into the user's ~/.cache.
        "XDG_CACHE_HOME": str(cache_dir),
    }
    env.pop("PYTHONWARNINGS", None)
    env.pop("FLAGWARE_RULES", None)
    return env


def admin_command(port: int) -> list[str]:
    """``flagware admin`` on ``port``, as its console script runs it."""
    return [
        str(Path(sys.executable).with_name("flagware")),
        "admin",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


def basic_auth_header(user: str = USER, password: str = PASSWORD) -> dict[str, str]:
    import base64

    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


_VERSION_SHOWN = re.compile(r"version (\d+) · signed in")


@dataclass
class Servers:
    """The running admin panel and example app, and the namespace they share."""

    admin_url: str
    app_url: str
    redis_url: str
    namespace: str
    _conn: http.client.HTTPConnection | None = field(default=None, repr=False)
    _redis: redis.Redis | None = field(default=None, repr=False)

    def redis_version(self) -> int:
        """The version Redis holds for the namespace (RedisStore's documented layout)."""
        if self._redis is None:
            self._redis = redis.Redis.from_url(self.redis_url, socket_timeout=2)
        raw = self._redis.hget(f"{{flagware:{self.namespace}}}:ruleset", "version")
        return int(raw) if raw is not None else 0

    def admin_version(self) -> int:
        """The ruleset version the admin panel serves (from its page header)."""
        status, body = get(self.admin_url + "/", basic_auth_header())
        match = _VERSION_SHOWN.search(body)
        if status != 200 or match is None:
            raise AssertionError(f"admin panel answered {status}: {body[:300]!r}")
        return int(match.group(1))

    def app_flags(self, account_id: str) -> dict[str, bool]:
        """``GET /api/flags`` of the example app as ``account_id`` (kept-alive connection)."""
        for attempt in range(2):
            if self._conn is None:
                parts = urlsplit(self.app_url)
                self._conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=2)
            try:
                self._conn.request("GET", "/api/flags", headers={"X-Account-Id": account_id})
                response = self._conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException):
                self.close()
                if attempt:
                    raise
                continue
            if response.status != 200:
                raise AssertionError(f"/api/flags answered {response.status}: {body[:300]!r}")
            payload = json.loads(body)
            if payload["account"] != account_id:
                raise AssertionError(f"the example app does not know {account_id!r}: {payload}")
            flags: dict[str, bool] = payload["flags"]
            return flags
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._redis is not None:
            self._redis.close()
            self._redis = None

    def store(self) -> flagware.RedisStore:
        """A new store on the shared namespace: what Redis holds now (close it after use)."""
        return flagware.RedisStore.from_url(
            self.redis_url, namespace=self.namespace, snapshot_path=False
        )


def wait_until(
    check: Callable[[], bool], *, since: float, what: str, timeout: float = 5.0
) -> float:
    """Poll ``check`` every 10 ms until it holds; the seconds from ``since`` until it did.

    Polls past the propagation limit (up to ``timeout``) so that a slow propagation is
    reported with its real latency rather than only as "not within 1 s".
    """
    deadline = since + timeout
    while True:
        if check():
            return time.monotonic() - since
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not seen within {timeout:g}s")
        time.sleep(0.01)


def new_context(browser: Browser, servers: Servers, **options: Any) -> BrowserContext:
    """A browser context on the admin panel (relative URLs), 10 s for any one action."""
    context = browser.new_context(
        base_url=servers.admin_url, viewport={"width": 1200, "height": 800}, **options
    )
    context.set_default_timeout(10_000)
    return context


# --- Screenshots. ---------------------------------------------------------------------------


def screenshot(page: Page, name: str) -> Path:
    """A full-page PNG of ``page`` at <SCREENSHOTS>/<name>.png, regenerated every run."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide")
    note(f"screenshot: {path}")
    return path
