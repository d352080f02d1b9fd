"""Nobody reaches the panel without logging in: every route, every method, static files too."""

from __future__ import annotations

import base64
import logging
from typing import Any

import pytest
from starlette.requests import HTTPConnection
from starlette.testclient import TestClient

from flagware import Store
from flagware.admin import BasicAuth, admin_app
from tests.admin.support import PASSWORD, USER, Panel

ROUTES = [
    ("GET", "/"),
    ("GET", "/flags/beta"),
    ("GET", "/test-users"),
    ("GET", "/history"),
    ("GET", "/history/1"),
    ("GET", "/explain?account=acct-1"),
    ("GET", "/static/admin.css"),
    ("GET", "/static/admin.js"),
    ("GET", "/no-such-page"),
    ("POST", "/flags"),
    ("POST", "/flags/beta"),
    ("POST", "/flags/beta/enabled"),
    ("POST", "/flags/beta/delete"),
    ("POST", "/test-users"),
    ("POST", "/history/1/restore"),
]


def basic(credentials: bytes) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(credentials).decode()}


def anonymous(store: Store, auth: Any = None) -> TestClient:
    return TestClient(admin_app(store, auth=auth or BasicAuth(USER, PASSWORD)))


def test_the_panel_cannot_be_built_without_authentication(store: Store) -> None:
    with pytest.raises(ValueError, match="needs authentication"):
        admin_app(store, auth=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="callable"):
        admin_app(store, auth="ann:secret")  # type: ignore[arg-type]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_asks_for_credentials(store: Store, method: str, path: str) -> None:
    version = store.version
    response = anonymous(store).request(
        method, path, data={"name": "x"} if method == "POST" else None
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith('Basic realm="flagware admin"')
    assert "flagware_admin_csrf" not in response.headers.get("set-cookie", "")
    assert "beta" not in response.text
    assert response.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "admin.css" not in response.text
    assert store.version == version


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_a_wrong_password_is_refused_on_every_route(store: Store, method: str, path: str) -> None:
    response = anonymous(store).request(method, path, headers=basic(f"{USER}:wrong".encode()))
    assert response.status_code == 401


@pytest.mark.parametrize(
    "header",
    [
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(f"{USER}{PASSWORD}".encode()).decode(),  # no colon
        "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()[:-2],  # cut short
        "Bearer " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(),
        "Digest username=ann",
        "Basic",
        "Basic ",
        f"Basic {USER}:{PASSWORD}",  # not encoded
        base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(),  # no scheme
        "Basic " + base64.b64encode(f"{USER}:{PASSWORD}:".encode()).decode(),
        "Basic " + base64.b64encode(f"{USER.upper()}:{PASSWORD}".encode()).decode(),
    ],
)
def test_malformed_or_foreign_authorization_headers_are_refused(store: Store, header: str) -> None:
    response = anonymous(store).get("/", headers={"Authorization": header})
    assert response.status_code == 401


def test_the_right_credentials_open_every_page(store: Store) -> None:
    client = anonymous(store)
    for method, path in ROUTES:
        if method == "GET" and path != "/no-such-page":
            response = client.get(path, headers=basic(f"{USER}:{PASSWORD}".encode()))
            assert response.status_code == 200, path
    # The scheme is case-insensitive (RFC 7617), and a password may hold colons and UTF-8.
    client = anonymous(store, BasicAuth("zoë", "pass:wörd"))
    encoded = base64.b64encode("zoë:pass:wörd".encode()).decode()
    response = client.get("/", headers={"Authorization": f"basic {encoded}"})
    assert response.status_code == 200
    assert "signed in as <strong>zoë</strong>" in response.text


def test_basic_auth_refuses_names_it_cannot_check() -> None:
    with pytest.raises(ValueError, match="':'"):
        BasicAuth("ann:admin", "secret")
    with pytest.raises(ValueError, match="non-empty"):
        BasicAuth("ann", "")
    with pytest.raises(ValueError, match="non-empty"):
        BasicAuth("", "secret")
    assert "secret" not in repr(BasicAuth("ann", "secret"))


def by_header(conn: HTTPConnection) -> str | None:
    return conn.headers.get("x-operator")


async def by_header_async(conn: HTTPConnection) -> str | None:
    return conn.headers.get("x-operator")


@pytest.mark.parametrize("auth", [by_header, by_header_async], ids=["sync", "async"])
def test_a_custom_authenticator_names_the_operator_in_the_audit_history(
    store: Store, auth: Any
) -> None:
    panel = Panel(admin_app(store, auth=auth), store)
    panel.client.auth = None  # type: ignore[assignment]
    panel.client.headers["X-Operator"] = "carol"
    page = panel.page("/")
    assert "signed in as <strong>carol</strong>" in page
    response = panel.submit(panel.form("/flags/beta", "/flags/beta/enabled"))
    assert response.status_code == 303
    assert store.history()[0].actor == "carol"
    assert store.history()[0].action == "disable"


@pytest.mark.parametrize("auth", [by_header, by_header_async], ids=["sync", "async"])
@pytest.mark.parametrize("given", [None, ""], ids=["none", "empty"])
def test_a_custom_authenticator_refuses_with_none_or_an_empty_name(
    store: Store, auth: Any, given: str | None
) -> None:
    client = anonymous(store, auth)
    headers = {} if given is None else {"X-Operator": given}
    for path in ("/", "/static/admin.css"):
        response = client.get(path, headers=headers)
        assert response.status_code == 401
        # Only authenticators that define a challenge send one.
        assert "www-authenticate" not in response.headers
    response = client.post("/flags/beta/delete", headers=headers)
    assert response.status_code == 401
    assert "beta" in store.ruleset().flags


@pytest.mark.parametrize("returned", [42, b"ann", ["ann"]], ids=["int", "bytes", "list"])
def test_an_authenticator_returning_something_else_than_a_name_refuses(
    store: Store, returned: object
) -> None:
    response = anonymous(store, lambda conn: returned).get("/")
    assert response.status_code == 401


def test_an_authenticator_that_raises_refuses_instead_of_failing(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(conn: HTTPConnection) -> str:
        raise ConnectionError("the identity provider is down")

    async def broken_async(conn: HTTPConnection) -> str:
        raise ConnectionError("the identity provider is down")

    for auth in (broken, broken_async):
        with caplog.at_level(logging.ERROR, logger="flagware"):
            client = anonymous(store, auth)
            assert client.get("/").status_code == 401
            assert client.post("/flags/beta/delete").status_code == 401
    assert "authenticator raised" in caplog.text
    assert "beta" in store.ruleset().flags


def test_the_logged_in_user_is_the_actor_of_each_write(panel: Panel) -> None:
    response = panel.submit(panel.form("/flags/beta", "/flags/beta/enabled"))
    assert response.status_code == 303
    change = panel.store.history()[0]
    assert (change.actor, change.action) == (USER, "disable")
    assert f"signed in as <strong>{USER}</strong>" in panel.page("/")
