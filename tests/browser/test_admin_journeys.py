"""An operator's journeys through the admin panel in a real browser, checked end to end.

Chromium (Playwright's sync API) drives the panel, a process of its own; a second process,
the Starlette example app, reads the same Redis namespace. A change saved in the panel
must reach the app's ``GET /api/flags`` within a second: the latency is measured and
printed. Every journey starts from the seeded ruleset (dark_mode at 5 %).
"""

from __future__ import annotations

import contextlib
import re
import time
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from examples import demo
from tests.browser.support import (
    PROPAGATION_LIMIT,
    USER,
    Servers,
    expected_flags,
    new_context,
    note,
    screenshot,
    seed_document,
    wait_until,
    with_percent,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from playwright.sync_api import Browser, BrowserContext, Dialog, Locator, Page

# The browser first: without one the module skips before any server starts.
pytestmark = pytest.mark.usefixtures("browser")

FLAG = "dark_mode"


def rollout_movers() -> tuple[str, list[str]]:
    """An account the 5 % → 25 % change releases dark_mode to, and the accounts it leaves
    off: found by the engine on the old and new rulesets, among the example's accounts."""
    old, new = seed_document(), with_percent(seed_document(), FLAG, 25)
    testers = set(old["test_users"])
    accounts = [a for a in demo.ACCOUNTS if a not in testers]
    movers = [
        a for a in accounts if not expected_flags(old, a)[FLAG] and expected_flags(new, a)[FLAG]
    ]
    unmoved = [a for a in accounts if not expected_flags(new, a)[FLAG]]
    assert movers, "no example account has a dark_mode bucket between 5 % and 25 %"
    assert unmoved, "every example account is inside 25 %: nothing shows the rollout is partial"
    return movers[0], unmoved


def saved_version(page: Page) -> int:
    status = page.get_by_role("status")
    expect(status).to_contain_text("Saved as version")
    match = re.search(r"Saved as version (\d+)", status.inner_text())
    assert match is not None
    return int(match.group(1))


def answer_next_dialog(page: Page, *, accept: bool) -> list[str]:
    """Accept or dismiss the page's next confirm(); the list its message will be put in."""
    messages: list[str] = []

    def answer(dialog: Dialog) -> None:
        messages.append(dialog.message)
        if accept:
            dialog.accept()
        else:
            dialog.dismiss()

    page.once("dialog", answer)
    return messages


def nav(page: Page, name: str) -> Locator:
    """A link of the panel's navigation bar."""
    return page.get_by_role("navigation").get_by_role("link", name=name, exact=True)


def percent_field(page: Page) -> Locator:
    return page.get_by_label("percent", exact=True)


def save_button(page: Page) -> Locator:
    return page.get_by_role("button", name="Save", exact=True)


def measure(servers: Servers, what: str, save: Locator, seen: Callable[[], bool]) -> float:
    """Click ``save`` and poll the example app until ``seen()``; the seconds in between,
    which must stay under a second. Also notes when Redis got the new version, to tell
    the panel's share of the time from the app's."""
    before = servers.redis_version()
    stored: list[float] = []

    def check() -> bool:
        if not stored and servers.redis_version() > before:
            stored.append(time.monotonic())
        return seen()

    started = time.monotonic()
    save.click()
    latency = wait_until(check, since=started, what=what)
    split = f" (stored in Redis after {(stored[0] - started) * 1000:.0f} ms)" if stored else ""
    note(f"propagation: {what}: in the app {latency * 1000:.0f} ms after Save{split}")
    assert latency < PROPAGATION_LIMIT, f"{what} took {latency:.2f}s"
    return latency


def test_the_panel_needs_the_operator_login(browser: Browser, servers: Servers, page: Page) -> None:
    for credentials in (None, {"username": USER, "password": "not-the-password"}):
        refused = new_context(browser, servers, http_credentials=credentials)
        try:
            visitor = refused.new_page()
            # Chromium with no credentials to offer may abort the navigation
            # (ERR_INVALID_AUTH_CREDENTIALS) rather than show the 401 page.
            with (
                visitor.expect_response(f"{servers.admin_url}/") as answer,
                contextlib.suppress(PlaywrightError),
            ):
                visitor.goto("/")
            assert answer.value.status == 401
            assert answer.value.headers["www-authenticate"].startswith("Basic ")
            expect(visitor.get_by_role("link", name=FLAG)).to_have_count(0)
            direct = refused.request.get("/")
            assert direct.status == 401
            assert "Authentication required" in direct.text()
        finally:
            refused.close()

    response = page.goto("/")
    assert response is not None
    assert response.status == 200
    expect(page.get_by_role("heading", name="Flags")).to_be_visible()
    for name in seed_document()["flags"]:
        expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(page.get_by_role("banner")).to_contain_text(f"signed in as {USER}")
    screenshot(page, "flags-list")


def test_rollout_from_5_to_25_percent_reaches_the_app_within_a_second(
    servers: Servers, page: Page, seed: int
) -> None:
    account, unmoved = rollout_movers()
    assert servers.app_flags(account)[FLAG] is False

    page.goto("/")
    page.get_by_role("searchbox", name="Find a flag").fill("dark")
    expect(page.get_by_role("link", name="new_checkout")).to_be_hidden()
    page.get_by_role("link", name=FLAG, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(FLAG)
    expect(page.get_by_text("Released to: 5% of accounts")).to_be_visible()
    expect(percent_field(page)).to_have_value("5")
    screenshot(page, "flag-edit")

    # A slip of the keyboard is refused in place, and nothing is saved.
    percent_field(page).fill("250")
    with page.expect_response(lambda r: r.request.method == "POST") as refused:
        save_button(page).click()
    assert refused.value.status == 422
    expect(page.get_by_role("group", name="percentage").get_by_role("alert")).to_contain_text(
        "percent"
    )
    expect(percent_field(page)).to_have_value("250")
    assert servers.admin_version() == seed
    screenshot(page, "flag-edit-validation-error")

    percent_field(page).fill("25")
    measure(
        servers,
        f"dark_mode 5% -> 25% for {account}",
        save_button(page),
        lambda: servers.app_flags(account)[FLAG],
    )
    version = saved_version(page)
    assert version > seed
    expect(page.get_by_text("Released to: 25% of accounts")).to_be_visible()
    expect(percent_field(page)).to_have_value("25")
    for other in unmoved:  # a partial rollout: the accounts outside 25 % still do not see it
        assert servers.app_flags(other)[FLAG] is False, other


def test_a_new_test_user_sees_every_flag_but_killed_ones(servers: Servers, page: Page) -> None:
    account = "acct-555"
    doc = seed_document()
    assert account not in doc["test_users"]
    killed = {name for name, flag in doc["flags"].items() if flag.get("enabled") is False}
    assert killed, "the seeded ruleset needs a killed flag for this journey"
    as_tester = {name: name not in killed for name in doc["flags"]}
    assert servers.app_flags(account) != as_tester

    page.goto("/")
    nav(page, "Test users").click()
    expect(page.get_by_role("heading", name="Test users")).to_be_visible()
    page.get_by_label("Account id").fill(account)
    measure(
        servers,
        f"test user {account} sees every flag not killed",
        page.get_by_role("button", name="Add test user"),
        lambda: servers.app_flags(account) == as_tester,
    )
    saved_version(page)
    expect(page.get_by_role("button", name=f"Remove {account}")).to_be_visible()
    screenshot(page, "test-users")

    # Explain agrees: a test user, every flag on except the killed ones.
    nav(page, "Explain").click()
    page.get_by_label("Account id").fill(account)
    page.get_by_role("button", name="Explain").click()
    expect(page.get_by_role("heading", name=account)).to_contain_text("test user")
    for name, on in as_tester.items():
        row = page.get_by_role("row").filter(has=page.get_by_role("link", name=name, exact=True))
        expect(row.get_by_role("cell").nth(1)).to_have_text("on" if on else "off")
    screenshot(page, "explain")


def test_history_shows_the_change_and_restores_the_version_before(
    servers: Servers, page: Page, seed: int
) -> None:
    account, _ = rollout_movers()
    page.goto(f"/flags/{FLAG}")
    percent_field(page).fill("25")
    save_button(page).click()
    version = saved_version(page)
    wait_until(
        lambda: servers.app_flags(account)[FLAG],
        since=time.monotonic(),
        what="the 25 % rollout in the app",
    )

    nav(page, "History").click()
    expect(page.get_by_role("heading", name="History")).to_be_visible()
    row = page.get_by_role("row").filter(
        has=page.get_by_role("link", name=f"v{version}", exact=True)
    )
    expect(row).to_contain_text(USER)
    expect(row).to_contain_text("edit_flag")
    expect(row).to_contain_text(FLAG)
    screenshot(page, "history")

    row.get_by_role("link", name=f"v{version}").click()
    expect(page.get_by_role("heading", name=f"Version {version}")).to_be_visible()
    expect(page.get_by_text(f"edit_flag by {USER}")).to_be_visible()
    diff = page.locator("pre.diff").first
    expect(diff).to_be_visible()
    lines = diff.inner_text().splitlines()  # as rendered: one diff line per screen line
    assert any(re.fullmatch(r'-\s+"percent": 5(\.0)?,', line) for line in lines), lines
    assert any(re.fullmatch(r'\+\s+"percent": 25(\.0)?,', line) for line in lines), lines
    assert "" not in lines, f"blank lines in the rendered diff: {lines}"
    screenshot(page, "change-diff")

    # The version before is the seeded one: restore it.
    nav(page, "History").click()
    page.get_by_role("link", name=f"v{seed}", exact=True).click()
    expect(page.get_by_role("heading", name=f"Version {seed}")).to_be_visible()
    dialogs = answer_next_dialog(page, accept=True)
    measure(
        servers,
        f"restore version {seed} (dark_mode back to 5%) for {account}",
        page.get_by_role("button", name=f"Restore version {seed}"),
        lambda: not servers.app_flags(account)[FLAG],
    )
    assert dialogs == [f"Restore version {seed}?"], dialogs
    restored = saved_version(page)
    top = page.get_by_role("row").filter(
        has=page.get_by_role("link", name=f"v{restored}", exact=True)
    )
    expect(top).to_contain_text(f"restore {seed}")
    expect(top).to_contain_text(USER)
    store = servers.store()
    try:
        assert store.version == restored
        assert store.ruleset().to_dict() == seed_document()
    finally:
        store.close()


def test_a_stale_edit_is_refused_and_the_colleagues_change_kept(
    servers: Servers, context: BrowserContext, page: Page
) -> None:
    page.goto(f"/flags/{FLAG}")  # page A: opened first, saved last
    expect(percent_field(page)).to_have_value("5")

    colleague = context.new_page()  # page B
    colleague.goto(f"/flags/{FLAG}")
    percent_field(colleague).fill("50")
    save_button(colleague).click()
    theirs = saved_version(colleague)

    percent_field(page).fill("25")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        save_button(page).click()
    assert answer.value.status == 409
    expect(page.get_by_role("alert")).to_contain_text(
        f"Not saved: {FLAG} was changed by {USER} (version {theirs}) after you opened this page."
    )
    # The form now shows the current rules, B's, to edit again.
    expect(percent_field(page)).to_have_value("50")
    expect(page.get_by_text("Your edit, not saved")).to_be_visible()
    screenshot(page, "stale-edit-refused")

    store = servers.store()
    try:
        assert store.version == theirs
        assert store.ruleset().flags[FLAG].to_dict()["strategies"] == [
            {"type": "percentage", "percent": 50}
        ]
    finally:
        store.close()


def test_writes_without_the_csrf_token_or_from_another_site_are_refused(
    servers: Servers, page: Page, seed: int
) -> None:
    page.goto(f"/flags/{FLAG}")
    token = page.locator("input[name=csrf_token]").first.input_value()
    assert len(token) >= 32
    url = f"{servers.admin_url}/flags/{FLAG}/enabled"

    no_token = page.request.post(url, form={"enabled": "off"}, max_redirects=0)
    assert no_token.status == 403
    assert "carries no security token" in no_token.text()

    forged = page.request.post(
        url, form={"enabled": "off", "csrf_token": "x" * len(token)}, max_redirects=0
    )
    assert forged.status == 403
    assert "security token does not match" in forged.text()

    # The page's own script, same origin, the cookie sent: still no token in the form.
    status = page.evaluate(
        """async (url) => (await fetch(url, {method: "POST",
            body: new URLSearchParams({enabled: "off"}), redirect: "manual"})).status""",
        url,
    )
    assert status == 403

    evil = page.request.post(
        url,
        form={"enabled": "off", "csrf_token": token},
        headers={"Origin": "http://evil.example"},
        max_redirects=0,
    )
    assert evil.status == 403
    assert "another site (http://evil.example)" in evil.text()

    assert servers.admin_version() == seed
    assert servers.app_flags("testuser1")[FLAG] is True

    # The same write with the token and from the panel's own origin does go through.
    own = page.request.post(
        url,
        form={"enabled": "off", "csrf_token": token},
        headers={"Origin": servers.admin_url},
        max_redirects=0,
    )
    assert own.status == 303
    store = servers.store()
    try:
        assert store.ruleset().flags[FLAG].enabled is False
    finally:
        store.close()


def test_the_kill_switch_asks_first_then_turns_the_flag_off_and_back_on(
    servers: Servers, page: Page, seed: int
) -> None:
    tester = "testuser1"  # test users see every flag that is not killed
    assert servers.app_flags(tester)[FLAG] is True
    page.goto(f"/flags/{FLAG}")
    kill = page.get_by_role("button", name="Kill switch: turn off for everyone")

    question = f"Switch {FLAG} off for everyone, test users included?"
    posts: list[str] = []
    page.on(
        "request", lambda request: posts.append(request.url) if request.method == "POST" else None
    )
    dialogs = answer_next_dialog(page, accept=False)
    kill.click()
    assert dialogs == [question], dialogs
    page.wait_for_timeout(500)  # time for a form submission that should not happen
    assert posts == []  # dismissed: nothing sent, nothing changed
    assert servers.admin_version() == seed
    expect(page.get_by_role("heading", level=1)).to_contain_text("on")

    dialogs = answer_next_dialog(page, accept=True)
    measure(
        servers,
        f"kill switch: dark_mode off for test user {tester}",
        kill,
        lambda: not servers.app_flags(tester)[FLAG],
    )
    assert dialogs == [question], dialogs
    assert len(posts) == 1
    saved_version(page)
    expect(page.get_by_role("heading", level=1)).to_contain_text("killed")
    expect(page.get_by_text("off for everyone (kill switch)")).to_be_visible()

    measure(
        servers,
        f"kill switch off again: dark_mode back for {tester}",
        page.get_by_role("button", name="Turn back on (follow its strategies)"),
        lambda: servers.app_flags(tester)[FLAG],
    )
    expect(page.get_by_role("heading", level=1)).to_contain_text("on")
