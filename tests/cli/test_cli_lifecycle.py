"""``flagware list`` filters and ``flagware stale``, as processes against a real Redis."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from tests.cli.conftest import Cli, Live

DOC: dict[str, Any] = {
    "flags": {
        "checkout_v2": {
            "strategies": [{"type": "everyone"}],
            "owner": "team-pay",
            "tags": ["payments", "q3"],
        },
        "search_box": {
            "strategies": [{"type": "percentage", "percent": 20}],
            "tags": ["ui"],
            "created": "2025-01-01",
            "expires": "2026-01-01",
        },
        "kill_payments": {"strategies": [{"type": "everyone"}], "permanent": True},
        "dark_mode": {"strategies": [{"type": "percentage", "percent": 20}], "owner": "ui"},
    }
}


def _names(result: Any) -> list[str]:
    assert result.returncode == 0, result.stderr
    return [f["name"] for f in json.loads(result.stdout)["flags"]]


def test_list_filters_by_name_tag_owner_and_expiry(cli: Cli, live: Live) -> None:
    live.seed(DOC)
    assert _names(cli("list", "--json")) == sorted(DOC["flags"])
    assert _names(cli("list", "--json", "--search", "CHECK")) == ["checkout_v2"]
    assert _names(cli("list", "--json", "--tag", "payments", "--tag", "q3")) == ["checkout_v2"]
    assert _names(cli("list", "--json", "--tag", "payments", "--tag", "ui")) == []
    assert _names(cli("list", "--json", "--owner", "TEAM-PAY")) == ["checkout_v2"]
    assert _names(cli("list", "--json", "--expired")) == ["search_box"]
    text = cli("list", "--tag", "ui")
    assert text.returncode == 0, text.stderr
    assert "1 of 4 flags match" in text.stdout
    assert "#ui expires 2026-01-01" in text.stdout
    assert "checkout_v2" not in text.stdout


def test_list_and_show_print_the_metadata(cli: Cli, live: Live) -> None:
    live.seed(DOC)
    listed = json.loads(cli("list", "--json").stdout)["flags"][0]
    assert listed["owner"] == "team-pay"
    assert listed["tags"] == ["payments", "q3"]
    assert listed["expires"] is None
    shown = cli("show", "checkout_v2")
    assert "metadata:    owner team-pay #payments #q3" in shown.stdout
    assert json.loads(cli("show", "kill_payments", "--json").stdout)["permanent"] is True


def test_stale_lists_flags_as_a_table_and_json(cli: Cli, live: Live) -> None:
    live.seed(DOC)
    as_of = (datetime.now(timezone.utc) + timedelta(days=31)).isoformat()
    table = cli("stale", "--as-of", as_of)
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].split() == ["FLAG", "REASON", "DETAIL", "SINCE", "OWNER"]
    data = json.loads(cli("stale", "--as-of", as_of, "--json").stdout)
    reasons = {(s["name"], s["reason"]) for s in data["stale"]}
    # kill_payments is on for everyone too, but permanent
    assert reasons == {("checkout_v2", "fully_on"), ("search_box", "expired")}
    assert data["days"] == 30


def test_stale_days_and_fail(cli: Cli, live: Live) -> None:
    live.seed(DOC)
    as_of = (datetime.now(timezone.utc) + timedelta(days=31)).isoformat()
    longer = json.loads(cli("stale", "--as-of", as_of, "--days", "60", "--json").stdout)
    assert [s["name"] for s in longer["stale"]] == ["search_box"]
    assert cli("stale", "--as-of", as_of, "--fail").returncode == 1
    doc = json.loads(json.dumps(DOC))
    del doc["flags"]["search_box"]["expires"]
    live.seed(doc)
    clean = cli("stale", "--fail")
    assert clean.returncode == 0, clean.stderr
    assert "no stale flags" in clean.stdout
    bad = cli("stale", "--as-of", "someday")
    assert bad.returncode == 2
    assert "ISO 8601" in bad.stderr


def test_set_writes_and_removes_the_metadata(cli: Cli, live: Live) -> None:
    live.seed(DOC)
    done = cli(
        "set", "dark_mode", "--owner", "team-ui", "--tags", "ui,q4", "--expires", "2027-02-01"
    )
    assert done.returncode == 0, done.stderr
    flag = live.read()[1]["flags"]["dark_mode"]
    assert (flag["owner"], flag["tags"], flag["expires"]) == ("team-ui", ["ui", "q4"], "2027-02-01")
    bad = cli("set", "kill_payments", "--expires", "2027-02-01")
    assert bad.returncode == 1
    assert "flags.kill_payments.expires: a permanent flag cannot expire" in bad.stderr
    assert "expires" not in live.read()[1]["flags"]["kill_payments"]
    cleared = cli("set", "dark_mode", "--owner", "", "--tags", "", "--expires", "")
    assert cleared.returncode == 0, cleared.stderr
    assert live.read()[1]["flags"]["dark_mode"] == {
        "strategies": [{"type": "percentage", "percent": 20}]
    }


def test_a_flag_the_cli_creates_is_dated_for_stale(cli: Cli, live: Live) -> None:
    live.seed(DOC)
    before = datetime.now(timezone.utc).date().isoformat()
    made = cli("set", "new_banner", "--create", "--percent", "5")
    days = {before, datetime.now(timezone.utc).date().isoformat()}
    assert made.returncode == 0, made.stderr
    assert live.read()[1]["flags"]["new_banner"]["created"] in days
    # An edit keeps the date; a flag made already past its expiry gets none (created may
    # not come after expires).
    assert cli("set", "new_banner", "--percent", "10").returncode == 0
    assert live.read()[1]["flags"]["new_banner"]["created"] in days
    old = cli("set", "old_banner", "--create", "--percent", "5", "--expires", "2020-01-01")
    assert old.returncode == 0, old.stderr
    assert "created" not in live.read()[1]["flags"]["old_banner"]
