"""Real servers on loopback ports: gunicorn (sync, gthread) and uvicorn, one per module.

Each fixture starts the server in a process group of its own, waits until it answers
``/health`` (bounded), yields its base URL, and at teardown terminates the group, then
kills it if it lingers, whatever happened in the tests.
"""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.processes import free_port, serving

REPO_ROOT = Path(__file__).resolve().parents[2]

WSGI_APP = "tests.servers.apps:wsgi_app"
ASGI_APP = "tests.servers.apps:asgi_app"


def _answers(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        conn.request("GET", "/health")
        response = conn.getresponse()
        response.read()
        return response.status == 200
    except OSError:
        return False
    finally:
        conn.close()


@contextlib.contextmanager
def run_server(command: list[str], port: int, log_path: Path) -> Iterator[str]:
    """Start ``command`` (which serves on ``port``), yield its base URL, always stop it."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONWARNINGS", None)
    with serving(command, env, lambda: _answers(port), log_path):
        yield f"http://127.0.0.1:{port}"


def _no_control_socket_flag() -> str | None:
    """Newer gunicorn opens a control socket in ~/.gunicorn unless told not to."""
    from gunicorn.config import KNOWN_SETTINGS

    for setting in KNOWN_SETTINGS:
        if "--no-control-socket" in (setting.cli or ()):
            return "--no-control-socket"
    return None


NO_CONTROL_SOCKET = _no_control_socket_flag()


def gunicorn_command(port: int, worker: str) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--worker-class",
        worker,
        "--timeout",
        "30",
        "--graceful-timeout",
        "2",
        "--keep-alive",
        "5",
        "--log-level",
        "warning",
    ]
    if worker == "gthread":
        command += ["--threads", "8"]
    if NO_CONTROL_SOCKET:
        command.append(NO_CONTROL_SOCKET)
    return [*command, WSGI_APP]


# uvicorn's implementation on the new websockets API, where this uvicorn has it.
WS_IMPLEMENTATION = (
    "websockets-sansio"
    if importlib.util.find_spec("uvicorn.protocols.websockets.websockets_sansio_impl")
    else "websockets"
)


def uvicorn_command(port: int, http: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--http",
        http,
        "--ws",
        WS_IMPLEMENTATION,
        "--lifespan",
        "off",
        "--timeout-keep-alive",
        "5",
        "--no-access-log",
        "--log-level",
        "warning",
        ASGI_APP,
    ]


UVICORN_HTTP = ["h11"] + (["httptools"] if importlib.util.find_spec("httptools") else [])


def _gunicorn(worker: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp(f"gunicorn-{worker}") / "server.log"
    with run_server(gunicorn_command(port, worker), port, log) as url:
        yield url


def _uvicorn(http: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp(f"uvicorn-{http}") / "server.log"
    with run_server(uvicorn_command(port, http), port, log) as url:
        yield url


@pytest.fixture(scope="module")
def gunicorn_sync(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """gunicorn, 2 sync workers, serving the Flask app (no keep-alive)."""
    yield from _gunicorn("sync", tmp_path_factory)


@pytest.fixture(scope="module")
def gunicorn_gthread(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """gunicorn, 2 gthread workers of 8 threads, serving the Flask app (keep-alive)."""
    yield from _gunicorn("gthread", tmp_path_factory)


@pytest.fixture(scope="module")
def uvicorn_h11(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """uvicorn, one worker, h11, serving the Starlette app."""
    yield from _uvicorn("h11", tmp_path_factory)


@pytest.fixture(scope="module")
def uvicorn_httptools(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """uvicorn, one worker, httptools (requested only when httptools is installed)."""
    yield from _uvicorn("httptools", tmp_path_factory)


WSGI_SERVERS = ["gunicorn_sync", "gunicorn_gthread"]
ASGI_SERVERS = [f"uvicorn_{http}" for http in UVICORN_HTTP]


@pytest.fixture(params=WSGI_SERVERS)
def wsgi_url(request: pytest.FixtureRequest) -> str:
    """Base URL of each WSGI server in turn."""
    return str(request.getfixturevalue(request.param))


@pytest.fixture(params=ASGI_SERVERS)
def asgi_url(request: pytest.FixtureRequest) -> str:
    """Base URL of each ASGI server in turn."""
    return str(request.getfixturevalue(request.param))


@pytest.fixture(params=["gunicorn_gthread", *ASGI_SERVERS])
def keep_alive_url(request: pytest.FixtureRequest) -> str:
    """Base URL of each server that keeps connections alive (gunicorn sync workers do not)."""
    return str(request.getfixturevalue(request.param))
