"""The ``flagware`` script as a process against a real redis-server: the operator's paths.

Each test checks what the command printed *and* what Redis holds afterwards, read by a
RedisStore of the test's own.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import yaml

from flagware import Ruleset
from flagware.overrides import read_override_token
from tests.cli.conftest import DOC, RULES, Cli, Live
from tests.redis_server import free_port

INVALID = """\
flags:
  beta:
    strategies:
      - {type: percentage, percent: 150}
  old_search:
    enabled: "yes"
"""


def test_push_then_pull_round_trips_in_every_format(cli: Cli, live: Live, rules_file: Path) -> None:
    pushed = cli("push", str(rules_file))
    assert pushed.returncode == 0, pushed.stderr
    assert "now version 1" in pushed.stdout
    assert "flags added: checkout_button, dark_mode, lucky_digits, new_checkout" in pushed.stdout
    assert live.read() == (1, DOC)

    pulled = cli("pull")
    assert pulled.returncode == 0, pulled.stderr
    assert yaml.safe_load(pulled.stdout) == DOC

    out = rules_file.with_name("pulled.json")
    written = cli("pull", "-o", str(out))
    assert written.returncode == 0, written.stderr
    assert json.loads(out.read_text()) == DOC


def test_set_percent_5_then_25_keeps_the_other_strategies(cli: Cli, live: Live) -> None:
    live.seed(DOC)
    first = cli("--actor", "alice", "set", "new_checkout", "--percent", "5")
    assert first.returncode == 0, first.stderr
    assert "version 2" in first.stdout
    assert "5% of accounts" in first.stdout
    second = cli("--actor", "alice", "set", "new_checkout", "--percent", "25")
    assert second.returncode == 0, second.stderr

    version, doc = live.read()
    assert version == 3
    assert doc["flags"]["new_checkout"]["strategies"] == [
        {"type": "accounts", "ids": ["acct-42", "acct-7"]},
        DOC["flags"]["new_checkout"]["strategies"][1],  # the conditional one, untouched
        {"type": "percentage", "percent": 25.0},  # appended once, then replaced
    ]
    expected = copy.deepcopy(DOC)
    expected["flags"]["new_checkout"] = doc["flags"]["new_checkout"]
    assert doc == expected  # nothing else changed

    history = cli("history", "new_checkout", "--json")
    assert history.returncode == 0, history.stderr
    changes = json.loads(history.stdout)["changes"]
    assert [(c["version"], c["actor"], c["action"]) for c in changes] == [
        (3, "alice", "set"),
        (2, "alice", "set"),
        (1, "seed", "save"),
    ]
    assert changes[0]["summary"] == {"flags_changed": ["new_checkout"]}


def test_disable_and_enable_flip_the_kill_switch(cli: Cli, live: Live) -> None:
    live.seed(DOC)
    killed = cli("disable", "dark_mode")
    assert killed.returncode == 0, killed.stderr
    assert live.read()[1]["flags"]["dark_mode"]["enabled"] is False

    enabled = cli("enable", "dark_mode")
    assert enabled.returncode == 0, enabled.stderr
    assert "25% of accounts" in enabled.stdout
    version, doc = live.read()
    assert (version, doc) == (3, DOC)


def test_test_users_add_list_remove(cli: Cli, live: Live) -> None:
    live.seed(DOC)
    added = cli("test-users", "add", "qa-1", "qa-2", "testuser1")
    assert added.returncode == 0, added.stderr
    assert "added qa-1, qa-2 (version 2)" in added.stdout
    assert "already test users: testuser1" in added.stderr

    listed = cli("test-users", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == {
        "version": 2,
        "test_users": ["qa-1", "qa-2", "testuser1"],
    }

    removed = cli("test-users", "remove", "qa-1")
    assert removed.returncode == 0, removed.stderr
    assert live.read()[1]["test_users"] == ["qa-2", "testuser1"]


def test_restore_asks_then_saves_the_old_version_as_a_new_one(cli: Cli, live: Live) -> None:
    changed = copy.deepcopy(DOC)
    changed["flags"]["dark_mode"]["strategies"] = [{"type": "everyone"}]
    live.seed(DOC, changed)

    declined = cli("restore", "1", input="n\n")
    assert declined.returncode == 1
    assert '-          "type": "everyone"' in declined.stdout  # the diff was shown first
    assert live.read() == (2, Ruleset.from_dict(changed).to_dict())

    restored = cli("restore", "1", "--yes")
    assert restored.returncode == 0, restored.stderr
    assert "restored version 1 as version 3" in restored.stdout
    assert live.read() == (3, DOC)
    with live.open() as store:
        newest = store.history(limit=1)[0]
    assert (newest.actor, newest.action) == ("tester", "restore 1")


def test_diff_exit_codes_follow_diff(cli: Cli, live: Live, rules_file: Path) -> None:
    live.seed(DOC)
    same = cli("diff", str(rules_file))
    assert (same.returncode, same.stdout) == (0, "")

    rules_file.write_text(RULES.replace("percent: 25", "percent: 30"))
    different = cli("diff", str(rules_file))
    assert different.returncode == 1, different.stderr
    assert "+++ " + str(rules_file) in different.stdout
    assert '-          "percent": 25,' in different.stdout
    assert '+          "percent": 30,' in different.stdout


def test_validate_reports_every_problem_with_its_path(cli: Cli, rules_file: Path) -> None:
    bad = rules_file.with_name("bad.yaml")
    bad.write_text(INVALID)
    result = cli("validate", str(rules_file), str(bad), env={"FLAGWARE_REDIS_URL": ""})
    assert result.returncode == 1
    assert f"{rules_file}: ok (5 flags, 1 test users)" in result.stdout
    assert f"{bad}: invalid (2 problems)" in result.stdout
    assert "flags.beta.strategies[0].percent: Input should be less than or equal to 100" in (
        result.stdout
    )
    assert "flags.old_search.enabled:" in result.stdout
    assert "Traceback" not in result.stderr


def test_push_of_an_invalid_file_writes_nothing(cli: Cli, live: Live, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(INVALID)
    on_empty = cli("push", str(bad))
    assert on_empty.returncode == 1
    assert "flags.beta.strategies[0].percent" in on_empty.stderr
    assert "nothing was written" in on_empty.stderr
    with live.open() as store:
        assert store.health().source == "fail-closed"  # Redis still holds no ruleset
        assert store.history() == []


def test_an_unreachable_redis_is_one_line_and_exit_3_quickly(cli: Cli) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    started = time.monotonic()
    result = cli("list", env={"FLAGWARE_REDIS_URL": url})
    elapsed = time.monotonic() - started
    assert result.returncode == 3
    assert result.stderr.startswith(f"Error: cannot reach Redis at {url}")
    assert result.stderr.count("\n") == 1
    assert elapsed < 20  # generous: it includes starting Python on a busy machine


def test_no_store_chosen_is_exit_2_saying_how_to_choose(cli: Cli) -> None:
    result = cli("list", env={"FLAGWARE_REDIS_URL": ""})
    assert result.returncode == 2
    assert "--redis-url" in result.stderr
    assert "--rules" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_empty_namespace_says_to_push(cli: Cli) -> None:
    result = cli("list")
    assert result.returncode == 3
    assert "no ruleset in Redis namespace" in result.stderr
    assert "flagware push FILE" in result.stderr
    assert "FAILING CLOSED" not in result.stderr  # the library's log stays out of the way


def test_list_and_show_as_json(cli: Cli, live: Live) -> None:
    live.seed(DOC, actor="bob")
    listed = cli("list", "--json")
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    assert (data["version"], data["test_users"]) == (1, ["testuser1"])
    by_name = {f["name"]: f for f in data["flags"]}
    assert by_name["old_search"]["enabled"] is False
    assert by_name["dark_mode"]["rollout"] == "25% of accounts"
    assert by_name["dark_mode"]["last_change"]["actor"] == "bob"

    shown = cli("show", "new_checkout", "--json")
    assert shown.returncode == 0, shown.stderr
    flag = json.loads(shown.stdout)
    assert flag["document"] == DOC["flags"]["new_checkout"]
    assert flag["description"] == "The new checkout flow"
    assert [c["version"] for c in flag["history"]] == [1]


def test_eval_gives_each_flag_its_value_variant_and_reason(cli: Cli, live: Live) -> None:
    live.seed(DOC)
    result = cli("eval", "--account", "acct-42", "--number", "4211", "--attr", "plan=pro", "--json")
    assert result.returncode == 0, result.stderr
    flags = json.loads(result.stdout)["flags"]
    assert flags["new_checkout"] == {
        "enabled": True,
        "variant": None,
        "reason": "strategy accounts matched (strategies[0])",
    }
    assert flags["lucky_digits"]["reason"] == "strategy last_digit matched (strategies[0])"
    assert flags["old_search"] == {
        "enabled": False,
        "variant": None,
        "reason": "kill switch: enabled is false",
    }
    assert flags["checkout_button"]["variant"] in {"control", "green"}

    tester = cli("eval", "--account", "testuser1", "dark_mode", "old_search")
    assert tester.returncode == 0, tester.stderr
    assert "as a test user" in tester.stdout
    rows = [line.split(None, 3) for line in tester.stdout.splitlines()[2:]]
    assert rows == [
        ["dark_mode", "on", "-", "test user"],
        ["old_search", "off", "-", "kill switch: enabled is false"],
    ]


def test_token_is_verified_by_the_middleware_side(cli: Cli) -> None:
    secret = "s3cret-for-tests"
    result = cli(
        "token",
        "--account",
        "acct-42",
        "--flag",
        "new_checkout=on",
        "--flag",
        "checkout_button=green",
        "--ttl",
        "15m",
        env={"FLAGWARE_TOKEN_SECRET": secret},
    )
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert read_override_token(secret, token, "acct-42") == {
        "new_checkout": True,
        "checkout_button": "green",
    }
    assert read_override_token(secret, token, "acct-7") is None  # bound to one account
    assert read_override_token(secret, token, "acct-42", now=time.time() + 16 * 60) is None
