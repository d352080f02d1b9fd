"""The command in-process (click's CliRunner): a rules file as the store, and the many
smaller cases of each command, on files and on the suite's Redis."""

from __future__ import annotations

import copy
import json
import re
import socket
import time
from pathlib import Path
from typing import Any

import click
import pytest
import redis
import yaml
from click.testing import CliRunner, Result

from flagware import Ruleset, load_ruleset
from flagware.cli.app import cli as flagware_cli
from flagware.cli.connect import REDIS_TIMEOUT
from tests.cli.conftest import DOC, RULES, Live
from tests.redis_server import RedisServer, free_port


def run(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
    return CliRunner().invoke(
        flagware_cli, list(args), env=env, input=input, catch_exceptions=False
    )


@pytest.fixture
def on_file(rules_file: Path) -> Any:
    """Run a command on the rules file."""

    def invoke(*args: str, **kwargs: Any) -> Result:
        return run("--rules", str(rules_file), "--actor", "tester", *args, **kwargs)

    return invoke


@pytest.fixture
def on_redis(redis_server: RedisServer, namespace: str) -> Any:
    """Run a command on the test's Redis namespace."""

    def invoke(*args: str, **kwargs: Any) -> Result:
        return run("--redis-url", redis_server.url, "--namespace", namespace, *args, **kwargs)

    return invoke


def strategies(path: Path, flag: str) -> list[dict[str, Any]]:
    return [s.to_dict() for s in load_ruleset(path).flags[flag].strategies]


# --- a rules file as the store ----------------------------------------------------------------


def test_list_on_a_rules_file(on_file: Any, rules_file: Path) -> None:
    result = on_file("list")
    assert result.exit_code == 0, result.output
    header, columns, *rows = result.stdout.splitlines()
    assert header == (
        f"rules file {rules_file}: version 1, 5 flags, 1 test users, unknown flags released"
    )
    assert columns.split() == ["FLAG", "STATE", "ROLLOUT"]  # a file keeps no history
    assert rows[3].split(None, 2) == ["old_search", "killed", "off for everyone (kill switch)"]
    assert rows[0].split(None, 2) == [
        "new_checkout",
        "on",
        "accounts acct-42, acct-7; 10% of accounts when plan eq pro",
    ]


def test_set_rewrites_the_rules_file(on_file: Any, rules_file: Path) -> None:
    result = on_file("set", "dark_mode", "--percent", "40", "--add-account", "acct-1")
    assert result.exit_code == 0, result.output
    assert result.stdout == "set dark_mode (version 2): 40% of accounts; accounts acct-1\n"
    assert strategies(rules_file, "dark_mode") == [
        {"type": "percentage", "percent": 40.0},
        {"type": "accounts", "ids": ["acct-1"]},
    ]


def test_set_that_changes_nothing_writes_nothing(on_file: Any, rules_file: Path) -> None:
    before = rules_file.read_text()
    result = on_file("set", "dark_mode", "--percent", "25")
    assert result.exit_code == 0, result.output
    assert "nothing changed" in result.stdout
    assert rules_file.read_text() == before


def test_set_removes_strategies_with_empty_values(on_file: Any, rules_file: Path) -> None:
    result = on_file("set", "lucky_digits", "--last-digit", "", "--everyone")
    assert result.exit_code == 0, result.output
    assert strategies(rules_file, "lucky_digits") == [{"type": "everyone"}]
    result = on_file("set", "lucky_digits", "--no-everyone")
    assert result.exit_code == 0, result.output
    assert "test users only" in result.stdout


def test_set_unknown_flag_needs_create(on_file: Any, rules_file: Path) -> None:
    refused = on_file("set", "dark_mod", "--percent", "5")
    assert refused.exit_code == 1
    assert "no flag named 'dark_mod' in the ruleset (did you mean dark_mode?)" in refused.stderr
    created = on_file("set", "brand_new", "--create", "--percent", "5", "--description", "New")
    assert created.exit_code == 0, created.output
    assert created.stdout.startswith("created brand_new (version 2)")
    flag = load_ruleset(rules_file).flags["brand_new"]
    assert (flag.description, flag.strategies[0].to_dict()) == (
        "New",
        {"type": "percentage", "percent": 5.0},
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "nothing to change"),
        (("--percent", "101"), "101"),
        (("--last-digit", "1,x"), "digits 0-9"),
        (("--last-digit", "12"), "digits 0-9"),
    ],
)
def test_set_usage_errors(on_file: Any, args: tuple[str, ...], message: str) -> None:
    result = on_file("set", "dark_mode", *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_set_to_an_invalid_ruleset_is_refused(on_file: Any, rules_file: Path) -> None:
    before = rules_file.read_text()
    result = on_file("set", "dark_mode", "--percent", "12.345")
    assert result.exit_code == 1
    assert "flags.dark_mode.strategies[0].percent: must be a multiple of 0.01" in result.stderr
    assert "nothing was written" in result.stderr
    assert rules_file.read_text() == before


def test_unknown_flags_are_refused_with_the_closest_names(on_file: Any, rules_file: Path) -> None:
    before = rules_file.read_text()
    for args in (("disable", "dark_mdoe"), ("enable", "dark_mdoe"), ("show", "dark_mdoe")):
        result = on_file(*args)
        assert result.exit_code == 1, args
        assert "no flag named 'dark_mdoe' in the ruleset (did you mean dark_mode?)" in (
            result.stderr
        )
    assert rules_file.read_text() == before


def test_kill_switch_and_test_users_on_a_file(on_file: Any, rules_file: Path) -> None:
    assert on_file("disable", "dark_mode").exit_code == 0
    assert load_ruleset(rules_file).flags["dark_mode"].enabled is False
    again = on_file("disable", "dark_mode")
    assert (again.exit_code, again.stdout) == (0, "dark_mode is already killed; nothing changed\n")
    assert on_file("test-users", "add", "qa-1").exit_code == 0
    assert load_ruleset(rules_file).test_users == {"testuser1", "qa-1"}
    listed = on_file("test-users", "list")
    assert listed.stdout == "qa-1\ntestuser1\n"


def test_history_and_restore_need_redis(on_file: Any) -> None:
    for args in (("history",), ("restore", "1", "--yes")):
        result = on_file(*args)
        assert result.exit_code == 2
        assert "a rules file keeps no history" in result.stderr


def test_push_pull_and_diff_on_a_file(on_file: Any, rules_file: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    doc = json.loads(json.dumps(DOC))
    doc["flags"]["dark_mode"]["strategies"] = [{"type": "everyone"}]
    other.write_text(json.dumps(doc))

    diff = on_file("diff", str(other), "--json")
    assert diff.exit_code == 1
    assert json.loads(diff.stdout)["summary"] == {"flags_changed": ["dark_mode"]}

    dry = on_file("push", str(other), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would change" in dry.stdout
    assert "flags changed: dark_mode" in dry.stdout
    assert load_ruleset(rules_file).to_dict() == DOC

    pushed = on_file("push", str(other))
    assert pushed.exit_code == 0, pushed.output
    assert load_ruleset(rules_file).to_dict() == load_ruleset(other).to_dict()
    assert on_file("diff", str(other)).exit_code == 0

    pulled = on_file("pull", "--format", "toml")
    assert pulled.exit_code == 0, pulled.output
    assert 'type = "everyone"' in pulled.stdout
    wrong = on_file("pull", "-o", str(tmp_path / "out.txt"))
    assert wrong.exit_code == 2
    assert "unknown ruleset format '.txt'" in wrong.stderr


def test_diff_of_an_invalid_file_is_trouble(on_file: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("flags: {beta: {strategies: [{type: nope}]}}\n")
    result = on_file("diff", str(bad))
    assert result.exit_code == 2
    assert "flags.beta.strategies[0]" in result.stderr


def test_validate_as_json(tmp_path: Path, rules_file: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = run("validate", "--json", str(rules_file), str(bad))
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["valid"] is False
    assert [f["valid"] for f in report["files"]] == [True, False]
    assert report["files"][1]["problems"][0].startswith("<document>: not valid JSON")


def test_validate_says_when_it_stopped_before_finding_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "many.json"
    bad.write_text(
        json.dumps(
            {"flags": {"f": {"strategies": [{"type": "accounts", "ids": list(range(500))}]}}}
        )
    )
    text = run("validate", str(bad))
    assert text.exit_code == 1
    assert "invalid (100 problems, and more)" in text.stdout
    assert text.stdout.rstrip().endswith("... and more problems; fix these first")
    report = json.loads(run("validate", "--json", str(bad)).stdout)
    assert report["files"][0]["more_problems"] is True
    assert len(report["files"][0]["problems"]) == 100


def test_eval_at_a_time_and_with_typed_attributes(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "flags:\n"
        "  launch: {strategies: [{type: schedule, after: '2030-01-01T00:00:00Z'}]}\n"
        "  adults: {strategies: [{type: attribute, attribute: age, op: gte, values: [18]}]}\n"
    )

    def evaluate(*args: str) -> dict[str, Any]:
        result = run("--rules", str(rules), "eval", "--account", "a1", "--json", *args)
        assert result.exit_code == 0, result.output
        flags: dict[str, Any] = json.loads(result.stdout)["flags"]
        return flags

    assert evaluate("--at", "2029-12-31T23:59:59Z")["launch"]["enabled"] is False
    assert evaluate("--at", "2030-01-01T00:00:00Z")["launch"]["enabled"] is True
    assert evaluate("--attr", "age:=42")["adults"]["enabled"] is True
    assert evaluate("--attr", "age=42")["adults"]["enabled"] is False  # a string, not 42
    assert evaluate("--test-user")["adults"]["reason"] == "test user"
    assert evaluate("nope")["nope"]["reason"] == "not in ruleset: unknown=released"


# --- choosing and opening the store -----------------------------------------------------------


def test_two_stores_from_the_environment_are_refused(rules_file: Path) -> None:
    env = {"FLAGWARE_REDIS_URL": "redis://127.0.0.1:1/0", "FLAGWARE_RULES": str(rules_file)}
    result = run("list", env=env)
    assert result.exit_code == 2
    assert "choose one store" in result.stderr


def test_the_command_line_beats_the_environment(rules_file: Path) -> None:
    env = {"FLAGWARE_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}  # unreachable
    result = run("--rules", str(rules_file), "list", env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"rules file {rules_file}")


def test_rules_file_problems(tmp_path: Path) -> None:
    missing = run("--rules", str(tmp_path / "nope.yaml"), "list")
    assert missing.exit_code == 2
    assert "does not exist" in missing.stderr
    (tmp_path / "flags.txt").write_text("flags: {}\n")
    suffix = run("--rules", str(tmp_path / "flags.txt"), "list")
    assert suffix.exit_code == 2
    assert "unknown ruleset format" in suffix.stderr
    (tmp_path / "bad.yaml").write_text("flags: {a: {enabled: 'yes'}}\n")
    invalid = run("--rules", str(tmp_path / "bad.yaml"), "list")
    assert invalid.exit_code == 3
    assert "flags.a.enabled" in invalid.stderr


def test_bad_redis_options_are_configuration_errors() -> None:
    scheme = run("--redis-url", "http://localhost/", "list")
    assert scheme.exit_code == 2
    assert "invalid Redis URL" in scheme.stderr
    empty_actor = run("--actor", " ", "--rules", "x.yaml", "list")
    assert empty_actor.exit_code == 2


def test_a_redis_that_never_answers_is_exit_3_within_the_timeout() -> None:
    with socket.socket() as silent:  # accepts connections (the backlog), never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        started = time.monotonic()
        result = run("--redis-url", url, "list")
        elapsed = time.monotonic() - started
    assert result.exit_code == 3
    # One line, with redis-py's reason ("... from socket" before 8.2, "... from HOST:PORT" since).
    reason = "Timeout reading from [^\n]+"
    assert re.fullmatch(f"Error: cannot reach Redis at {re.escape(url)}: {reason}\n", result.stderr)
    assert REDIS_TIMEOUT <= elapsed < REDIS_TIMEOUT + 4


def test_a_closed_port_is_exit_3_at_once() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    started = time.monotonic()
    result = run("--redis-url", url, "test-users", "add", "x")
    assert result.exit_code == 3
    assert result.stderr.startswith(f"Error: cannot reach Redis at {url}: ")
    assert time.monotonic() - started < 2


def test_a_bad_namespace_is_a_configuration_error(redis_server: RedisServer) -> None:
    result = run("--redis-url", redis_server.url, "--namespace", "no spaces", "list")
    assert result.exit_code == 2
    assert "namespace must match" in result.stderr


def test_an_invalid_ruleset_in_redis_is_reported_and_can_be_replaced(
    on_redis: Any, redis_server: RedisServer, namespace: str, rules_file: Path, live: Live
) -> None:
    client = redis.Redis.from_url(redis_server.url)
    bad = {"flags": {"beta": {"strategies": [{"type": "percentage", "percent": 500}]}}}
    client.hset(f"{{flagware:{namespace}}}:ruleset", mapping={"doc": json.dumps(bad), "version": 4})
    client.close()
    listed = on_redis("list")
    assert listed.exit_code == 3
    assert "is invalid" in listed.stderr
    assert "  - flags.beta.strategies[0].percent: Input should be less than" in listed.stderr
    assert "FAILING CLOSED" not in listed.stderr

    pushed = on_redis("push", str(rules_file))
    assert pushed.exit_code == 0, pushed.output
    assert live.read() == (5, DOC)


def test_push_with_expected_versions(on_redis: Any, rules_file: Path, live: Live) -> None:
    stale = on_redis("push", "--expect-version", "3", str(rules_file))
    assert stale.exit_code == 1
    assert "the live ruleset is version 0, not 3" in stale.stderr
    first = on_redis("push", "--expect-version", "0", str(rules_file), "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["version"] == 1
    rules_file.write_text(RULES.replace("percent: 25", "percent: 26"))
    conflict = on_redis("push", "--expect-version", "0", str(rules_file))
    assert conflict.exit_code == 1
    assert live.read() == (1, DOC)


def test_reading_commands_on_an_empty_namespace_exit_3(on_redis: Any) -> None:
    for args in (("show", "x"), ("set", "x", "--percent", "1"), ("test-users",), ("pull",)):
        result = on_redis(*args)
        assert result.exit_code == 3, args
        assert "no ruleset in Redis namespace" in result.stderr


def test_history_with_diffs_and_limits(on_redis: Any, live: Live) -> None:
    live.seed(DOC)
    assert on_redis("--actor", "carol", "set", "dark_mode", "--percent", "30").exit_code == 0
    assert on_redis("test-users", "add", "qa-1").exit_code == 0

    newest = on_redis("history", "--limit", "1")
    assert newest.exit_code == 0, newest.output
    assert len(newest.stdout.splitlines()) == 2  # header and one change
    assert "test users added: qa-1" in newest.stdout

    of_flag = on_redis("history", "dark_mode", "--diff")
    assert of_flag.exit_code == 0, of_flag.output
    lines = [line.strip() for line in of_flag.stdout.splitlines()]
    assert lines[1].split()[0::2][:2] == ["2", "carol"]
    assert '-      "percent": 25,' in lines
    assert '+      "percent": 30,' in lines
    assert "qa-1" not in of_flag.stdout  # only this flag's part of each document


def test_restore_of_a_live_or_unknown_version_changes_nothing(on_redis: Any, live: Live) -> None:
    live.seed(DOC)
    result = on_redis("restore", "1")
    assert result.exit_code == 0, result.output
    assert "nothing to restore" in result.stdout
    missing = on_redis("restore", "99", "--yes")
    assert missing.exit_code == 1
    assert "version 99 is not in the recorded history (recorded: 1 to 1)" in missing.stderr
    assert live.read()[0] == 1


def test_restore_is_refused_if_the_ruleset_changed_while_asking(
    on_redis: Any, live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The operator confirmed the diff against version 2: a change made meanwhile by
    someone else is not silently overwritten."""
    changed = copy.deepcopy(DOC)
    changed["flags"]["dark_mode"]["strategies"][0]["percent"] = 50
    live.seed(DOC, changed)
    colleague = copy.deepcopy(changed)
    colleague["test_users"] = ["testuser1", "qa-2"]

    def confirm_while_a_colleague_saves(*args: Any, **kwargs: Any) -> bool:
        live.seed(colleague, actor="colleague")  # version 3, while the prompt waits
        return True

    monkeypatch.setattr(click, "confirm", confirm_while_a_colleague_saves)
    result = on_redis("restore", "1")
    assert result.exit_code == 1, result.output
    assert "changed since version 2" in result.stderr
    assert "nothing was written" in result.stderr
    assert live.read() == (3, Ruleset.from_dict(colleague).to_dict())


def test_pushes_that_change_nothing_or_are_invalid_write_nothing(
    on_redis: Any, live: Live, rules_file: Path, tmp_path: Path
) -> None:
    live.seed(DOC)
    same = on_redis("push", str(rules_file))
    assert same.exit_code == 0, same.output
    assert "already the live ruleset (version 1); nothing written" in same.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("flags: {beta: {strategies: [{type: percentage, percent: 150}]}}\n")
    invalid = on_redis("push", str(bad))
    assert invalid.exit_code == 1
    assert "flags.beta.strategies[0].percent" in invalid.stderr
    assert live.read() == (1, DOC)


# --- commands that need no store --------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--flag", "new_checkout"), "is not NAME=on"),
        (("--flag", "a=on, b=off"), "one flag per --flag"),
        (("--flag", "a=on", "--flag", "a=off"), "a is given twice"),
        (("--flag", "a=on", "--ttl", "3 weeks"), "is not a duration"),
    ],
)
def test_token_usage_errors(args: tuple[str, ...], message: str) -> None:
    result = run("token", "--account", "acct-1", *args, env={"FLAGWARE_TOKEN_SECRET": "s"})
    assert result.exit_code == 2
    assert message in result.stderr


def test_token_needs_a_secret() -> None:
    result = run("token", "--account", "acct-1", "--flag", "a=on", "--secret-env", "MY_SECRET")
    assert result.exit_code == 2
    assert "no token secret: set MY_SECRET" in result.stderr


def test_token_as_json(rules_file: Path) -> None:
    result = run(
        "token", "--account", "acct-1", "--flag", "b=green", "--json",
        env={"FLAGWARE_TOKEN_SECRET": "s", "FLAGWARE_RULES": str(rules_file)},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["account"], data["overrides"], data["cookie"]) == (
        "acct-1",
        {"b": "green"},
        "flagware_override",
    )


@pytest.mark.parametrize(
    "env",
    [{}, {"FLAGWARE_ADMIN_USER": "ops"}, {"FLAGWARE_ADMIN_PASSWORD": "pw"}],
)
def test_admin_refuses_to_start_without_credentials(rules_file: Path, env: dict[str, str]) -> None:
    result = run("--rules", str(rules_file), "admin", env=env)
    assert result.exit_code == 2
    assert "FLAGWARE_ADMIN_USER and FLAGWARE_ADMIN_PASSWORD" in result.stderr


def test_help_documents_the_exit_codes() -> None:
    result = run("--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    for code in ("0 done", "1 refused", "2 usage error", "3 store unavailable"):
        assert code in text


def test_yaml_pull_on_a_file_is_the_document(on_file: Any) -> None:
    result = on_file("pull")
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(result.stdout) == DOC


def test_list_and_show_name_each_flags_latest_change(on_redis: Any, live: Live) -> None:
    live.seed(DOC, actor="bob")
    assert on_redis("--actor", "carol", "set", "dark_mode", "--percent", "30").exit_code == 0
    assert on_redis("--actor", "dave", "test-users", "add", "qa-1").exit_code == 0

    listed = on_redis("list", "--json")
    assert listed.exit_code == 0, listed.output
    last = {f["name"]: f["last_change"] for f in json.loads(listed.stdout)["flags"]}
    assert (last["dark_mode"]["version"], last["dark_mode"]["actor"]) == (2, "carol")
    assert (last["new_checkout"]["version"], last["new_checkout"]["actor"]) == (1, "bob")

    text = on_redis("list")
    row = next(line for line in text.stdout.splitlines() if line.startswith("dark_mode"))
    assert row.split()[:4] == ["dark_mode", "on", "30%", "of"]
    assert "v2 " in row
    assert "carol (set)" in row

    shown = on_redis("show", "dark_mode", "--json")
    assert [(c["version"], c["actor"]) for c in json.loads(shown.stdout)["history"]] == [
        (2, "carol"),
        (1, "bob"),
    ]
