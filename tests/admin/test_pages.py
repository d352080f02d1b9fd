"""The panel's everyday operations: kill switch, new and deleted flags, test users, explain,
history and restore; each one checked in the store, not only on the page."""

from __future__ import annotations

import asyncio
import html
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

import flagware
from flagware import Account, Engine, Store
from flagware.admin import BasicAuth, admin_app
from tests.admin.pages import errors, form
from tests.admin.support import DOC, PASSWORD, USER, Panel, on_both_stores, redirected_to, snapshot

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "rules.yaml"


# --- Kill switch. ---------------------------------------------------------------------------


@on_both_stores
def test_the_kill_switch_turns_a_flag_off_and_back_on(panel: Panel) -> None:
    store = panel.store
    response = panel.submit(panel.form("/flags/beta", "/flags/beta/enabled"))
    assert redirected_to(response, "/flags/beta")
    assert store.ruleset().flags["beta"].enabled is False
    assert store.ruleset().flags["beta"].strategies  # the rules themselves are kept
    assert (store.history()[0].action, store.history()[0].actor) == ("disable", USER)
    page = panel.page("/flags/beta")
    assert '<span class="pill off">killed</span>' in page
    assert "Turn back on" in page
    row = re.search(r'<tr data-name="beta">.*?</tr>', panel.page("/"), re.S)
    assert row
    assert "killed" in row.group(0)
    assert "off for everyone (kill switch)" in row.group(0)

    response = panel.submit(form(page, "/flags/beta/enabled"))
    assert redirected_to(response, "/flags/beta")
    assert store.ruleset().flags["beta"].enabled is True
    assert store.ruleset().to_dict()["flags"]["beta"] == DOC["flags"]["beta"]
    assert store.history()[0].action == "enable"


def test_the_kill_switch_of_an_unknown_flag_is_a_404(panel: Panel) -> None:
    before = snapshot(panel.store)
    data = {"csrf_token": panel.token, "enabled": "off"}
    assert panel.post("/flags/nope/enabled", data).status_code == 404
    assert panel.post("/flags/nope/delete", data).status_code == 404
    assert panel.get("/flags/nope").status_code == 404
    assert snapshot(panel.store) == before


# --- Creating and deleting flags. -----------------------------------------------------------


def utc_today() -> str:
    return datetime.now(timezone.utc).date().isoformat()


@on_both_stores
def test_a_new_flag_is_created_for_test_users_only(panel: Panel) -> None:
    version = panel.store.version
    found = panel.form("/", "/flags")
    before = utc_today()
    response = panel.submit(found, name="new_checkout.v2", description="  The new checkout  ")
    days = {before, utc_today()}
    assert redirected_to(response, "/flags/new_checkout.v2")
    assert response.headers["location"].endswith(f"?saved={version + 1}")
    flag = panel.store.ruleset().to_dict()["flags"]["new_checkout.v2"]
    assert flag.pop("created") in days  # dated, so that `stale` can judge it
    assert flag == {"description": "The new checkout", "strategies": []}
    assert (panel.store.history()[0].action, panel.store.history()[0].actor) == (
        "create_flag",
        USER,
    )
    assert "test users only" in panel.page("/")


@pytest.mark.parametrize(
    "name", ["", "1starts_with_a_digit", "has space", "slash/y", "x" * 101, "ünï", "a:b"]
)
def test_a_new_flag_with_an_invalid_name_is_refused(panel: Panel, name: str) -> None:
    before = snapshot(panel.store)
    response = panel.submit(panel.form("/", "/flags"), name=name)
    assert response.status_code == 422
    assert any("a flag name must match" in e for e in errors(response.text))
    assert snapshot(panel.store) == before
    # The typed name is shown again, to correct.
    assert form(response.text, "/flags").value("name") == name.strip()


@on_both_stores
def test_a_new_flag_may_not_replace_an_existing_one(panel: Panel) -> None:
    before = snapshot(panel.store)
    response = panel.submit(panel.form("/", "/flags"), name="beta", description="replacement")
    assert response.status_code == 422
    assert "a flag named 'beta' already exists" in errors(response.text)
    assert snapshot(panel.store) == before


