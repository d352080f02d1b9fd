"""``flagware lint`` end to end: the report against a ruleset, exit codes, JSON, the hook."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from flagware import Ruleset
from flagware.cli.app import cli as flagware_cli
from flagware.lint import check, scan
from tests.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[2]
FLAGWARE = Path(sys.executable).with_name("flagware")

RULES = {
    "schema": 1,
    "flags": {
        "new_checkout": {"strategies": [{"type": "everyone"}]},
        "dark_mode": {"strategies": [{"type": "percentage", "percent": 10}]},
        "old_search": {"enabled": False},
    },
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(RULES), encoding="utf-8")
    src = tmp_path / "src"
    src.mkdir()
    (src / "views.py").write_text(
        textwrap.dedent(
            """\
            def view(flags, name):
                if flags.is_enabled("new_chekout"):   # a typo
                    pass
                flags.is_enabled(name)
            """
        ),
        encoding="utf-8",
    )
    (src / "page.html").write_text("{% if flags.dark_mode %}dark{% endif %}\n", "utf-8")
    return tmp_path


def run(*args: str) -> Result:
    return CliRunner().invoke(flagware_cli, list(args), catch_exceptions=False)


def test_the_report_names_the_typo_the_unused_flags_and_the_dynamic_name(project: Path) -> None:
    report = check(scan([project / "src"]), Ruleset.from_dict(RULES))
    (typo,) = report.undefined
    assert typo.flag == "new_chekout"
    assert typo.did_you_mean == ("new_checkout",)
    assert typo.released
    assert "on for everyone (unknown: released)" in typo.message()
    assert report.unused == ("new_checkout", "old_search")
    assert [r.code for r in report.dynamic] == ["name"]
    assert report.counts() == {"undefined": 1, "unused": 2, "dynamic": 1}


def test_a_flag_another_flag_requires_is_not_unused(project: Path) -> None:
    flags = {
        **RULES["flags"],
        "dark_mode": {**RULES["flags"]["dark_mode"], "prerequisites": [{"flag": "new_checkout"}]},
    }
    report = check(scan([project / "src"]), Ruleset.from_dict({**RULES, "flags": flags}))
    assert report.unused == ("old_search",)


def test_under_unknown_hidden_an_undefined_flag_is_off(project: Path) -> None:
    ruleset = Ruleset.from_dict({**RULES, "unknown": "hidden"})
    (typo,) = check(scan([project / "src"]), ruleset).undefined
    assert not typo.released
    assert "off for everyone" in typo.message()


def test_exit_status_follows_fail_on(project: Path) -> None:
    rules, src = str(project / "rules.yaml"), str(project / "src")
    failed = run("lint", "--rules", rules, src)
    assert failed.exit_code == 1
    assert "views.py:2:25: undefined flag 'new_chekout' (did you mean new_checkout?)" in (
        failed.output
    )
    assert "removal candidates): new_checkout, old_search" in failed.output
    assert "failing on undefined" in failed.output
    assert run("lint", "--rules", rules, "--fail-on", "none", src).exit_code == 0
    assert run("lint", "--rules", rules, "--fail-on", "dynamic", src).exit_code == 1
    (project / "src" / "views.py").write_text('flags.is_enabled("new_checkout")\n', "utf-8")
    assert run("lint", "--rules", rules, src).exit_code == 0
    assert run("lint", "--rules", rules, "--fail-on", "unused", src).exit_code == 1


def test_usage_errors_exit_2(project: Path) -> None:
    rules = str(project / "rules.yaml")
    assert run("lint", "--rules", rules, str(project / "missing")).exit_code == 2
    assert run("lint", "--rules", rules, "--fail-on", "typos", str(project)).exit_code == 2
    assert run("lint", str(project)).exit_code == 2  # no ruleset chosen at all


def test_an_invalid_ruleset_is_refused(project: Path) -> None:
    bad = project / "bad.yaml"
    bad.write_text("schema: 1\nflags: {x: {strategies: [{type: percentage, percent: 300}]}}\n")
    result = run("lint", "--rules", str(bad), str(project / "src"))
    assert result.exit_code == 1
    assert "percent" in result.output


def test_json_output(project: Path) -> None:
    result = run("lint", "--rules", str(project / "rules.yaml"), "--json", str(project / "src"))
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["ok"] is False
    assert data["failing"] == ["undefined"]
    assert data["counts"] == {"undefined": 1, "unused": 2, "dynamic": 1}
    assert data["undefined"][0]["flag"] == "new_chekout"
    assert data["undefined"][0]["references"][0]["line"] == 2
    assert data["dynamic"][0]["code"] == "name"
    assert data["scanned"] == {"files": 2, "references": 3}
    assert data["ruleset"] == {"flags": 3, "unknown": "released"}


def test_the_ruleset_from_redis_through_the_global_options(
    project: Path, redis_server: RedisServer, namespace: str
) -> None:
    from flagware.stores.redis import RedisStore

    with RedisStore.from_url(redis_server.url, namespace=namespace, snapshot_path=False) as store:
        store.save(RULES, actor="seed")
    result = subprocess.run(
        [str(FLAGWARE), "--redis-url", redis_server.url, "--namespace", namespace, "lint",
         "--json", str(project / "src")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout)["undefined"][0]["did_you_mean"] == ["new_checkout"]


def test_the_examples_read_only_flags_the_example_ruleset_defines() -> None:
    result = run("lint", "--rules", str(ROOT / "examples" / "rules.yaml"), str(ROOT / "examples"))
    assert result.exit_code == 0, result.output
    assert "0 undefined" in result.output


def test_the_pre_commit_hook_runs_this_command() -> None:
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "flagware-lint"
    assert hook["entry"].split()[:2] == ["flagware", "lint"]
    assert hook["pass_filenames"] is False  # "unused" needs the whole tree, not the diff
