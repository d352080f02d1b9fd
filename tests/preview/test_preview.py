"""Rollout impact preview: counts against a brute-force count, exactness, sample files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flagware import Account, Engine, Ruleset
from flagware.preview import SampleError, load_accounts, preview_change

BEFORE: dict[str, Any] = {
    "schema": 1,
    "test_users": ["tester"],
    "flags": {
        "rollout": {"strategies": [{"type": "percentage", "percent": 5}]},
        "listed": {"strategies": [{"type": "accounts", "ids": ["a1", "a2", "a3"]}]},
        "digits": {"strategies": [{"type": "last_digit", "digits": [1]}]},
        "pro_only": {
            "strategies": [
                {"type": "attribute", "attribute": "plan", "op": "eq", "values": ["pro"]}
            ]
        },
        "untouched": {"strategies": [{"type": "percentage", "percent": 50}]},
    },
}


def edited(**flags: Any) -> dict[str, Any]:
    doc = json.loads(json.dumps(BEFORE))
    for name, flag in flags.items():
        if flag is None:
            del doc["flags"][name]
        else:
            doc["flags"][name] = flag
    return doc


def accounts(n: int) -> list[Account]:
    return [Account(f"a{i}", i, {"plan": "pro" if i % 4 == 0 else "free"}) for i in range(n)] + [
        Account("tester", 7)
    ]


def brute_force(doc_before: dict[str, Any], doc_after: dict[str, Any], name: str) -> tuple:
    old, new = Engine(Ruleset.from_dict(doc_before)), Engine(Ruleset.from_dict(doc_after))
    was = [old.evaluate_all(a)[name] for a in accounts(2000) if a.id != "tester"]
    will = [new.evaluate_all(a)[name] for a in accounts(2000) if a.id != "tester"]
    pairs = list(zip(was, will, strict=True))
    return (
        sum(was),
        sum(will),
        sum(1 for w, n in pairs if n and not w),
        sum(1 for w, n in pairs if w and not n),
    )


AFTER = edited(
    rollout={"strategies": [{"type": "percentage", "percent": 25}]},
    listed={"strategies": [{"type": "accounts", "ids": ["a1", "a4", "a5"]}]},
    digits={"strategies": [{"type": "last_digit", "digits": [1, 2, 3]}]},
    pro_only={
        "strategies": [
            {"type": "attribute", "attribute": "plan", "op": "in", "values": ["pro", "free"]}
        ]
    },
)


def test_counts_match_a_brute_force_count_and_only_changed_flags_are_previewed() -> None:
    impact = preview_change(Ruleset.from_dict(BEFORE), AFTER, accounts(2000))
    assert list(impact.flags) == ["rollout", "listed", "digits", "pro_only"]
    assert impact.sampled == 2000
    assert impact.test_users == 1
    for name, figures in impact.flags.items():
        got = (figures.on_before, figures.on_after, figures.turned_on, figures.turned_off)
        assert got == brute_force(BEFORE, AFTER, name), name
    listed = impact.flags["listed"]
    assert (listed.turned_on, listed.turned_off, listed.net) == (2, 2, 0)
    assert impact.flags["digits"].net == 400  # digits 2 and 3 of 2,000 numbers


def test_ids_and_numbers_are_exact_percentages_and_attributes_estimated() -> None:
    impact = preview_change(Ruleset.from_dict(BEFORE), AFTER, accounts(100))
    exact = {name: figures.exact for name, figures in impact.flags.items()}
    assert exact == {"rollout": False, "listed": True, "digits": True, "pro_only": False}
    killed = edited(
        rollout={"enabled": False, "strategies": BEFORE["flags"]["rollout"]["strategies"]}
    )
    assert preview_change(Ruleset.from_dict(BEFORE), killed, accounts(100)).flags["rollout"].exact


def test_a_percentage_estimate_is_close_to_its_percent() -> None:
    impact = preview_change(Ruleset.from_dict(BEFORE), AFTER, accounts(20_000))
    rollout = impact.flags["rollout"]
    assert abs(rollout.on_after / rollout.sampled - 0.25) < 0.015
    assert rollout.turned_off == 0  # a wider rollout keeps everyone it had


def test_the_summary_line() -> None:
    impact = preview_change(Ruleset.from_dict(BEFORE), AFTER, accounts(2000))
    digits = str(impact.flags["digits"])
    assert digits == "digits: +400 accounts (10.0 % -> 30.0 % of 2,000 sampled), exact"
    assert str(impact.flags["listed"]).startswith("listed: +2 / -2 accounts (0.1 % -> 0.1 %")
    assert str(impact).endswith("(1 test users in the sample not counted)")


def test_a_removed_flag_falls_to_the_unknown_policy() -> None:
    before = Ruleset.from_dict(BEFORE)
    released = preview_change(before, edited(digits=None), accounts(1000)).flags["digits"]
    assert (released.status, released.on_after) == ("removed", 1000)
    hidden = preview_change(before, {**edited(digits=None), "unknown": "hidden"}, accounts(1000))
    assert hidden.flags["digits"].on_after == 0


def test_named_flags_and_an_unchanged_ruleset() -> None:
    before = Ruleset.from_dict(BEFORE)
    assert preview_change(before, BEFORE, accounts(10)).flags == {}
    only = preview_change(before, AFTER, accounts(10), flags=["untouched"]).flags["untouched"]
    assert (only.turned_on, only.turned_off) == (0, 0)


def test_an_invalid_document_is_refused() -> None:
    bad = edited(rollout={"strategies": [{"type": "percentage", "percent": 250}]})
    with pytest.raises(ValueError, match=r"flags\.rollout\.strategies\[0\]\.percent"):
        preview_change(Ruleset.from_dict(BEFORE), bad, accounts(10))


def test_sample_files_in_three_formats(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(
        '{"id": "a1", "number": 11, "plan": "pro"}\n\n{"id": "a2", "attributes": {"seats": 3}}\n',
        encoding="utf-8",
    )
    (tmp_path / "a.json").write_text('[{"id": "a1", "number": 11, "plan": "pro"}]', "utf-8")
    (tmp_path / "a.csv").write_text("id,number,plan,seats,zip\na1,11,pro,3,01234\na2,,free,,\n")
    jsonl = load_accounts(tmp_path / "a.jsonl")
    assert jsonl == [Account("a1", 11, {"plan": "pro"}), Account("a2", None, {"seats": 3})]
    assert load_accounts(tmp_path / "a.json") == jsonl[:1]
    assert load_accounts(tmp_path / "a.csv") == [
        Account("a1", 11, {"plan": "pro", "seats": 3, "zip": "01234"}),
        Account("a2", None, {"plan": "free"}),
    ]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("a.jsonl", '{"id": "a1"}\n{"number": 3}\n', r"a\.jsonl:2: id: missing"),
        ("a.jsonl", '{"id": "a1", "number": "x"}\n', r"a\.jsonl:1: number: must be an integer"),
        ("a.jsonl", '{"id": "a1"\n', r"a\.jsonl:1: not JSON"),
        ("a.jsonl", '["a1"]\n', r"a\.jsonl:1: expected an object"),
        ("a.json", '{"id": "a1"}', r"expected an array"),
        ("a.csv", "name\nx\n", r"a\.csv:1: id: the header has no id column"),
        ("a.csv", "id,number\na1,1.5\n", r"a\.csv:2: number: must be an integer"),
        ("a.csv", "id,number\n,1\n", r"a\.csv:2: id: must be a non-empty string"),
        ("a.txt", "", r"use \.jsonl, \.ndjson, \.json or \.csv"),
    ],
)
def test_bad_sample_files_name_the_line_and_field(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(SampleError, match=message):
        load_accounts(tmp_path / name)
