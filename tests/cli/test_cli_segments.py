"""``flagware segments`` and prerequisites on the command line, as processes against a
real Redis: list, show, set and delete segments; who a gated flag is released to, and why
it is off for an account."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.cli.conftest import Cli, Live

DOC: dict[str, Any] = {
    "segments": {
        "beta": {
            "description": "friendly",
            "strategies": [{"type": "accounts", "ids": ["acct-1"]}],
        },
        "unused": {"strategies": [{"type": "everyone"}]},
    },
    "flags": {
        "checkout": {"strategies": [{"type": "segment", "name": "beta"}]},
        "banner": {"prerequisites": [{"flag": "checkout"}], "strategies": [{"type": "everyone"}]},
    },
}


def test_segments_lists_each_audience_and_the_flags_using_it(cli: Cli, live: Live) -> None:
    live.seed(DOC)
    table = cli("segments")
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[1].split() == ["beta", "accounts", "acct-1", "checkout"]
    listed = json.loads(cli("segments", "--json").stdout)["segments"]
    assert [(s["name"], s["used_by"]) for s in listed] == [("beta", ["checkout"]), ("unused", [])]
    shown = cli("segments", "show", "beta")
    assert "description: friendly" in shown.stdout
    assert "used by:     checkout" in shown.stdout
    missing = cli("segments", "show", "bta")
    assert missing.returncode == 1
    assert "did you mean beta?" in missing.stderr


def test_segments_set_moves_every_flag_using_it(cli: Cli, live: Live, tmp_path: Path) -> None:
    live.seed(DOC)
    body = tmp_path / "beta.yaml"
    body.write_text("strategies:\n  - {type: accounts, ids: [acct-9]}\n", encoding="utf-8")
    saved = cli("segments", "set", "beta", str(body))
    assert saved.returncode == 0, saved.stderr
    assert "used by checkout" in saved.stdout
    on = json.loads(cli("eval", "--account", "acct-9", "--json").stdout)
    assert {name: f["enabled"] for name, f in on["flags"].items()} == {
        "checkout": True,
        "banner": True,
    }
    body.write_text("strategies: []\n", encoding="utf-8")
    refused = cli("segments", "set", "beta", str(body))
    assert refused.returncode == 1
    assert "segments.beta.strategies" in refused.stderr
    assert live.read()[1]["segments"]["beta"]["strategies"][0]["ids"] == ["acct-9"]


def test_segments_delete_refuses_one_in_use(cli: Cli, live: Live) -> None:
    live.seed(DOC)
    refused = cli("segments", "delete", "beta")
    assert refused.returncode == 1
    assert "used by checkout" in refused.stderr
    deleted = cli("segments", "delete", "unused")
    assert deleted.returncode == 0, deleted.stderr
    assert list(live.read()[1]["segments"]) == ["beta"]


def test_a_gated_flag_says_what_it_waits_for(cli: Cli, live: Live) -> None:
    live.seed(DOC)
    listed = cli("list")
    assert any(
        line.split()[:2] == ["banner", "on"] and "where checkout: everyone" in line
        for line in listed.stdout.splitlines()
    )
    off = json.loads(cli("eval", "--account", "acct-2", "--json").stdout)
    assert off["flags"]["banner"]["reason"] == "prerequisite checkout is off (prerequisites[0])"


def test_validate_counts_segments_and_names_a_bad_one(cli: Cli, tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(DOC), encoding="utf-8")
    result = cli("validate", str(good))
    assert result.stdout.strip() == f"{good}: ok (2 flags, 0 test users, 2 segments)"
    bad = tmp_path / "bad.json"
    broken = {**DOC, "segments": {"beta": {"strategies": [{"type": "segment", "name": "beta"}]}}}
    bad.write_text(json.dumps(broken), encoding="utf-8")
    refused = cli("validate", str(bad))
    assert refused.returncode == 1
    assert "segments.beta.strategies[0].name: segments form a cycle: beta -> beta" in refused.stdout
