"""``set --dry-run --sample`` and ``push --dry-run --sample`` on a real Redis: the impact is
printed and nothing is written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from flagware.stores.redis import RedisStore
from tests.redis_server import RedisServer

FLAGWARE = Path(sys.executable).with_name("flagware")
RULES = {
    "schema": 1,
    "test_users": ["tester"],
    "flags": {"new_checkout": {"strategies": [{"type": "accounts", "ids": ["acct-1"]}]}},
}


@pytest.fixture
def seeded(redis_server: RedisServer, namespace: str) -> RedisStore:
    store = RedisStore.from_url(redis_server.url, namespace=namespace, snapshot_path=False)
    store.save(RULES, actor="seed")
    yield store
    store.close()


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    path = tmp_path / "accounts.csv"
    rows = ["id,number,plan", *(f"acct-{i},{i},{'pro' if i % 2 else 'free'}" for i in range(1000))]
    path.write_text("\n".join([*rows, "tester,5,pro"]) + "\n", encoding="utf-8")
    return path


def flagware(
    redis_server: RedisServer, namespace: str, *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FLAGWARE), "--redis-url", redis_server.url, "--namespace", namespace, *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def stored(server: RedisServer, namespace: str) -> tuple[int, dict[str, object]]:
    with RedisStore.from_url(server.url, namespace=namespace, snapshot_path=False) as store:
        return store.version, store.ruleset().to_dict()


def test_set_dry_run_prints_the_impact_and_writes_nothing(
    seeded: RedisStore, redis_server: RedisServer, namespace: str, sample: Path
) -> None:
    before = stored(redis_server, namespace)
    result = flagware(
        redis_server, namespace, "set", "new_checkout", "--last-digit", "1,2", "--dry-run",
        "--sample", str(sample),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "dry run: new_checkout would become (version 1)" in result.stdout
    assert "impact on 1,000 sampled accounts:" in result.stdout
    assert "new_checkout: +199 accounts (0.1 % -> 20.0 % of 1,000 sampled), exact" in (
        result.stdout
    )
    assert "nothing was written" in result.stdout
    assert stored(redis_server, namespace) == before
    assert len(seeded.history()) == 1


def test_set_dry_run_json(
    seeded: RedisStore, redis_server: RedisServer, namespace: str, sample: Path
) -> None:
    result = flagware(
        redis_server, namespace, "set", "new_checkout", "--percent", "30", "--dry-run",
        "--sample", str(sample), "--json",
    )  # fmt: skip
    data = json.loads(result.stdout)
    assert data["dry_run"] is True
    assert data["changed"] is True
    (flag,) = data["impact"]["flags"]
    assert flag["flag"] == "new_checkout"
    assert flag["exact"] is False
    assert data["impact"]["test_users"] == 1
    assert 0.25 < flag["on_after"] / flag["sampled"] < 0.36
    assert stored(redis_server, namespace)[0] == 1


def test_a_dry_run_of_an_invalid_edit_is_refused(
    seeded: RedisStore, redis_server: RedisServer, namespace: str
) -> None:
    result = flagware(redis_server, namespace, "set", "brand_new", "--create", "--dry-run")
    assert result.returncode == 0  # a new flag with no strategy is valid: test users only
    bad = flagware(redis_server, namespace, "set", "new_checkout", "--dry-run", "--add-account", "")
    assert bad.returncode == 1
    assert stored(redis_server, namespace)[0] == 1


def test_sample_needs_dry_run_and_a_readable_file(
    seeded: RedisStore, redis_server: RedisServer, namespace: str, tmp_path: Path
) -> None:
    rows = tmp_path / "bad.jsonl"
    rows.write_text('{"id": "a"}\n{"number": 1}\n', encoding="utf-8")
    needs = flagware(
        redis_server, namespace, "set", "new_checkout", "--percent", "5", "--sample", str(rows)
    )
    assert needs.returncode == 2
    assert "give --dry-run too" in needs.stderr
    bad = flagware(
        redis_server, namespace, "set", "new_checkout", "--percent", "5", "--dry-run",
        "--sample", str(rows),
    )  # fmt: skip
    assert bad.returncode == 2
    assert "bad.jsonl:2: id: missing" in bad.stderr
    assert stored(redis_server, namespace)[0] == 1


def test_push_dry_run_with_a_sample(
    seeded: RedisStore, redis_server: RedisServer, namespace: str, sample: Path, tmp_path: Path
) -> None:
    new = json.loads(json.dumps(RULES))
    new["flags"]["new_checkout"]["strategies"].append(
        {"type": "attribute", "attribute": "plan", "op": "eq", "values": ["pro"]}
    )
    new["flags"]["other"] = {"strategies": [{"type": "everyone"}]}
    file = tmp_path / "flags.yaml"
    file.write_text(yaml.safe_dump(new), encoding="utf-8")
    result = flagware(
        redis_server, namespace, "push", str(file), "--dry-run", "--sample", str(sample)
    )
    assert result.returncode == 0, result.stderr
    assert "new_checkout: +499 accounts (0.1 % -> 50.0 % of 1,000 sampled), estimated" in (
        result.stdout
    )
    assert "other (added): +0 accounts (100.0 % -> 100.0 % of 1,000 sampled), exact" in (
        result.stdout
    )
    assert stored(redis_server, namespace)[0] == 1
