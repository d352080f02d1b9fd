"""``flagware admin`` signs its CSRF tokens with FLAGWARE_ADMIN_SECRET when it is set: panel
processes behind one load balancer accept each other's forms even with different logins,
and a panel that signs with another secret does not."""

from __future__ import annotations

import base64
import contextlib
import http.client
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from starlette.testclient import TestClient

from flagware.admin import BasicAuth, admin_app
from flagware.admin.guard import CSRF_COOKIE
from tests.cli.conftest import DOC, Live
from tests.processes import free_port, serving
from tests.redis_server import RedisServer

USER = "ops"
SECRET = "one secret for every panel process"
COOKIE = re.compile(rf"{CSRF_COOKIE}=([^;]+)")


def basic(password: str) -> dict[str, str]:
    token = base64.b64encode(f"{USER}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def request(
    port: int, method: str, path: str, headers: dict[str, str], body: str = ""
) -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path, body=body or None, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        conn.close()


@contextlib.contextmanager
def panel(
    redis_server: RedisServer, namespace: str, password: str, tmp_path: Path, secret: str
) -> Iterator[int]:
    """``flagware admin`` as its console script runs, on a port of its own."""
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("FLAGWARE_")
    } | {
        "FLAGWARE_REDIS_URL": redis_server.url,
        "FLAGWARE_NAMESPACE": namespace,
        "FLAGWARE_ADMIN_USER": USER,
        "FLAGWARE_ADMIN_PASSWORD": password,
        "FLAGWARE_ADMIN_SECRET": secret,
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }  # fmt: skip
    command = [str(Path(sys.executable).with_name("flagware")), "admin", "--port", str(port)]

    def ready() -> bool:
        return request(port, "GET", "/", basic(password))[0] == 200

    with serving(command, env, ready, tmp_path / f"admin-{port}.log"):
        yield port


def kill_switch(port: int, password: str, token: str) -> int:
    headers = {
        **basic(password),
        "Cookie": f"{CSRF_COOKIE}={token}",
        "Content-Type": "application/x-www-form-urlencoded",
        "Origin": f"http://127.0.0.1:{port}",
    }
    body = f"csrf_token={token}&enabled=off"
    return request(port, "POST", "/flags/dark_mode/enabled", headers, body)[0]


def test_panels_sharing_flagware_admin_secret_accept_each_others_forms(
    redis_server: RedisServer, namespace: str, live: Live, tmp_path: Path
) -> None:
    version = live.seed(DOC)
    with (
        panel(redis_server, namespace, "first password", tmp_path, SECRET) as first,
        panel(redis_server, namespace, "second password", tmp_path, SECRET) as second,
    ):
        _, headers, _ = request(first, "GET", "/flags/dark_mode", basic("first password"))
        match = COOKIE.search(headers.get("set-cookie", ""))
        assert match, headers
        token = match.group(1)

        # A panel signing with the credentials instead (no secret set): refused.
        with live.open() as store:
            own = TestClient(admin_app(store, auth=BasicAuth(USER, "second password")))
            own.cookies.set(CSRF_COOKIE, token)
            refused = own.post(
                "/flags/dark_mode/enabled",
                data={"csrf_token": token, "enabled": "off"},
                headers=basic("second password"),
                follow_redirects=False,
            )
        assert refused.status_code == 403
        assert live.read()[0] == version

        # The other process, another login, the same FLAGWARE_ADMIN_SECRET: accepted.
        assert kill_switch(second, "second password", token) == 303
        assert live.read()[0] == version + 1