@on_both_stores
def test_a_flag_is_deleted(panel: Panel) -> None:
    response = panel.submit(panel.form("/flags/beta", "/flags/beta/delete"))
    assert redirected_to(response, "/")
    assert "beta" not in panel.store.ruleset().flags
    assert set(panel.store.ruleset().flags) == {"pilot", "other"}
    assert (panel.store.history()[0].action, panel.store.history()[0].actor) == (
        "delete_flag",
        USER,
    )
    assert panel.get("/flags/beta").status_code == 404
    assert 'data-name="beta"' not in panel.page("/")


# --- Test users. ----------------------------------------------------------------------------


@on_both_stores
def test_test_users_are_added_and_removed(panel: Panel) -> None:
    store = panel.store
    add = panel.forms("/test-users", "/test-users")[0]
    response = panel.submit(add, account="  acct-77  ")
    assert redirected_to(response, "/test-users")
    assert store.ruleset().test_users == {"tester", "acct-77"}
    assert store.history()[0].action == "add_test_user"
    assert store.history()[0].actor == USER
    page = panel.page("/test-users")
    assert "<td>acct-77</td>" in page

    removes = [
        f for f in panel.forms("/test-users", "/test-users") if f.fields[-1] == ("remove", "1")
    ]
    remove = next(f for f in removes if f.value("account") == "acct-77")
    response = panel.submit(remove)
    assert redirected_to(response, "/test-users")
    assert store.ruleset().test_users == {"tester"}
    assert store.history()[0].action == "remove_test_user"
    assert "acct-77" not in panel.page("/test-users")


def test_a_test_user_needs_an_account_id(panel: Panel) -> None:
    before = snapshot(panel.store)
    response = panel.submit(panel.forms("/test-users", "/test-users")[0], account="   ")
    assert response.status_code == 422
    assert "Give the account id of the test user." in errors(response.text)
    assert snapshot(panel.store) == before


# --- Explain. -------------------------------------------------------------------------------


def explained(page: str) -> dict[str, tuple[bool, str | None, str]]:
    """The rows of the explain table: flag -> (on?, variant, reason)."""
    table = re.search(r'<table class="explain-results">(.*?)</table>', page, re.S)
    assert table, "no explain results on the page"
    rows = re.findall(
        r'<tr><td><a href="[^"]*">([^<]+)</a></td>\s*'
        r'<td><span class="pill (on|off)">.*?</span></td>'
        r"\s*<td>(.*?)</td><td>(.*?)</td></tr>",
        table.group(1),
        re.S,
    )
    return {
        html.unescape(name): (state == "on", html.unescape(variant) or None, html.unescape(why))
        for name, state, variant, why in rows
    }


def expected(store: Store, account: Account) -> dict[str, tuple[bool, str | None, str]]:
    ruleset = store.ruleset()
    flags = Engine(ruleset).evaluate_all(account)
    return {
        name: (flags.is_enabled(name), flags.variant(name), flags.reason(name))
        for name in ruleset.flags
    }


@pytest.fixture
def examples(make_store: Any) -> Panel:
    return Panel.logged_in(make_store("memory", flagware.load_ruleset(EXAMPLES).to_dict()))


@pytest.mark.parametrize(
    ("account", "query"),
    [
        (Account("acct-42"), {"account": "acct-42"}),
        (Account("acct-1", number=1031), {"account": "acct-1", "number": "1031"}),
        (
            Account("acct-3", number=-7, attributes={"country": "NL", "plan": "pro"}),
            {"account": "acct-3", "number": "-7", "attributes": "country=NL\nplan = pro\n\n"},
        ),
        (
            Account("acct-4", attributes={"country": "DE", "plan": "free"}),
            {"account": "acct-4", "attributes": "country=DE\nplan=free"},
        ),
        (Account("zz-99"), {"account": "  zz-99  "}),
    ],
)
def test_explain_gives_what_the_engine_gives(
    examples: Panel, account: Account, query: dict[str, str]
) -> None:
    page = examples.page("/explain?" + urlencode(query))
    shown = explained(page)
    assert shown == expected(examples.store, account)
    assert "test user</span>" not in page
    assert len(shown) == 6


def test_explain_marks_a_test_user(examples: Panel) -> None:
    page = examples.page("/explain?account=testuser1")
    assert '<h2>testuser1 <span class="pill on">test user</span></h2>' in page
    shown = explained(page)
    assert shown == expected(examples.store, Account("testuser1"))
    assert shown["old_search"][0] is False  # the kill switch beats test users
    assert shown["new_checkout"] == (True, None, "test user")


