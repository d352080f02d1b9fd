"""Every write needs the panel's own token and, when the browser says where it comes from,
the panel's own origin: another site cannot make a logged-in operator's browser write."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import HTTPConnection
from starlette.routing import Mount

from flagware import Store
from flagware.admin import BasicAuth, admin_app
from flagware.admin.guard import CSRF_COOKIE
from tests.admin.pages import Fields, form
from tests.admin.support import ORIGIN, PASSWORD, USER, Panel, on_both_stores, snapshot

# Each write route with the fields of a valid write, read from the page that holds its form.
WriteRoute = Callable[[Panel], tuple[str, Fields]]


def create_flag(panel: Panel) -> tuple[str, Fields]:
    return "/flags", panel.form("/", "/flags").submission(name="fresh", description="new")


def save_flag(panel: Panel) -> tuple[str, Fields]:
    found = panel.form("/flags/beta", "/flags/beta")
    return "/flags/beta", found.submission(("save", "1"), s0__percent="30")


def set_enabled(panel: Panel) -> tuple[str, Fields]:
    return "/flags/beta/enabled", panel.form("/flags/beta", "/flags/beta/enabled").submission()


def delete_flag(panel: Panel) -> tuple[str, Fields]:
    return "/flags/beta/delete", panel.form("/flags/beta", "/flags/beta/delete").submission()


def add_test_user(panel: Panel) -> tuple[str, Fields]:
    return "/test-users", panel.forms("/test-users", "/test-users")[0].submission(account="acct-9")


def restore(panel: Panel) -> tuple[str, Fields]:
    panel.store.set_flag("other", {"strategies": []}, actor="bob")
    return "/history/1/restore", panel.form("/history/1", "/history/1/restore").submission()


WRITES = [create_flag, save_flag, set_enabled, delete_flag, add_test_user, restore]
writes = pytest.mark.parametrize("write", WRITES, ids=lambda w: w.__name__)


@writes
@on_both_stores
def test_the_panels_own_form_is_accepted(panel: Panel, write: WriteRoute) -> None:
    path, fields = write(panel)
    version = panel.store.version
    response = panel.post(path, fields, headers={"Origin": ORIGIN})
    assert response.status_code == 303, response.text
    assert panel.store.version == version + 1
    assert panel.store.history()[0].actor == USER


@writes
def test_the_panels_own_form_without_an_origin_header_is_accepted(
    panel: Panel, write: WriteRoute
) -> None:
    path, fields = write(panel)
    assert panel.post(path, fields).status_code == 303


@writes
@on_both_stores
def test_a_write_without_the_token_is_refused(panel: Panel, write: WriteRoute) -> None:
    path, fields = write(panel)
    del fields["csrf_token"]
    before = snapshot(panel.store)
    response = panel.post(path, fields)
    assert response.status_code == 403
    assert "carries no security token" in response.text
    assert snapshot(panel.store) == before


@writes
def test_an_empty_token_is_refused(panel: Panel, write: WriteRoute) -> None:
    path, fields = write(panel)
    before = snapshot(panel.store)
    assert panel.post(path, {**fields, "csrf_token": ""}).status_code == 403
    assert snapshot(panel.store) == before


@writes
def test_a_token_that_does_not_match_the_cookie_is_refused(panel: Panel, write: WriteRoute) -> None:
    path, fields = write(panel)
    before = snapshot(panel.store)
    # Another browser's token: valid-looking, but not this browser's cookie.
    other = Panel(panel.client.app, panel.store)
    response = panel.post(path, {**fields, "csrf_token": other.token})
    assert response.status_code == 403
    assert "does not match" in response.text
    assert snapshot(panel.store) == before


@writes
def test_a_write_without_the_cookie_is_refused(panel: Panel, write: WriteRoute) -> None:
    path, fields = write(panel)
    before = snapshot(panel.store)
    panel.client.cookies.clear()
    response = panel.post(path, fields)
    assert response.status_code == 403
    assert snapshot(panel.store) == before


@writes
@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "http://testserver.evil.example", "https://testserver",
     "http://testserver:8080",
     "null"],  # a sandboxed iframe on any site, e.g. a sibling subdomain that set the cookie
)  # fmt: skip
def test_a_write_from_another_origin_is_refused_even_with_the_token(
    panel: Panel, write: WriteRoute, origin: str
) -> None:
    path, fields = write(panel)
    before = snapshot(panel.store)
    response = panel.post(path, fields, headers={"Origin": origin})
    assert response.status_code == 403
    assert "another site" in response.text
    assert snapshot(panel.store) == before


def test_a_get_never_writes(panel: Panel) -> None:
    before = snapshot(panel.store)
    for path in ("/flags/beta/enabled", "/flags/beta/delete", "/history/1/restore"):
        assert panel.get(path).status_code == 405
    assert panel.get("/flags/beta?enabled=off&add=percentage").status_code == 200
    assert snapshot(panel.store) == before


def test_the_cookie_is_http_only_strict_and_scoped_to_the_panel(store: Store) -> None:
    panel = Panel(admin_app(store, auth=BasicAuth(USER, PASSWORD)), store)
    cookie = panel.get("/").headers["set-cookie"]
    parts = [p.strip().lower() for p in cookie.split(";")]
    assert parts[0].startswith(f"{CSRF_COOKIE}=")
    assert len(parts[0].split("=", 1)[1]) >= 32
    assert "httponly" in parts
    assert "samesite=strict" in parts
    assert "path=/" in parts
    assert "secure" not in parts  # plain http here; https adds it (below)
    # Once set, the cookie is kept: the forms of pages already open stay valid.
    token = panel.token
    assert "set-cookie" not in panel.get("/flags/beta").headers
    assert panel.token == token

    https = Panel(admin_app(store, auth=BasicAuth(USER, PASSWORD)), store)
    https.client.base_url = "https://testserver"
    assert "secure" in https.get("/").headers["set-cookie"].lower().split("; ")


def test_mounted_the_cookie_is_scoped_to_the_mount_path(store: Store) -> None:
    app = Starlette(
        routes=[Mount("/flagware", app=admin_app(store, auth=BasicAuth(USER, PASSWORD)))]
    )
    panel = Panel(app, store, prefix="/flagware")
    cookie = panel.get("/").headers["set-cookie"].lower().split("; ")
    assert "path=/flagware" in cookie
    assert "httponly" in cookie
    assert "samesite=strict" in cookie


def test_a_short_or_forged_cookie_is_replaced_by_a_fresh_token(panel: Panel) -> None:
    panel.client.cookies.set(CSRF_COOKIE, "short")
    response = panel.get("/")
    assert "set-cookie" in response.headers
    token = form(response.text, "/flags").value("csrf_token")
    assert token != "short"
    assert len(token) >= 32


# --- The token is bound to the operator with a server-side secret. ---------------------------


def by_header(conn: HTTPConnection) -> str | None:
    """An authenticator an application might write: the gateway names the operator."""
    return conn.headers.get("x-operator") or None


def plant(panel: Panel, value: str) -> None:
    """Put ``value`` in the browser's CSRF cookie (as a sibling subdomain could), replacing
    the one the panel set: same domain and path, so the browser sends only this one."""
    panel.client.cookies.clear()
    panel.client.cookies.set(CSRF_COOKIE, value, domain="testserver.local", path="/")


def posted_kill_switch(panel: Panel, token: str, **headers: str) -> httpx2.Response:
    return panel.post(
        "/flags/beta/enabled", {"csrf_token": token, "enabled": "off"}, headers=headers
    )


@writes
@pytest.mark.parametrize("value", ["x", "a" * 32, "a" * 64, "A" * 22 + "." + "B" * 43, "."])
def test_a_cookie_the_panel_did_not_issue_is_never_accepted(
    panel: Panel, write: WriteRoute, value: str
) -> None:
    path, fields = write(panel)
    before = snapshot(panel.store)
    plant(panel, value)
    response = panel.post(path, {**fields, "csrf_token": value})  # the form repeats it
    assert response.status_code == 403
    assert "not issued to you" in response.text
    assert snapshot(panel.store) == before
    # ... and the refusal already hands out a fresh, real token.
    assert panel.client.cookies[CSRF_COOKIE] != value
    found = panel.form("/flags/beta", "/flags/beta/enabled")
    assert panel.submit(found).status_code == 303


def test_a_planted_cookie_is_replaced_on_the_next_page(panel: Panel) -> None:
    planted = "p" * 40  # long enough to have been kept before
    plant(panel, planted)
    response = panel.get("/flags/beta")
    assert f"{CSRF_COOKIE}=" in response.headers["set-cookie"]
    token = form(response.text, "/flags/beta/enabled").value("csrf_token")
    assert token != planted
    assert panel.client.cookies[CSRF_COOKIE] == token
    assert "set-cookie" not in panel.get("/").headers  # a real one is kept


def test_another_operators_token_is_refused_and_replaced(store: Store) -> None:
    app = admin_app(store, auth=by_header)
    ann, bob = Panel(app, store), Panel(app, store)
    ann.client.headers["x-operator"] = "ann"
    bob.client.headers["x-operator"] = "bob"
    anns = ann.token
    before = snapshot(store)
    plant(bob, anns)  # e.g. a shared machine, or planted
    response = posted_kill_switch(bob, anns)
    assert response.status_code == 403
    assert "not issued to you" in response.text
    assert snapshot(store) == before
    assert bob.token != anns
    assert posted_kill_switch(bob, bob.token).status_code == 303
    assert store.history()[0].actor == "bob"
    assert "set-cookie" not in ann.get("/").headers  # ann's own token is still good


def test_panels_with_the_same_login_accept_each_others_tokens(store: Store) -> None:
    """Several processes behind one load balancer: BasicAuth derives the secret from the
    credentials, so they agree without configuration; another login does not."""
    first = Panel.logged_in(store)
    token = first.token
    second = Panel(admin_app(store, auth=BasicAuth(USER, PASSWORD)), store)
    plant(second, token)
    assert "set-cookie" not in second.get("/").headers
    assert posted_kill_switch(second, token).status_code == 303

    other = Panel(admin_app(store, auth=BasicAuth(USER, "another password")), store)
    other.client.auth = (USER, "another password")
    plant(other, token)
    before = snapshot(store)
    response = other.post("/flags/beta/enabled", {"csrf_token": token, "enabled": "on"})
    assert response.status_code == 403
    assert snapshot(store) == before


def test_csrf_secret_is_what_signs_the_tokens(store: Store) -> None:
    def panel(secret: str | bytes) -> Panel:
        made = Panel(admin_app(store, auth=by_header, csrf_secret=secret), store)
        made.client.headers["x-operator"] = "ann"
        return made

    token = panel("one secret").token
    same = panel(b"one secret")
    plant(same, token)
    assert posted_kill_switch(same, token).status_code == 303
    another = panel("another secret")
    plant(another, token)
    assert posted_kill_switch(another, token).status_code == 403
    for bad in ("", b""):
        with pytest.raises(ValueError, match="csrf_secret"):
            admin_app(store, auth=by_header, csrf_secret=bad)


def test_without_a_secret_a_custom_login_gets_a_per_process_one_noted_once() -> None:
    """In a fresh process: two panels share the process's secret, and the INFO note that
    several processes need csrf_secret= is logged once."""
    script = textwrap.dedent(
        """
        import logging
        from starlette.testclient import TestClient
        from flagware import MemoryStore
        from flagware.admin import admin_app

        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
        auth = lambda conn: "ann"
        store = MemoryStore({"flags": {"beta": {}}})
        first = TestClient(admin_app(store, auth=auth))
        second = TestClient(admin_app(store, auth=auth))
        first.get("/")
        token = first.cookies["flagware_admin_csrf"]
        second.cookies.set("flagware_admin_csrf", token)
        answer = second.post(
            "/flags/beta/enabled", data={"csrf_token": token, "enabled": "off"},
            follow_redirects=False,
        )
        print("status", answer.status_code)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "status 303" in result.stdout
    notes = [line for line in result.stderr.splitlines() if "csrf_secret=" in line]
    assert len(notes) == 1, result.stderr
    assert notes[0].startswith("INFO ")


