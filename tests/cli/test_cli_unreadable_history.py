"""Bad data in the audit stream never makes a command print a traceback: ``history``,
``list`` and ``show`` show what of a damaged entry can be read and mark the rest
unreadable; ``restore`` refuses (exit 1) a version whose rules cannot be read."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import redis
from click.testing import CliRunner, Result

from flagware.cli.app import cli as flagware_cli
from tests.cli.conftest import DOC, Cli, Live
from tests.damaged_audit import ACTOR, DAMAGES, FLAG, Damage, write_entry
from tests.redis_server import RedisServer

DAMAGED = 3
SEEDED: dict[str, Any] = copy.deepcopy(DOC)
SEEDED["flags"][FLAG] = {"description": "Beta features", "strategies": []}

damages = pytest.mark.parametrize("damage", DAMAGES, ids=lambda d: d.name)


def strict_json(text: str) -> Any:
    """JSON as the standard defines it: NaN and Infinity are not JSON."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def damaged(redis_server: RedisServer, namespace: str, live: Live) -> Any:
    """Seed two real versions, then append ``damage``'s entry as version 3; returns a runner
    of commands on that namespace."""

    def make(damage: Damage) -> Any:
        second = copy.deepcopy(SEEDED)
        second["test_users"].append("acct-9")
        assert live.seed(SEEDED, second, actor="ann") == DAMAGED - 1
        client = redis.Redis.from_url(redis_server.url)
        try:
            write_entry(client, namespace, damage, DAMAGED, DAMAGED - 1, SEEDED)
        finally:
            client.close()

        def run(*args: str) -> Result:
            return CliRunner().invoke(
                flagware_cli,
                ["--redis-url", redis_server.url, "--namespace", namespace, *args],
                catch_exceptions=False,  # a traceback fails the test
            )

        return run

    return make


def row(output: str, version: int) -> str:
    found = [line for line in output.splitlines() if line.strip().startswith(f"{version} ")]
    assert len(found) == 1, output
    return found[0]


@damages
def test_history_list_and_show_mark_what_is_unreadable(damaged: Any, damage: Damage) -> None:
    run = damaged(damage)

    history = run("history")
    assert history.exit_code == 0, history.output
    line = row(history.stdout, DAMAGED)
    assert damage.marker in line
    for readable in damage.keeps:
        assert readable in line
    assert row(history.stdout, DAMAGED - 1)

    diffs = run("history", "--diff")
    assert diffs.exit_code == 0, diffs.output
    if "document" in damage.unreadable:
        assert "(the rules recorded for this version are unreadable)" in diffs.stdout
    elif "previous_version" in damage.unreadable:
        assert "(which version it replaced is unreadable)" in diffs.stdout
    else:
        assert any(
            line.startswith("    +") and '"description": "from the damaged entry"' in line
            for line in diffs.stdout.splitlines()
        ), diffs.stdout

    as_json = run("history", "--json", "--diff")
    assert as_json.exit_code == 0, as_json.output
    newest = strict_json(as_json.stdout)["changes"][0]
    assert (newest["version"], newest["unreadable"]) == (DAMAGED, list(damage.unreadable))
    if "at" in damage.unreadable:
        assert (newest["at"], newest["when"]) == (None, None)

    listed = run("list")
    assert listed.exit_code == 0, listed.output
    strict_json(run("list", "--json").stdout)

    shown = run("show", FLAG)
    assert shown.exit_code == 0, shown.output
    strict_json(run("show", FLAG, "--json").stdout)
    if "summary" not in damage.unreadable:  # it still says it changed the flag
        assert damage.marker in row(shown.stdout, DAMAGED)
        cell = next(line for line in listed.stdout.splitlines() if line.startswith(FLAG))
        assert f"v{DAMAGED} " in cell
        if {"at", "actor", "action"} & set(damage.unreadable):  # the parts the cell shows
            assert damage.marker in cell

    of_flag = run("history", FLAG, "--diff")
    assert of_flag.exit_code == 0, of_flag.output


@pytest.mark.parametrize(
    "damage", [d for d in DAMAGES if "document" in d.unreadable], ids=lambda d: d.name
)
def test_restore_refuses_a_version_whose_rules_are_unreadable(
    damaged: Any, live: Live, damage: Damage
) -> None:
    run = damaged(damage)
    before = live.read()
    result = run("restore", str(DAMAGED), "--yes")
    assert result.exit_code == 1
    assert (
        f"version {DAMAGED} cannot be restored: the rules recorded for it in the history are "
        "unreadable; nothing was written"
    ) in result.stderr
    assert live.read() == before


def test_restore_of_readable_rules_works_whatever_else_is_damaged(damaged: Any, live: Live) -> None:
    run = damaged(next(d for d in DAMAGES if d.name == "actor-not-utf8"))
    result = run("restore", str(DAMAGED), "--yes")
    assert result.exit_code == 0, result.output
    assert live.read()[1]["flags"][FLAG]["description"] == "from the damaged entry"


def test_the_script_prints_no_traceback(cli: Cli, live: Live, redis_server: RedisServer) -> None:
    """The real ``flagware`` process, on an entry with every field damaged."""
    live.seed(SEEDED, actor="ann")
    client = redis.Redis.from_url(redis_server.url)
    try:
        damage = Damage(
            "everything",
            {"previous": "x", "actor": b"\xff", "at": "nan", "action": None, "summary": "[",
             "doc": "[]"},
            (), ACTOR,
        )  # fmt: skip
        write_entry(client, cli.env["FLAGWARE_NAMESPACE"], damage, 2, 1, SEEDED)
    finally:
        client.close()
    for args in (("history", "--diff"), ("list",), ("show", FLAG), ("restore", "2", "--yes")):
        result = cli(*args)
        assert "Traceback" not in result.stderr, (args, result.stderr)
        assert result.returncode == (1 if args[0] == "restore" else 0), (args, result.stderr)
    history = cli("history").stdout
    assert "unknown time" in history
    assert "(unreadable summary)" in history
    assert "(unreadable action)" in history
