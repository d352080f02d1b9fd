"""The example apps, in-process: bundled ruleset, accounts by header or login, overrides."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest

from examples import demo


@pytest.fixture(scope="module")
def flask_client() -> Iterator[Any]:
    from examples.flask_app.app import app, store

    yield app.test_client()
    store.close()


@pytest.fixture(scope="module")
def starlette_app() -> Iterator[Any]:
    from examples.starlette_app.app import app, store

    yield app
    store.close()


def starlette_get(app: Any, path: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://example") as client:
            return await client.get(path, **kwargs)

    return asyncio.run(go())


def test_flask_api_flags_for_a_test_user_and_anonymous(flask_client: Any) -> None:
    tester = flask_client.get("/api/flags", headers={"X-Account-Id": "testuser1"}).get_json()
    assert tester["account"] == "testuser1"
    assert tester["flags"]["new_checkout"] is True
    assert tester["flags"]["old_search"] is False
    assert tester["variants"]["checkout_button"] in {"control", "green"}
    anonymous = flask_client.get("/api/flags").get_json()
    assert anonymous == {
        "account": None,
        "flags": {**anonymous["flags"], "new_checkout": False},
        "variants": anonymous["variants"],
    }


def test_flask_page_shows_the_feature_only_to_released_accounts(flask_client: Any) -> None:
    assert b"New checkout" in flask_client.get("/", headers={"X-Account-Id": "acct-42"}).data
    assert b"Classic checkout" in flask_client.get("/", headers={"X-Account-Id": "acct-100"}).data


def test_flask_login_cookie_identifies_the_account(flask_client: Any) -> None:
    response = flask_client.post("/login", data={"account": "acct-42"})
    assert response.status_code == 302
    assert flask_client.get("/api/flags").get_json()["account"] == "acct-42"
    flask_client.post("/login", data={"account": ""})
    assert flask_client.get("/api/flags").get_json()["account"] is None


def test_flask_forged_login_cookie_is_anonymous(flask_client: Any) -> None:
    flask_client.set_cookie(demo.SESSION_COOKIE, "acct-42")
    try:
        assert flask_client.get("/api/flags").get_json()["account"] is None
    finally:
        flask_client.delete_cookie(demo.SESSION_COOKIE)


def test_flask_stream_sees_flags_in_every_chunk(flask_client: Any) -> None:
    body = flask_client.get("/stream", headers={"X-Account-Id": "acct-42"}).data.decode()
    assert body.count("new_checkout=True") == 5


def test_flask_test_user_override(flask_client: Any) -> None:
    headers = {"X-Account-Id": "testuser1", "X-Flagware-Override": "new_checkout=off"}
    response = flask_client.get("/api/flags", headers=headers)
    assert response.get_json()["flags"]["new_checkout"] is False
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["X-Flagware-Overrides-Applied"] == "new_checkout=off"


def test_starlette_api_flags(starlette_app: Any) -> None:
    body = starlette_get(starlette_app, "/api/flags", headers={"X-Account-Id": "acct-42"}).json()
    assert body["account"] == "acct-42"
    assert body["flags"]["new_checkout"] is True


def test_starlette_stream_and_override(starlette_app: Any) -> None:
    headers = {"X-Account-Id": "testuser2", "X-Flagware-Override": "new_checkout=off"}
    response = starlette_get(starlette_app, "/stream", headers=headers)
    assert response.text.count("new_checkout=False") == 5
    assert response.headers["vary"] == "X-Flagware-Override"


def test_starlette_page(starlette_app: Any) -> None:
    page = starlette_get(starlette_app, "/", headers={"X-Account-Id": "acct-7"}).text
    assert "New checkout" in page
    assert "Hello acct-7" in page


def test_examples_run_on_redis_when_a_url_is_set(
    redis_server: Any, namespace: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    import flagware

    monkeypatch.setenv("FLAGWARE_REDIS_URL", redis_server.url)
    monkeypatch.setenv("FLAGWARE_NAMESPACE", namespace)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    store = demo.store_from_env()
    try:
        assert isinstance(store, flagware.RedisStore)
        assert store.health().source == "redis"  # seeded with the bundled ruleset
        assert store.ruleset() == flagware.load_ruleset(demo.BUNDLED_RULES)
    finally:
        store.close()


def test_starlette_example_mounts_the_admin_panel_behind_a_login(starlette_app: Any) -> None:
    refused = starlette_get(starlette_app, "/flagware/")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Basic")
    wrong = starlette_get(starlette_app, "/flagware/", auth=("admin", "not-the-password"))
    assert wrong.status_code == 401


def test_admin_auth_takes_credentials_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FLAGWARE_ADMIN_USER", "ops")
    monkeypatch.setenv("FLAGWARE_ADMIN_PASSWORD", "chosen")
    assert demo.admin_auth().username == "ops"
    assert capsys.readouterr().err == ""
    monkeypatch.delenv("FLAGWARE_ADMIN_PASSWORD")
    generated = demo.admin_auth()
    printed = capsys.readouterr().err
    assert "password" in printed
    assert generated.username == "ops"