def test_explain_uses_the_application_s_account_lookup(make_store: Any) -> None:
    store = make_store("memory", flagware.load_ruleset(EXAMPLES).to_dict())
    known = {"acct-5": Account("acct-5", number=2, attributes={"country": "NL", "plan": "pro"})}
    panel = Panel(admin_app(store, auth=BasicAuth(USER, PASSWORD), lookup_account=known.get), store)
    shown = explained(panel.page("/explain?account=acct-5"))
    assert shown == expected(store, known["acct-5"])
    assert shown["lucky_digits"][0] is True
    assert shown["dutch_promo"][0] is True
    # What the operator types overrides the looked-up values.
    shown = explained(
        panel.page(
            "/explain?" + urlencode({"account": "acct-5", "number": "3", "attributes": "plan=free"})
        )
    )
    assert shown == expected(
        store, Account("acct-5", number=3, attributes={"country": "NL", "plan": "free"})
    )


def test_explain_looks_accounts_up_off_the_event_loop(make_store: Any) -> None:
    """The application's lookup may query a database: it must not stall every request."""
    store = make_store("memory", flagware.load_ruleset(EXAMPLES).to_dict())

    def lookup(account_id: str) -> Account:
        with pytest.raises(RuntimeError):
            asyncio.get_running_loop()  # a worker thread has none
        return Account(account_id, number=2)

    panel = Panel(admin_app(store, auth=BasicAuth(USER, PASSWORD), lookup_account=lookup), store)
    assert explained(panel.page("/explain?account=acct-5"))["lucky_digits"][0] is True


def test_explain_says_when_the_account_lookup_fails(
    make_store: Any, caplog: pytest.LogCaptureFixture
) -> None:
    store = make_store("memory", flagware.load_ruleset(EXAMPLES).to_dict())

    def lookup(account_id: str) -> Account:
        raise ConnectionError("accounts db at postgres://app:s3cret@db/app is down")

    panel = Panel(admin_app(store, auth=BasicAuth(USER, PASSWORD), lookup_account=lookup), store)
    page = panel.page("/explain?account=acct-5")
    assert any("looking up account 'acct-5' failed" in e for e in errors(page))
    assert "s3cret" not in page  # the details go to the log, not to the page
    assert "explain-results" not in page  # no answers without the account's real attributes
    assert "s3cret" in caplog.text


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ({"account": "a", "number": "12x"}, "the account number must be a whole number, got '12x'"),
        ({"account": "a", "attributes": "country NL"}, "attribute lines look like key=value"),
        ({"account": "a", "attributes": "=NL"}, "attribute lines look like key=value"),
    ],
)
def test_explain_shows_what_it_cannot_read(
    examples: Panel, query: dict[str, str], problem: str
) -> None:
    response = examples.get("/explain?" + urlencode(query))
    assert response.status_code == 400  # what was typed cannot be read
    page = response.text
    assert any(problem in e for e in errors(page))
    assert "explain-results" not in page
    assert form(page.replace('method="get"', 'method="post"'), "/explain").value("account") == "a"


def test_explain_without_an_account_shows_only_the_form(examples: Panel) -> None:
    page = examples.page("/explain")
    assert "explain-results" not in page
    assert errors(page) == []


# --- History, changes and restore. ----------------------------------------------------------


def make_history(store: Store) -> None:
    """Versions 2-4 on top of the loaded version 1."""
    store.set_flag("beta", {"strategies": [{"type": "everyone"}]}, actor="bob")
    store.add_test_user("acct-9", actor="carol")
    store.delete_flag("pilot", actor="dave")


@on_both_stores
def test_the_history_lists_every_change_newest_first(panel: Panel) -> None:
    make_history(panel.store)
    page = panel.page("/history")
    versions = re.findall(r'<a href="/history/(\d+)">v\1</a>', page)
    assert versions == ["4", "3", "2", "1"]
    rows = re.findall(
        r"<tr>\s*<td><a[^>]*>v(\d+)</a></td>.*?<td>(.*?)</td>\s*<td>(.*?)</td>", page, re.S
    )
    assert [(v, who, what.split(" ·")[0]) for v, who, what in rows][:3] == [
        ("4", "dave", "delete_flag"),
        ("3", "carol", "add_test_user"),
        ("2", "bob", "set_flag"),
    ]
    assert "flags removed: pilot" in page
    assert "test users added: acct-9" in page
    # One flag's history lists only the changes that touched it.
    page = panel.page("/history?flag=beta")
    assert re.findall(r'<a href="/history/(\d+)">', page) == ["2", "1"]
    # The flag page shows its own history too.
    assert re.findall(r'<a href="/history/(\d+)">', panel.page("/flags/beta")) == ["2", "1"]


