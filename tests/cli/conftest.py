"""Fixtures of the CLI tests: the real ``flagware`` script, a real Redis, ruleset files.

Nothing is mocked: subprocess tests run the console script that ``pip install`` made, next
to the interpreter running the tests, against the suite's redis-server; in-process tests
use click's CliRunner on the same group.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from flagware import Ruleset
from flagware.stores.redis import RedisStore
from tests.redis_server import RedisServer

FLAGWARE = Path(sys.executable).with_name("flagware")

RULES = """\
schema: 1
test_users: [testuser1]
flags:
  new_checkout:
    description: The new checkout flow
    strategies:
      - {type: accounts, ids: [acct-42, acct-7]}
      - {type: percentage, percent: 10, when: [{attribute: plan, op: eq, values: [pro]}]}
  dark_mode:
    strategies:
      - {type: percentage, percent: 25}
  lucky_digits:
    strategies:
      - {type: last_digit, digits: [1, 2]}
  old_search:
    enabled: false
  checkout_button:
    strategies: [{type: everyone}]
    variants: {control: 50, green: 50}
"""
DOC: dict[str, Any] = Ruleset.from_dict(yaml.safe_load(RULES)).to_dict()


@pytest.fixture(autouse=True)
def _no_flagware_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests set the FLAGWARE_* variables they mean; none leak in from the shell."""
    for name in list(os.environ):
        if name.startswith("FLAGWARE_"):
            monkeypatch.delenv(name)


@dataclass
class Cli:
    """Runs the ``flagware`` script as a process with a given environment."""

    env: dict[str, str] = field(default_factory=dict)

    def __call__(
        self, *args: str, input: str = "", env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("FLAGWARE_")}
        environment.update(self.env)
        environment.update(env or {})
        return subprocess.run(
            [str(FLAGWARE), *args],
            input=input,
            capture_output=True,
            text=True,
            env=environment,
            timeout=60,
            check=False,
        )


@pytest.fixture
def cli(redis_server: RedisServer, namespace: str) -> Cli:
    """The script, pointed at a fresh namespace of the suite's Redis, acting as 'tester'."""
    return Cli(
        {
            "FLAGWARE_REDIS_URL": redis_server.url,
            "FLAGWARE_NAMESPACE": namespace,
            "FLAGWARE_ACTOR": "tester",
        }
    )


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "flags.yaml"
    path.write_text(RULES, encoding="utf-8")
    return path


class Live:
    """Reads and seeds a namespace through a RedisStore of its own (not the CLI's code)."""

    def __init__(self, server: RedisServer, namespace: str) -> None:
        self.server, self.namespace = server, namespace

    def open(self) -> RedisStore:
        return RedisStore.from_url(
            self.server.url, namespace=self.namespace, snapshot_path=False, poll_interval=0.1
        )

    def read(self) -> tuple[int, dict[str, Any]]:
        """The version and document in Redis now."""
        with self.open() as store:
            assert store.health().source == "redis"
            return store.version, store.ruleset().to_dict()

    def seed(self, *docs: dict[str, Any], actor: str = "seed") -> int:
        with self.open() as store:
            version = 0
            for doc in docs:
                version = store.save(doc, actor=actor).version
            return version


@pytest.fixture
def live(redis_server: RedisServer, namespace: str) -> Live:
    return Live(redis_server, namespace)
