"""JsonLinesHook: one JSON object per exposure, to a stream, a file or the logger."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

import flagware.exposures as fx
from flagware import Account, MemoryStore
from flagware.exposures import JsonLinesHook

RULES = {"flags": {"beta": {"strategies": [{"type": "everyone"}], "variants": {"v1": 100}}}}


def expose(store: MemoryStore, account: str = "acct-1") -> None:
    flags = fx.record_exposures(store.engine().evaluate_all(Account(account)), store)
    flags.is_enabled("beta")
    flags.is_enabled("beta")
    flags.is_enabled("ghost")
    fx.flush()


def test_lines_on_a_stream() -> None:
    out = io.StringIO()
    fx.add_hook(JsonLinesHook(out))
    expose(MemoryStore(RULES))
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line.pop("at") > 0 for line in lines] == [True, True]
    assert lines == [
        {
            "event": "flagware.exposure",
            "flag": "beta",
            "value": True,
            "variant": "v1",
            "reason": "strategy everyone matched (strategies[0])",
            "account_id": "acct-1",
            "ruleset_version": 1,
        },
        {
            "event": "flagware.exposure",
            "flag": "ghost",
            "value": True,
            "variant": None,
            "reason": "not in ruleset: unknown=released",
            "account_id": "acct-1",
            "ruleset_version": 1,
        },
    ]


def test_lines_appended_to_a_file(tmp_path: Path) -> None:
    path = tmp_path / "exposures.jsonl"
    path.write_text('{"earlier": true}\n')
    hook = fx.add_hook(JsonLinesHook(path))
    expose(MemoryStore(RULES), "acct-9")
    fx.remove_hook(hook)  # closes the file
    lines = path.read_text().splitlines()
    assert len(lines) == 3
    assert json.loads(lines[0]) == {"earlier": True}
    assert {json.loads(line)["account_id"] for line in lines[1:]} == {"acct-9"}


def test_lines_through_the_logger(caplog: pytest.LogCaptureFixture) -> None:
    fx.add_hook(JsonLinesHook())
    with caplog.at_level(logging.INFO, logger="flagware.exposures"):
        expose(MemoryStore(RULES))
    records = [r for r in caplog.records if r.name == "flagware.exposures"]
    assert [json.loads(r.getMessage())["flag"] for r in records] == ["beta", "ghost"]