def test_a_change_page_shows_what_changed(panel: Panel) -> None:
    make_history(panel.store)
    page = html.unescape(panel.page("/history/2"))
    assert "set_flag by <strong>bob</strong>" in page
    # One titled diff per flag that changed.
    assert "<h3>flag beta</h3>" in page
    diff = re.search(r'<h3>flag beta</h3>\s*<pre class="diff">(.*?)</pre>', page, re.S)
    assert diff
    lines = [
        (kind, text[0] + " " + text[1:].strip())
        for kind, text in re.findall(r'<span class="(add|del)">([^<]*)</span>', diff.group(1))
    ]
    assert ("add", '+ "type": "everyone"') in lines
    assert ("del", '- "type": "percentage"') in lines
    assert ("del", '- "percent": 25,') in lines  # whole numbers shown without .0
    assert ("del", '- "description": "Beta features",') in lines
    assert not any("pilot" in text for _, text in lines)  # unchanged: not shown


def test_a_missing_version_is_a_404(panel: Panel) -> None:
    assert panel.get("/history/99").status_code == 404
    assert "There is no version 99 in the history." in panel.get("/history/99").text
    before = snapshot(panel.store)
    response = panel.post(
        "/history/99/restore", {"csrf_token": panel.token, "expected_version": "1"}
    )
    assert response.status_code == 404
    assert snapshot(panel.store) == before


@on_both_stores
def test_restore_brings_back_an_earlier_version_as_a_new_one(panel: Panel) -> None:
    store = panel.store
    first = store.ruleset().to_dict()
    make_history(store)
    response = panel.submit(panel.form("/history/1", "/history/1/restore"))
    assert redirected_to(response, "/history")
    assert response.headers["location"].endswith("?saved=5")
    assert store.version == 5
    assert store.ruleset().to_dict() == first
    change = store.history()[0]
    assert (change.version, change.action, change.actor) == (5, "restore 1", USER)
    assert "restore 1" in panel.page("/history")
    # The restored version is what is live: nothing left to restore.
    page = panel.page("/history/1")
    assert "This is what is live now." in page
    assert "/history/1/restore" not in page


def test_the_change_page_of_the_live_version_offers_no_restore(panel: Panel) -> None:
    make_history(panel.store)
    page = panel.page("/history/4")
    assert "This is what is live now." in page
    assert "/history/4/restore" not in page
    assert "/history/3/restore" in panel.page("/history/3")


# --- The flag list. -------------------------------------------------------------------------


def test_the_flag_list_finds_flags_and_names_their_last_change(panel: Panel) -> None:
    panel.store.set_flag("beta", {"strategies": [{"type": "everyone"}]}, actor="bob")
    page = panel.page("/")
    assert re.findall(r'<tr data-name="([^"]+)">', page) == ["beta", "other", "pilot"]
    row = re.search(r'<tr data-name="beta">.*?</tr>', page, re.S)
    assert row
    assert '<a href="/history/2">v2</a> by bob' in row.group(0)
    assert "everyone" in row.group(0)
    page = panel.page("/?q=ILO")
    assert re.findall(r'<tr data-name="([^"]+)">', page) == ["pilot"]
    assert "No flag matches “nothing”." in panel.page("/?q=nothing")


def test_repeating_a_kill_switch_or_test_user_change_writes_nothing(store: Store) -> None:
    panel = Panel.logged_in(store)
    flag = sorted(store.ruleset().flags)[0]
    panel.submit(panel.form(f"/flags/{flag}", f"/flags/{flag}/enabled"))
    version = store.version
    assert store.ruleset().flags[flag].enabled is False
    # The same form again, as a second click from a page that was not reloaded.
    repeated = panel.client.post(
        f"/flags/{flag}/enabled",
        data={"csrf_token": panel.token, "enabled": "off"},
        follow_redirects=True,
    )
    assert repeated.status_code == 200
    assert "Nothing changed" in repeated.text
    user = sorted(store.ruleset().test_users)[0]
    again = panel.client.post(
        "/test-users", data={"csrf_token": panel.token, "account": user}, follow_redirects=True
    )
    assert "Nothing changed" in again.text
    assert store.version == version
