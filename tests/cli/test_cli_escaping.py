"""Stored text never reaches the terminal as control: every command that prints a
description, account id, test user, actor, summary, diff or problem shows an escape sequence
in it as inert text (``\\x1b]0;...``), and ``--json`` stays JSON that reads back the same."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from flagware.cli.app import cli as flagware_cli
from tests.cli.conftest import DOC, Cli, Live
from tests.redis_server import RedisServer

# OSC (set the window title, ended by BEL), CSI (clear the screen), C1 CSI (red), a bidi
# override and a newline that would start a fake line.
EVIL = "\x1b]0;pwned\x07\x1b[2J\x9b31m\u202e\nFAKE"
SHOWN = "\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u202e\\nFAKE"  # what the terminal gets instead
# Anything a terminal acts on, except the line breaks of the command's own output.
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

EVIL_DOC: dict[str, Any] = copy.deepcopy(DOC)
EVIL_DOC["test_users"].append("tester" + EVIL)
EVIL_DOC["flags"]["evil"] = {
    "description": "desc" + EVIL,
    "strategies": [
        {"type": "accounts", "ids": ["acct" + EVIL]},
        {"type": "attribute", "attribute": "plan", "op": "in", "values": ["pro" + EVIL]},
    ],
}
ACTOR = "mallory" + EVIL


def strings(data: Any) -> list[str]:
    """Every string in a JSON value, keys included."""
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for k, v in data.items() for s in [k, *strings(v)]]
    if isinstance(data, list):
        return [s for item in data for s in strings(item)]
    return []


def inert(result: Result) -> str:
    """The command's whole output, checked to carry no control character."""
    output = result.output
    found = CONTROL.findall(output)
    assert not found, (found, output)
    return output


@pytest.fixture
def run(redis_server: RedisServer, namespace: str, live: Live) -> Any:
    """Commands on a namespace holding EVIL_DOC (version 1) and one edit by ACTOR."""
    live.seed(DOC, actor=ACTOR)
    live.seed(EVIL_DOC, actor=ACTOR)

    def invoke(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(
            flagware_cli,
            ["--redis-url", redis_server.url, "--namespace", namespace, "--actor", ACTOR, *args],
            input=input,
            catch_exceptions=False,
        )

    return invoke


def test_show_escapes_the_description_and_rollout(run: Any) -> None:
    result = run("show", "evil")
    assert result.exit_code == 0
    output = inert(result)
    assert f"description: desc{SHOWN}" in output
    assert f"accounts acct{SHOWN}" in output
    assert f"plan in pro{SHOWN}" in output
    assert f"mallory{SHOWN}" in output  # its recent changes: the actor


def test_list_escapes_rollouts_and_actors(run: Any) -> None:
    result = run("list")
    assert result.exit_code == 0
    output = inert(result)
    assert f"accounts acct{SHOWN}" in output
    assert f"mallory{SHOWN}" in output
    assert "\nFAKE" not in output


def test_history_escapes_actors_and_summaries(run: Any) -> None:
    result = run("history")
    assert result.exit_code == 0
    output = inert(result)
    assert f"mallory{SHOWN}" in output
    assert f"test users added: tester{SHOWN}" in output


def test_history_and_restore_diffs_are_inert(run: Any, live: Live) -> None:
    diffs = run("history", "--diff")
    assert diffs.exit_code == 0
    assert "desc" in inert(diffs)
    restored = run("restore", "1", "--yes")
    assert restored.exit_code == 0
    assert "desc" in inert(restored)
    assert live.read()[1] == DOC


def test_json_output_stays_json_and_reads_back_the_same(run: Any) -> None:
    for args in (("show", "evil"), ("list",), ("history", "--diff"), ("test-users",)):
        result = run(*args, "--json")
        assert result.exit_code == 0, args
        data = json.loads(inert(result))
        assert any(EVIL in text for text in strings(data)), args
    shown = json.loads(run("show", "evil", "--json").stdout)
    assert shown["description"] == "desc" + EVIL


def test_pull_prints_documents_that_read_back_the_same(run: Any) -> None:
    for fmt, load in (("yaml", yaml.safe_load), ("json", json.loads)):
        result = run("pull", "--format", fmt)
        assert result.exit_code == 0
        assert load(inert(result))["flags"]["evil"]["description"] == "desc" + EVIL, fmt


def test_test_users_are_escaped(run: Any) -> None:
    listed = run("test-users")
    assert listed.exit_code == 0
    assert f"tester{SHOWN}" in inert(listed)
    added = run("test-users", "add", "new" + EVIL, "tester" + EVIL)
    assert added.exit_code == 0
    output = inert(added)
    assert f"added new{SHOWN}" in output
    assert f"already test users: tester{SHOWN}" in output


def test_set_enable_and_disable_escape_the_rollout(run: Any) -> None:
    result = run("set", "evil", "--add-account", "more" + EVIL, "--add-account", "acct" + EVIL)
    assert result.exit_code == 0
    output = inert(result)
    assert f"more{SHOWN}" in output
    assert f"note: acct{SHOWN} was already listed" in output
    for command in ("disable", "enable"):
        switched = run(command, "evil")
        assert switched.exit_code == 0
        inert(switched)
    assert f"accounts acct{SHOWN}" in switched.output


def test_eval_escapes_the_account_and_its_attributes(run: Any) -> None:
    result = run("eval", "--account", "acct" + EVIL, "--attr", "plan=pro" + EVIL)
    assert result.exit_code == 0
    output = inert(result)
    assert f"account acct{SHOWN} (plan=pro{SHOWN})" in output


def test_push_and_diff_of_a_file_are_escaped(run: Any, tmp_path: Path) -> None:
    changed = copy.deepcopy(EVIL_DOC)
    changed["test_users"].append("other" + EVIL)
    changed["flags"]["evil"]["description"] = "changed" + EVIL
    path = tmp_path / "evil.json"
    path.write_text(json.dumps(changed), encoding="utf-8")
    diff = run("diff", str(path))
    assert diff.exit_code == 1  # different
    assert "changed" in inert(diff)
    pushed = run("push", str(path))
    assert pushed.exit_code == 0
    assert f"test users added: other{SHOWN}" in inert(pushed)


def test_problems_quoting_a_file_are_escaped(run: Any, tmp_path: Path) -> None:
    bad = copy.deepcopy(EVIL_DOC)
    bad["flags"]["evil"]["x" + EVIL] = 1  # an unknown key: the problem names its path
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad), encoding="utf-8")
    for args in (("validate", str(path)), ("push", str(path)), ("diff", str(path))):
        result = run(*args)
        assert result.exit_code in (1, 2), args
        assert f"flags.evil.x{SHOWN}: unknown key" in inert(result), args


def test_the_script_shows_a_description_inert(cli: Cli, live: Live) -> None:
    """The real process: what reaches the terminal is bytes, checked as bytes."""
    live.seed(EVIL_DOC, actor=ACTOR)
    result = cli("show", "evil")
    assert result.returncode == 0, result.stderr
    assert not CONTROL.findall(result.stdout + result.stderr)
    assert f"description: desc{SHOWN}" in result.stdout