# --- Where the write comes from: Origin, else Referer. ----------------------------------------


@writes
@pytest.mark.parametrize(
    "referer",
    ["https://evil.example/page", "http://testserver.evil.example/", "http://testserver:8080/",
     "https://testserver/flags/beta", "null", "not a url"],
)  # fmt: skip
def test_without_an_origin_a_foreign_referer_is_refused(
    panel: Panel, write: WriteRoute, referer: str
) -> None:
    path, fields = write(panel)
    before = snapshot(panel.store)
    response = panel.post(path, fields, headers={"Referer": referer})
    assert response.status_code == 403
    assert "another site" in response.text
    assert snapshot(panel.store) == before


@writes
def test_without_an_origin_the_panels_own_referer_is_accepted(
    panel: Panel, write: WriteRoute
) -> None:
    path, fields = write(panel)
    # Own origin, foreign referer: refused; own referer (any page of it): accepted.
    assert panel.post(path, fields, headers={"Referer": "http://evil.example/"}).status_code == 403
    own = panel.post(path, fields, headers={"Referer": f"{ORIGIN}/flags/beta?x=1"})
    assert own.status_code == 303


@pytest.fixture
def https(store: Store) -> Panel:
    panel = Panel(admin_app(store, auth=BasicAuth(USER, PASSWORD)), store)
    panel.client.base_url = "https://testserver"
    return panel


