"""The example apps under real multi-worker servers, as people deploy what they copy:
gunicorn (2 sync workers, no ``--preload``) and uvicorn (``--workers 2``).

Each worker imports the app on its own. With no ``FLAGWARE_DEMO_SECRET`` they must still
agree on the generated login secret (a login one worker hands out works on the other),
and with ``FLAGWARE_TOKEN_SECRET`` set explicitly every worker honours the same override
tokens, and none honours a token signed with the login secret.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from itsdangerous import URLSafeSerializer

from flagware.overrides import issue_override_token
from tests.processes import free_port, serving
from tests.servers.conftest import NO_CONTROL_SOCKET
from tests.servers.example_apps import PID_HEADER

TOKEN_SECRET = "token-secret-for-the-server-tests"
SESSION_COOKIE = "flagware_demo_session"
TOKEN_COOKIE = "flagware_override"
EXAMPLE_ENV = (
    "FLAGWARE_DEMO_SECRET",
    "FLAGWARE_DEMO_LOGIN",
    "FLAGWARE_RULES",
    "FLAGWARE_REDIS_URL",
)
WORKERS = 2
MAX_REQUESTS = 2000  # until every worker has answered at least once (a busy machine can
# hand hundreds of connections in a row to one worker)


class Server:
    def __init__(self, port: int, cache: Path) -> None:
        self.port = port
        self.cache = cache

    def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: str = ""
    ) -> http.client.HTTPResponse:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body or None, headers=headers or {})
            response = conn.getresponse()
            response.read()
            return response
        finally:
            conn.close()

    def login(self, account_id: str) -> str:
        """The login cookie (``name=value``) a POST /login hands out."""
        response = self.request(
            "POST",
            "/login",
            {"Content-Type": "application/x-www-form-urlencoded"},
            urlencode({"account": account_id}),
        )
        assert response.status in (302, 303), response.status
        cookie = response.getheader("Set-Cookie") or ""
        assert cookie.startswith(SESSION_COOKIE + "="), cookie
        return cookie.split(";")[0]

    def every_worker(self, headers: dict[str, str]) -> dict[str, set[str]]:
        """GET /api/flags with ``headers`` until every worker answered; for each worker
        pid, the distinct bodies it answered with."""
        answers: dict[str, set[str]] = {}

        def one(_: int) -> tuple[str, str]:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                conn.request("GET", "/api/flags", headers=headers)
                response = conn.getresponse()
                body = response.read().decode()
                assert response.status == 200, (response.status, body)
                return response.getheader(PID_HEADER) or "?", body
            finally:
                conn.close()

        with ThreadPoolExecutor(max_workers=8) as pool:
            for _ in range(MAX_REQUESTS // 40):
                for pid, body in pool.map(one, range(40)):
                    answers.setdefault(pid, set()).add(body)
                if len(answers) >= WORKERS:
                    return answers
        raise AssertionError(f"only workers {sorted(answers)} answered {MAX_REQUESTS} requests")


def _command(kind: str, port: int) -> list[str]:
    if kind == "gunicorn":
        command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}"]
        command += ["--workers", str(WORKERS), "--worker-class", "sync", "--log-level", "warning"]
        if NO_CONTROL_SOCKET:
            command.append(NO_CONTROL_SOCKET)
        return [*command, "tests.servers.example_apps:flask_app"]
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(WORKERS),
        "--lifespan",
        "off",
        "--no-access-log",
        "--log-level",
        "warning",
        "tests.servers.example_apps:starlette_app",
    ]


@pytest.fixture(scope="module", params=["gunicorn", "uvicorn"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """An example app under a 2-worker server, with a cache directory of its own (no login
    secret in it yet), FLAGWARE_TOKEN_SECRET set, and no FLAGWARE_DEMO_SECRET."""
    directory = tmp_path_factory.mktemp(f"examples-{request.param}")
    cache = directory / "cache"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in EXAMPLE_ENV}
    env.update(
        XDG_CACHE_HOME=str(cache),
        FLAGWARE_TOKEN_SECRET=TOKEN_SECRET,
        PYTHONUNBUFFERED="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.pop("PYTHONWARNINGS", None)
    running = Server(port, cache)

    def ready() -> bool:
        return running.request("GET", "/ping").status == 200

    with serving(_command(request.param, port), env, ready, directory / "server.log"):
        yield running


def _accounts(answers: dict[str, set[str]]) -> dict[str, set[Any]]:
    return {
        pid: {json.loads(body)["account"] for body in bodies} for pid, bodies in answers.items()
    }


def test_every_worker_accepts_a_login_any_worker_handed_out(server: Server) -> None:
    cookie = server.login("testuser1")
    answers = server.every_worker({"Cookie": cookie})
    assert _accounts(answers) == {pid: {"testuser1"} for pid in answers}
    secret = (server.cache / "flagware" / "demo-login-secret").read_text().strip()
    signed = URLSafeSerializer(secret, salt="flagware-demo-login").dumps("testuser1")
    assert cookie == f"{SESSION_COOKIE}={signed}"


def test_every_worker_honours_a_token_from_the_token_secret(server: Server) -> None:
    token = issue_override_token(TOKEN_SECRET, "acct-42", {"new_checkout": False})
    headers = {"X-Account-Id": "acct-42", "Cookie": f"{TOKEN_COOKIE}={token}"}
    answers = server.every_worker(headers)
    for bodies in answers.values():
        assert {json.loads(body)["flags"]["new_checkout"] for body in bodies} == {False}


def test_no_worker_honours_a_token_signed_with_the_login_secret(server: Server) -> None:
    server.login("acct-7")  # the secret exists by now, whichever worker made it
    secret = (server.cache / "flagware" / "demo-login-secret").read_text().strip()
    token = issue_override_token(secret, "acct-42", {"new_checkout": False})
    headers = {"X-Account-Id": "acct-42", "Cookie": f"{TOKEN_COOKIE}={token}"}
    answers = server.every_worker(headers)
    for bodies in answers.values():
        assert {json.loads(body)["flags"]["new_checkout"] for body in bodies} == {True}
