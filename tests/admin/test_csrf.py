"""Every write needs the panel's own token and, when the browser says where it comes from,
the panel's own origin: another site cannot make a logged-in operator's browser write."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from starlette.applications import Starlette
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