def test_over_https_a_write_must_say_where_it_comes_from(https: Panel) -> None:
    token, before = https.token, snapshot(https.store)
    response = posted_kill_switch(https, token)  # neither Origin nor Referer
    assert response.status_code == 403
    assert "does not say which page sent it" in response.text
    assert posted_kill_switch(https, token, Referer="http://testserver/").status_code == 403
    assert snapshot(https.store) == before
    assert posted_kill_switch(
        https, token, Referer="https://testserver/flags/beta"
    ).status_code == (303)
    assert (
        https.post(
            "/flags/beta/enabled",
            {"csrf_token": token, "enabled": "on"},
            headers={"Origin": "https://testserver"},
        ).status_code
        == 303
    )


@pytest.mark.parametrize(
    "headers",
    [
        [("Origin", ORIGIN), ("Origin", "https://evil.example")],
        [("Origin", ORIGIN), ("Origin", ORIGIN)],
        [("Referer", f"{ORIGIN}/"), ("Referer", "https://evil.example/")],
        [("Origin", ORIGIN), ("Referer", f"{ORIGIN}/"), ("Referer", f"{ORIGIN}/flags")],
    ],
)
def test_a_repeated_origin_or_referer_header_is_refused(
    panel: Panel, headers: list[tuple[str, str]]
) -> None:
    before = snapshot(panel.store)
    response = panel.client.post(
        "/flags/beta/enabled",
        data={"csrf_token": panel.token, "enabled": "off"},
        headers=httpx2.Headers(headers),
    )
    assert response.status_code == 403
    assert "more than one" in response.text
    assert snapshot(panel.store) == before
