"""What a command imports and starts: only what it uses, so a one-shot command is quick.

Most of ``flagware set``'s time is spent importing (BENCHMARKS.md). These tests run each
command in a fresh interpreter, as the console script does, and read ``sys.modules`` as it
exits: the web stack, the admin panel and token signing come in only with the commands
that use them, and redis-py only with a Redis store.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from flagware.cli.app import COMMANDS
from flagware.cli.app import cli as flagware_cli
from flagware.stores.redis import RedisStore
from tests.cli.conftest import DOC, Live
from tests.redis_server import RedisServer

# Runs the command as `flagware.cli:main` does, then writes the modules it imported.
PROBE = """\
import json, sys
from flagware.cli import main
try:
    main(sys.argv[2:])
finally:
    with open(sys.argv[1], "w", encoding="utf-8") as out:
        json.dump(sorted(sys.modules), out)
"""

# Never needed by a command that serves nothing: ASGI/WSGI frameworks, the admin panel's
# templates and forms, the server, and what only `token` and the serving commands use.
WEB_AND_PANEL = {
    "starlette",
    "jinja2",
    "uvicorn",
    "multipart",
    "python_multipart",
    "werkzeug",
    "flagware.admin",
    "flagware.asgi",
    "flagware.wsgi",
    "flagware.cli.demo",
}
TOKEN_SIGNING = {"itsdangerous", "flagware.overrides", "flagware._request"}
OPTIONAL_FORMATS = {"tomli_w", "jsonschema"}
# What reading or checking a ruleset needs; a command that touches none has no use for it.
RULESET_STACK = {"pydantic", "yaml", "re2", "flagware.engine", "flagware.ruleset"}


def imported(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules a fresh interpreter holds after running ``flagware ARGS``."""
    report = tmp_path / "modules.json"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FLAGWARE_")}
    environment.update(env or {})
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(report), *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    modules: list[str] = json.loads(report.read_text(encoding="utf-8"))
    return set(modules)


def loaded(modules: set[str], names: set[str]) -> set[str]:
    """Which of ``names`` (packages, with their submodules) are among ``modules``."""
    return {name for name in names for m in modules if m == name or m.startswith(name + ".")}


def test_help_imports_no_store_and_no_web_stack(tmp_path: Path) -> None:
    modules = imported(tmp_path, "--help")
    assert "click" in modules
    assert loaded(modules, WEB_AND_PANEL | TOKEN_SIGNING | OPTIONAL_FORMATS) == set()
    assert loaded(modules, {"redis", "flagware.stores.redis"}) == set()
    assert loaded(modules, RULESET_STACK) == set()


def test_set_on_redis_imports_what_it_uses_only(
    tmp_path: Path, redis_server: RedisServer, namespace: str, live: Live
) -> None:
    live.seed(DOC)
    env = {"FLAGWARE_REDIS_URL": redis_server.url, "FLAGWARE_NAMESPACE": namespace}
    modules = imported(tmp_path, "set", "dark_mode", "--percent", "30", env=env)
    assert live.read()[1]["flags"]["dark_mode"]["strategies"] == [
        {"type": "percentage", "percent": 30.0}
    ]
    assert {"redis", "flagware.stores.redis", "flagware.cli.editing"} <= modules
    assert loaded(modules, WEB_AND_PANEL | TOKEN_SIGNING | OPTIONAL_FORMATS) == set()
    assert "yaml" not in modules  # the ruleset in Redis is JSON
    command_modules = {f"flagware.cli.{module}" for module, _ in COMMANDS.values()}
    assert command_modules & modules == {"flagware.cli.flags"}


def test_help_lists_every_command_under_its_own_name() -> None:
    result: Any = CliRunner().invoke(flagware_cli, ["--help"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = result.stdout.split("Commands:\n", 1)[1].splitlines()
    assert [row.split()[0] for row in rows if row.strip()] == sorted(COMMANDS)
    for name in COMMANDS:
        command = flagware_cli.get_command(click.Context(flagware_cli), name)
        assert command is not None
        assert command.name == name
    assert flagware_cli.get_command(click.Context(flagware_cli), "nope") is None


def test_commands_on_a_rules_file_do_not_import_redis(tmp_path: Path, rules_file: Path) -> None:
    for args in (["validate", str(rules_file)], ["--rules", str(rules_file), "list"]):
        modules = imported(tmp_path, *args)
        assert loaded(modules, {"redis", "flagware.stores.redis"}) == set(), args
        assert loaded(modules, WEB_AND_PANEL | TOKEN_SIGNING) == set(), args


def test_token_imports_signing_but_no_store(tmp_path: Path) -> None:
    env = {"FLAGWARE_TOKEN_SECRET": "s3cret"}
    modules = imported(tmp_path, "token", "--account", "acct-1", "--flag", "beta=on", env=env)
    assert "itsdangerous" in modules
    assert loaded(modules, WEB_AND_PANEL | {"redis", "flagware.stores.redis"}) == set()


def test_a_one_shot_command_starts_no_follower_thread(
    monkeypatch: pytest.MonkeyPatch, redis_server: RedisServer, namespace: str, live: Live
) -> None:
    # Closing a follower waits for its pub/sub read to time out: a command that exits right
    # away has none, and reads the latest document for each edit anyway.
    live.seed(DOC)
    running: list[list[str]] = []
    close = RedisStore.close

    def close_and_look(self: RedisStore) -> None:
        running.append([t.name for t in threading.enumerate()])
        close(self)

    monkeypatch.setattr(RedisStore, "close", close_and_look)
    args = ["--redis-url", redis_server.url, "--namespace", namespace]
    result: Any = CliRunner().invoke(
        flagware_cli, [*args, "set", "dark_mode", "--percent", "35"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "set dark_mode (version 2): 35% of accounts\n"
    assert len(running) == 1
    assert f"flagware-redis-{namespace}" not in running[0]
