"""An application's strategy on the command line: `list` and `show` print the summary the
strategy gives of itself, or its type and parameters when it gives none."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import flagware
from flagware.cli.app import cli as flagware_cli


@flagware.register_strategy("cli_test_region")
class Region(flagware.Strategy):
    def __init__(self, regions: list[str]) -> None:
        self.regions = regions

    @classmethod
    def summary(cls, params: Mapping[str, Any]) -> str:
        return f"accounts in {' or '.join(params['regions'])}"

    def matches(self, account: flagware.Account) -> bool:
        return account.attributes.get("region") in self.regions


@flagware.register_strategy("cli_test_plain")
class Plain(flagware.Strategy):
    def __init__(self, size: int) -> None:
        self.size = size

    def matches(self, account: flagware.Account) -> bool:
        return False


RULES = {
    "flags": {
        "regional": {
            "strategies": [
                {"type": "cli_test_region", "regions": ["EU", "US"]},
                {"type": "percentage", "percent": 5},
            ]
        },
        "plain": {"strategies": [{"type": "cli_test_plain", "size": 3}]},
    }
}


@pytest.fixture
def on_rules(tmp_path: Path) -> Any:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(RULES))

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(
            flagware_cli, ["--rules", str(path), *args], catch_exceptions=False
        )

    return invoke


def test_list_prints_each_strategys_own_summary(on_rules: Any) -> None:
    result = on_rules("list")
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[2:]}
    assert rows["regional"].split(None, 2)[2] == "accounts in EU or US; 5% of accounts"
    assert rows["plain"].split(None, 2)[2] == "cli_test_plain(size=3)"
    listed = json.loads(on_rules("list", "--json").stdout)
    rollouts = {f["name"]: f["rollout"] for f in listed["flags"]}
    assert rollouts["regional"] == "accounts in EU or US; 5% of accounts"


def test_show_prints_the_summary_and_the_document(on_rules: Any) -> None:
    result = on_rules("show", "regional")
    assert result.exit_code == 0, result.output
    assert "  released to: accounts in EU or US; 5% of accounts" in result.stdout.splitlines()
    assert "type: cli_test_region" in result.stdout
    shown = json.loads(on_rules("show", "plain", "--json").stdout)
    assert shown["rollout"] == "cli_test_plain(size=3)"
