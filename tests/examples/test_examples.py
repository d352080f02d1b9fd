"""The example apps, in-process: bundled ruleset, accounts by header or login, overrides,
and what they must never do (sign anything with a published secret, let the login secret
mint override tokens, keep a login that was turned off).

Each app is imported afresh under a controlled environment, as a new server process
would import it, so the environment an app starts with is the one the test chose.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import io
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from itsdangerous import URLSafeSerializer

from examples import demo
from flagware.overrides import issue_override_token
from tests.processes import REPO_ROOT

# What the examples signed login cookies and override tokens with before issue 9: public.
PUBLISHED_SECRET = "flagware-demo-secret-change-me"
LOGIN_SALT = "flagware-demo-login"  # the login cookie's salt, unchanged
TOKEN_COOKIE = "flagware_override"
EXAMPLE_ENV = (
    "FLAGWARE_DEMO_SECRET",
    "FLAGWARE_TOKEN_SECRET",
    "FLAGWARE_DEMO_LOGIN",
    "FLAGWARE_RULES",
    "FLAGWARE_REDIS_URL",
    "FLAGWARE_NAMESPACE",
    "FLAGWARE_ADMIN_USER",
    "FLAGWARE_ADMIN_PASSWORD",
)


def signed_login(secret: str, account_id: str) -> str:
    """A login cookie for ``account_id`` as anyone who knows ``secret`` can make one."""
    return URLSafeSerializer(secret, salt=LOGIN_SALT).dumps(account_id)


def secret_file(cache: Path) -> Path:
    return cache / "flagware" / "demo-login-secret"


# --- Starting the examples. -----------------------------------------------------------------


@dataclass
class Started:
    """Both example apps as one process started them, and what they said at start."""

    flask: Any
    starlette: Any
    stderr: str
    cache: Path

    def flask_get(self, path: str, headers: dict[str, str] | None = None) -> Any:
        # No cookie jar: the jar would replace the Cookie header the test sends.
        return self.flask.test_client(use_cookies=False).get(path, headers=headers or {})

    def flask_login(self, account_id: str) -> Any:
        client = self.flask.test_client(use_cookies=False)
        return client.post("/login", data={"account": account_id})

    def starlette_get(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return asgi_request(self.starlette, "GET", path, headers=headers or {})

    def starlette_login(self, account_id: str) -> httpx.Response:
        return asgi_request(self.starlette, "POST", "/login", data={"account": account_id})

    def accounts(self, headers: dict[str, str]) -> tuple[str | None, str | None]:
        """The account each app resolves for a request with ``headers``."""
        flask = self.flask_get("/api/flags", headers).get_json()["account"]
        starlette = self.starlette_get("/api/flags", headers).json()["account"]
        return flask, starlette

    def flags(self, headers: dict[str, str]) -> tuple[dict[str, bool], dict[str, bool]]:
        flask = self.flask_get("/api/flags", headers).get_json()["flags"]
        starlette = self.starlette_get("/api/flags", headers).json()["flags"]
        return flask, starlette


def asgi_request(app: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://example") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(go())


def _example_modules() -> dict[str, Any]:
    return {n: m for n, m in sys.modules.items() if n == "examples" or n.startswith("examples.")}


@contextlib.contextmanager
def started(cache: Path, **env: str) -> Iterator[Started]:
    """Both examples imported afresh with only ``env`` of their settings set (and their
    cache directory at ``cache``); the modules imported before are put back afterwards."""
    saved = _example_modules()
    stderr = io.StringIO()
    modules: list[Any] = []
    try:
        with pytest.MonkeyPatch.context() as patch:
            for name in EXAMPLE_ENV:
                patch.delenv(name, raising=False)
            patch.setenv("XDG_CACHE_HOME", str(cache))
            for name, value in env.items():
                patch.setenv(name, value)
            for name in saved:
                del sys.modules[name]
            with contextlib.redirect_stderr(stderr):
                modules.append(importlib.import_module("examples.flask_app.app"))
                modules.append(importlib.import_module("examples.starlette_app.app"))
        yield Started(modules[0].app, modules[1].app, stderr.getvalue(), cache)
    finally:
        for module in modules:
            module.store.close()
        for name in _example_modules():
            del sys.modules[name]
        sys.modules.update(saved)


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Started]:
    """The examples as a fresh clone starts them: no settings in the environment at all."""
    with started(tmp_path_factory.mktemp("cache")) as apps:
        yield apps


@pytest.fixture(scope="module")
def flask_client(examples: Started) -> Any:
    return examples.flask.test_client()


@pytest.fixture(scope="module")
def starlette_app(examples: Started) -> Any:
    return examples.starlette


def starlette_get(app: Any, path: str, **kwargs: Any) -> httpx.Response:
    return asgi_request(app, "GET", path, **kwargs)


# --- What the examples serve. ---------------------------------------------------------------


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


def test_flask_page_and_endpoint_tell_the_browser_client_flags_only(flask_client: Any) -> None:
    tester = {"X-Account-Id": "testuser1"}
    page = flask_client.get("/", headers=tester).text
    assert '<script type="application/json" id="flagware-flags">' in page
    assert '{"flags":{"dark_mode":true},"variants":{}}' in page
    response = flask_client.get("/flagware/flags.json", headers=tester)
    assert response.get_json() == {"flags": {"dark_mode": True}, "variants": {}}
    assert response.headers["Cache-Control"] == "private, no-store"
    off = flask_client.get(
        "/flagware/flags.json", headers={**tester, "X-Flagware-Override": "dark_mode=off"}
    )
    assert off.get_json()["flags"] == {"dark_mode": False}


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


def test_starlette_login_cookie_identifies_the_account(examples: Started) -> None:
    response = examples.starlette_login("testuser2")
    assert response.status_code == 303
    cookie = response.cookies[demo.SESSION_COOKIE]
    assert examples.accounts({"Cookie": f"{demo.SESSION_COOKIE}={cookie}"}) == (
        "testuser2",
        "testuser2",
    )


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


# --- No published secret. -------------------------------------------------------------------


def test_a_login_cookie_signed_with_the_old_published_default_is_refused(
    examples: Started,
) -> None:
    for account in ("testuser1", "acct-42"):
        forged = {"Cookie": f"{demo.SESSION_COOKIE}={signed_login(PUBLISHED_SECRET, account)}"}
        assert examples.accounts(forged) == (None, None)


def test_an_override_token_signed_with_the_old_published_default_is_refused(
    examples: Started,
) -> None:
    token = issue_override_token(PUBLISHED_SECRET, "acct-42", {"new_checkout": False})
    headers = {"X-Account-Id": "acct-42", "Cookie": f"{TOKEN_COOKIE}={token}"}
    flask, starlette = examples.flags(headers)
    assert flask["new_checkout"] is True
    assert starlette["new_checkout"] is True
    assert "X-Flagware-Overrides-Applied" not in examples.flask_get("/api/flags", headers).headers


def test_without_a_secret_the_login_secret_is_generated_into_a_private_file(
    examples: Started,
) -> None:
    path = secret_file(examples.cache)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    secret = path.read_text().strip()
    assert len(secret) >= 43
    name, value = examples.flask_login("testuser1").headers["Set-Cookie"].split(";")[0].split("=")
    assert name == demo.SESSION_COOKIE
    assert value == signed_login(secret, "testuser1")
    assert "demo-login-secret" in examples.stderr  # it says where the secret is


def test_the_generated_secret_is_kept_across_restarts(tmp_path: Path) -> None:
    with started(tmp_path) as first:
        cookie = first.flask_login("testuser1").headers["Set-Cookie"].split(";")[0]
    kept = secret_file(tmp_path).read_text()
    with started(tmp_path) as restarted:
        assert restarted.accounts({"Cookie": cookie}) == ("testuser1", "testuser1")
    assert secret_file(tmp_path).read_text() == kept


MINT_LOGIN = """
import sys
from examples.flask_app.app import app
response = app.test_client().post("/login", data={"account": "testuser1"})
print(response.headers["Set-Cookie"].split(";")[0])
"""


def test_server_processes_started_at_once_agree_on_the_generated_secret(tmp_path: Path) -> None:
    """What gunicorn does without --preload: each worker imports the app on its own, at
    the same moment, into a cache directory with no secret yet. They must agree, so a
    login one worker hands out works on every other."""
    env = {k: v for k, v in os.environ.items() if k not in EXAMPLE_ENV}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", MINT_LOGIN],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=60) for p in processes]
    assert [p.returncode for p in processes] == [0] * 4, [err for _, err in outputs]
    cookies = {out.strip() for out, _ in outputs}
    assert len(cookies) == 1  # the same secret signed them all (signing is deterministic)
    (cookie,) = cookies
    name, value = cookie.split("=", 1)
    assert name == demo.SESSION_COOKIE
    assert value == signed_login(secret_file(tmp_path).read_text().strip(), "testuser1")
    assert value != signed_login(PUBLISHED_SECRET, "testuser1")
    assert list(tmp_path.joinpath("flagware").iterdir()) == [secret_file(tmp_path)]


def test_a_secret_file_others_can_read_is_not_used(tmp_path: Path) -> None:
    known = "A" * 43
    path = secret_file(tmp_path)
    path.parent.mkdir(mode=0o700)
    path.write_text(known + "\n")
    path.chmod(0o644)
    with started(tmp_path) as apps:
        forged = {"Cookie": f"{demo.SESSION_COOKIE}={signed_login(known, 'testuser1')}"}
        assert apps.accounts(forged) == (None, None)
        assert str(path) in apps.stderr
        # Logins still work, signed with a secret of this app's process alone.
        cookie = apps.flask_login("acct-7").headers["Set-Cookie"].split(";")[0]
        assert apps.flask_get("/api/flags", {"Cookie": cookie}).get_json()["account"] == "acct-7"
        cookie = apps.starlette_login("acct-7").headers["set-cookie"].split(";")[0]
        assert apps.starlette_get("/api/flags", {"Cookie": cookie}).json()["account"] == "acct-7"
    assert path.read_text() == known + "\n"  # left for its owner to look at


def test_a_chosen_login_secret_signs_the_login(tmp_path: Path) -> None:
    with started(tmp_path, FLAGWARE_DEMO_SECRET="chosen-login-secret") as apps:
        cookie = apps.flask_login("acct-555").headers["Set-Cookie"].split(";")[0]
        assert cookie == f"{demo.SESSION_COOKIE}={signed_login('chosen-login-secret', 'acct-555')}"
        assert apps.accounts({"Cookie": cookie}) == ("acct-555", "acct-555")
    assert not secret_file(tmp_path).exists()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"FLAGWARE_DEMO_SECRET": PUBLISHED_SECRET}, "FLAGWARE_DEMO_SECRET"),
        ({"FLAGWARE_TOKEN_SECRET": PUBLISHED_SECRET}, "FLAGWARE_TOKEN_SECRET"),
        ({"FLAGWARE_DEMO_SECRET": "same", "FLAGWARE_TOKEN_SECRET": "same"}, "must differ"),
        ({"FLAGWARE_DEMO_LOGIN": "of"}, "FLAGWARE_DEMO_LOGIN"),
    ],
)
def test_settings_the_examples_refuse_to_start_with(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    with pytest.raises(SystemExit, match=message):
        demo.settings_from_env({"XDG_CACHE_HOME": str(tmp_path), **env}, out=io.StringIO())


# --- Override tokens have a secret of their own. --------------------------------------------


def _token_headers(secret: str, account: str = "acct-42") -> dict[str, str]:
    token = issue_override_token(secret, account, {"new_checkout": False})
    return {"X-Account-Id": account, "Cookie": f"{TOKEN_COOKIE}={token}"}


def test_override_tokens_are_off_without_a_token_secret_and_it_says_so(tmp_path: Path) -> None:
    with started(tmp_path, FLAGWARE_DEMO_SECRET="login-secret-for-tests") as apps:
        assert "override tokens are off" in apps.stderr
        assert apps.stderr.count("FLAGWARE_TOKEN_SECRET") == 2  # once for each app's start
        # Signed with the login's secret: refused, by both apps.
        flask, starlette = apps.flags(_token_headers("login-secret-for-tests"))
        assert flask["new_checkout"] is True
        assert starlette["new_checkout"] is True


def test_a_token_signed_with_the_generated_login_secret_is_refused(tmp_path: Path) -> None:
    with started(tmp_path, FLAGWARE_TOKEN_SECRET="token-secret-for-tests") as apps:
        login_secret = secret_file(tmp_path).read_text().strip()
        flask, starlette = apps.flags(_token_headers(login_secret))
        assert flask["new_checkout"] is True
        assert starlette["new_checkout"] is True
        # While a token from the token secret works, in both apps.
        flask, starlette = apps.flags(_token_headers("token-secret-for-tests"))
        assert flask["new_checkout"] is False
        assert starlette["new_checkout"] is False


def test_tokens_verify_with_the_token_secret_only(tmp_path: Path) -> None:
    env = {
        "FLAGWARE_DEMO_SECRET": "login-secret-for-tests",
        "FLAGWARE_TOKEN_SECRET": "token-secret-for-tests",
    }
    with started(tmp_path, **env) as apps:
        assert "override tokens are off" not in apps.stderr
        granted = _token_headers("token-secret-for-tests")
        flask, starlette = apps.flags(granted)
        assert flask["new_checkout"] is False
        assert starlette["new_checkout"] is False
        response = apps.flask_get("/api/flags", granted)
        assert response.headers["X-Flagware-Overrides-Applied"] == "new_checkout=off"
        for wrong in ("login-secret-for-tests", PUBLISHED_SECRET):
            flask, starlette = apps.flags(_token_headers(wrong))
            assert flask["new_checkout"] is True
            assert starlette["new_checkout"] is True


# --- The demo login says what it is, and can be turned off. ---------------------------------

BANNER = "demo login: anyone can log in as any account, test users included — never deploy this"


def test_the_demo_login_warns_at_start_and_on_the_page(examples: Started) -> None:
    assert "never deploy this" in examples.stderr
    assert "FLAGWARE_DEMO_LOGIN=off" in examples.stderr
    assert BANNER in examples.flask_get("/").data.decode()
    assert BANNER in examples.starlette_get("/").text
    assert 'action="/login"' in examples.flask_get("/").data.decode()
    assert 'action="/login"' in examples.starlette_get("/").text


def test_with_the_demo_login_off_logging_in_does_nothing(tmp_path: Path) -> None:
    secret = "login-secret-for-tests"
    with started(tmp_path, FLAGWARE_DEMO_LOGIN="off", FLAGWARE_DEMO_SECRET=secret) as apps:
        assert "never deploy this" not in apps.stderr
        flask_login = apps.flask_login("testuser1")
        starlette_login = apps.starlette_login("testuser1")
        assert "Set-Cookie" not in flask_login.headers
        assert "set-cookie" not in starlette_login.headers
        assert flask_login.status_code == starlette_login.status_code == 404
        # Even a cookie signed with the very secret the login would use identifies nobody.
        valid = {"Cookie": f"{demo.SESSION_COOKIE}={signed_login(secret, 'testuser1')}"}
        assert apps.accounts(valid) == (None, None)
        for page in (apps.flask_get("/").data.decode(), apps.starlette_get("/").text):
            assert 'action="/login"' not in page
            assert BANNER not in page
        # The gateway's header still identifies accounts.
        assert apps.accounts({"X-Account-Id": "testuser1"}) == ("testuser1", "testuser1")
    assert not secret_file(tmp_path).exists()


# --- From a fresh clone: `python -m examples.flask_app`, no environment. --------------------


def test_python_m_examples_flask_app_runs_with_no_environment(tmp_path: Path) -> None:
    import http.client

    from tests.processes import free_port, serving

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in EXAMPLE_ENV}
    env.update(XDG_CACHE_HOME=str(tmp_path), PORT=str(port), PYTHONUNBUFFERED="1")
    env.pop("PYTHONWARNINGS", None)

    def get(path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", path, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.read().decode()
        finally:
            conn.close()

    log = tmp_path / "server.log"
    command = [sys.executable, "-m", "examples.flask_app"]
    with serving(command, env, lambda: get("/ping")[0] == 200, log):
        status, body = get("/api/flags", {"X-Account-Id": "testuser1"})
        assert status == 200
        assert '"account":"testuser1"' in body.replace(" ", "")
        assert BANNER in get("/")[1]
    printed = log.read_text()
    assert "never deploy this" in printed
    assert "override tokens are off" in printed
    assert secret_file(tmp_path).exists()
