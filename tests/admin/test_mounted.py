"""Mounted in an application, every link, form and redirect of the panel carries the prefix."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from flagware import Store
from flagware.admin import BasicAuth, admin_app
from tests.admin.pages import links
from tests.admin.support import PASSWORD, USER, Panel, redirected_to

PREFIX = "/flagware"
PAGES = ["/", "/flags/beta", "/test-users", "/history", "/history/1", "/explain?account=a"]


@pytest.fixture
def mounted(store: Store) -> Panel:
    app = Starlette(
        routes=[
            Route("/", lambda request: PlainTextResponse("the application")),
            Mount(PREFIX, app=admin_app(store, auth=BasicAuth(USER, PASSWORD))),
        ]
    )
    return Panel(app, store, prefix=PREFIX)


@pytest.mark.parametrize("path", PAGES)
def test_every_link_and_form_stays_under_the_mount(mounted: Panel, path: str) -> None:
    found = links(mounted.page(path))
    assert found
    outside = [link for link in found if not link.startswith(PREFIX + "/")]
    assert outside == []


def test_the_stylesheet_and_script_load(mounted: Panel) -> None:
    page = mounted.page("/")
    assert f'href="{PREFIX}/static/admin.css"' in page
    css = mounted.get("/static/admin.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert ":root" in css.text
    assert mounted.get("/static/admin.js").status_code == 200


def test_the_application_outside_the_mount_is_untouched(mounted: Panel) -> None:
    response = mounted.client.get("/", auth=None)
    assert response.text == "the application"
    assert "set-cookie" not in response.headers


def test_writes_redirect_under_the_mount(mounted: Panel) -> None:
    response = mounted.submit(mounted.form("/flags/beta", "/flags/beta/enabled"))
    assert redirected_to(response, f"{PREFIX}/flags/beta")
    assert mounted.store.ruleset().flags["beta"].enabled is False

    response = mounted.submit(mounted.form("/", "/flags"), name="fresh")
    assert redirected_to(response, f"{PREFIX}/flags/fresh")

    response = mounted.save("fresh", description="Made under a mount")
    assert redirected_to(response, f"{PREFIX}/flags/fresh")
    assert mounted.store.ruleset().flags["fresh"].description == "Made under a mount"

    response = mounted.submit(mounted.form("/flags/fresh", "/flags/fresh/delete"))
    assert redirected_to(response, f"{PREFIX}/")

    response = mounted.submit(mounted.forms("/test-users", "/test-users")[0], account="acct-9")
    assert redirected_to(response, f"{PREFIX}/test-users")

    response = mounted.submit(mounted.form("/history/1", "/history/1/restore"))
    assert redirected_to(response, f"{PREFIX}/history")
    assert mounted.store.history()[0].action == "restore 1"


def test_following_the_redirect_shows_the_saved_page(mounted: Panel) -> None:
    found = mounted.form("/flags/beta", "/flags/beta/enabled")
    response = mounted.client.post(found.action, data=found.submission(), follow_redirects=True)
    assert response.status_code == 200
    assert str(response.url).startswith(f"http://testserver{PREFIX}/flags/beta?saved=")
    assert "Saved as version" in response.text
