"""Fixtures of the browser journeys: one Chromium and one set of servers per module, a
ruleset reset before each test, and a browser context logged in as the operator.

Chromium is the system's (never Playwright's download). Without one the journeys skip,
unless FLAGWARE_REQUIRE_BROWSER=1 (CI sets it), which makes a missing browser an error.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from examples import demo
from tests.browser.support import (
    CHROMIUM_ARGS,
    NOTES,
    PASSWORD,
    USER,
    BrowserMisconfigured,
    Servers,
    admin_command,
    basic_auth_header,
    expected_flags,
    find_browser,
    get,
    new_context,
    note,
    run_server,
    seed_document,
    server_env,
    wait_until,
)
from tests.processes import free_port

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

    from tests.redis_server import RedisServer


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Without a browser the journeys are reported as skipped (a fresh machine with only
    Python and pip has none); with FLAGWARE_REQUIRE_BROWSER=1 (CI) they fail instead."""
    try:
        executable, looked_for = find_browser()
    except BrowserMisconfigured:
        return  # the fixture fails with the message
    required = os.environ.get("FLAGWARE_REQUIRE_BROWSER") == "1"
    marker = pytest.mark.skipif(
        executable is None and not required,
        reason=f"no Chromium for the browser tests: {looked_for} "
        "(set FLAGWARE_REQUIRE_BROWSER=1 to make this an error)",
    )
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(marker)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """The system's Chromium under Playwright's sync API, shared by a module's tests."""
    try:
        executable, looked_for = find_browser()
    except BrowserMisconfigured as error:
        misconfigured = str(error)
    else:
        misconfigured = ""
    if misconfigured:
        pytest.fail(misconfigured, pytrace=False)
    if executable is None:  # only reached when FLAGWARE_REQUIRE_BROWSER=1 (see above)
        pytest.fail(
            f"no Chromium for the browser tests: {looked_for}; "
            "FLAGWARE_REQUIRE_BROWSER=1 requires them",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright  # the test extra installs it

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:  # Playwright's sync API refuses to run inside one
        pytest.fail("the browser tests cannot run inside a running asyncio event loop")
    playwright = sync_playwright().start()
    try:
        launched = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, timeout=30_000
        )
        note(f"browser: {executable} (Chromium {launched.version})")
        try:
            yield launched
        finally:
            launched.close()
    finally:
        playwright.stop()


@pytest.fixture(scope="module")
def servers(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Servers]:
    """The admin panel and the example app, processes on loopback, on one new namespace
    seeded with the journeys' starting ruleset."""
    import uuid

    import flagware

    namespace = f"browser{uuid.uuid4().hex[:10]}"
    directory = tmp_path_factory.mktemp("browser-servers")
    # The seed goes into the empty namespace as the store's bootstrap ruleset.
    flagware.RedisStore.from_url(
        redis_server.url, namespace=namespace, snapshot_path=False, bootstrap=seed_document()
    ).close()
    env = server_env(redis_server.url, namespace, directory / "cache")

    admin_port = free_port()
    command = admin_command(admin_port)
    admin_url = f"http://127.0.0.1:{admin_port}"

    def admin_ready() -> bool:
        return get(admin_url + "/", basic_auth_header())[0] == 200

    app_port = free_port()
    app_url = f"http://127.0.0.1:{app_port}"

    def app_ready() -> bool:
        return get(app_url + "/ping")[0] == 200

    with (
        run_server(command, env, admin_ready, directory / "admin.log"),
        run_server(
            [sys.executable, "-m", "examples.starlette_app"],
            {**env, "PORT": str(app_port)},
            app_ready,
            directory / "app.log",
        ),
    ):
        note(f"admin panel: {' '.join(command)}")
        running = Servers(admin_url, app_url, redis_server.url, namespace)
        yield running
        running.close()


@pytest.fixture
def seed(servers: Servers) -> int:
    """Put the starting ruleset back (as a new version) and wait until both servers serve
    it; the version it was saved as."""
    store = servers.store()
    try:
        version = store.save(seed_document(), actor="browser tests (reset)", action="reset").version
    finally:
        store.close()
    doc = seed_document()
    wanted = {account: expected_flags(doc, account) for account in demo.ACCOUNTS}
    wait_until(
        lambda: (
            servers.admin_version() >= version
            and all(servers.app_flags(a) == flags for a, flags in wanted.items())
        ),
        since=time.monotonic(),
        what="both servers serving the reset ruleset",
    )
    return version


@pytest.fixture
def context(browser: Browser, servers: Servers, seed: int) -> Iterator[BrowserContext]:
    """A browser context logged in to the panel as the operator (HTTP Basic)."""
    context = new_context(
        browser, servers, http_credentials={"username": USER, "password": PASSWORD}
    )
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The journeys' screenshots and measured latencies, without needing ``pytest -s``."""
    if NOTES:
        terminalreporter.write_sep("-", "browser journeys")
        for line in dict.fromkeys(NOTES):  # in order, without repeats
            terminalreporter.write_line(line)
