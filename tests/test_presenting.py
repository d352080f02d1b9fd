"""Flags and rulesets in words: what the command line and the admin panel show operators."""

from __future__ import annotations

from typing import Any

import pytest

import flagware
from flagware._presenting import (
    document_diff,
    document_text,
    rollout_summary,
    ruleset_diff,
    strategy_summary,
)


@flagware.register_strategy("presenting_region")
class Region(flagware.Strategy):
    def __init__(self, regions: list[str]) -> None:
        self.regions = regions

    def matches(self, account: flagware.Account) -> bool:
        return account.attributes.get("region") in self.regions


def flag(doc: dict[str, Any]) -> flagware.Flag:
    return flagware.Ruleset.from_dict({"flags": {"f": doc}}).flags["f"]


@pytest.mark.parametrize(
    ("strategy", "words"),
    [
        ({"type": "percentage", "percent": 25}, "25% of accounts"),
        ({"type": "percentage", "percent": 12.5}, "12.5% of accounts"),
        ({"type": "accounts", "ids": ["a", "b"]}, "accounts a, b"),
        ({"type": "accounts", "ids": ["a", "b", "c", "d", "e"]}, "accounts a, b, c +2 more"),
        ({"type": "last_digit", "digits": [1, 2]}, "last digit 1, 2"),
        (
            {"type": "attribute", "attribute": "country", "op": "in", "values": ["NL", "DE"]},
            "country in NL, DE",
        ),
        ({"type": "schedule", "after": "2026-12-01T00:00:00Z"}, "after 2026-12-01T00:00:00Z"),
        (
            {"type": "schedule", "after": "2026-12-01T00:00:00Z", "before": "2027-01-01T00:00:00Z"},
            "after 2026-12-01T00:00:00Z and before 2027-01-01T00:00:00Z",
        ),
        ({"type": "everyone"}, "everyone"),
        ({"type": "presenting_region", "regions": ["EU"]}, "presenting_region(regions=['EU'])"),
        (
            {
                "type": "percentage",
                "percent": 10,
                "when": [{"attribute": "plan", "op": "eq", "values": ["pro"]}],
            },
            "10% of accounts when plan eq pro",
        ),
    ],
)
def test_each_strategy_in_a_few_words(strategy: dict[str, Any], words: str) -> None:
    assert strategy_summary(flag({"strategies": [strategy]}).strategies[0]) == words


def test_a_rollout_in_one_line() -> None:
    assert rollout_summary(flag({"strategies": []})) == "test users only"
    assert rollout_summary(flag({"enabled": False, "strategies": [{"type": "everyone"}]})) == (
        "off for everyone (kill switch)"
    )
    both = flag({"strategies": [{"type": "percentage", "percent": 5}, {"type": "everyone"}]})
    assert rollout_summary(both) == "5% of accounts; everyone"


def test_documents_read_with_whole_numbers_and_sorted_keys() -> None:
    assert document_text({"b": 25.0, "a": [1.5, 2.0]}) == (
        '{\n  "a": [\n    1.5,\n    2\n  ],\n  "b": 25\n}\n'
    )
    assert document_text(None) == ""
    assert document_diff({"a": 1}, {"a": 1}) == []
    assert document_diff({"a": 1}, {"a": 2}, old_label="v1", new_label="v2")[:2] == [
        "--- v1",
        "+++ v2",
    ]


def test_a_ruleset_diff_has_one_titled_section_per_flag_or_setting() -> None:
    old = {
        "test_users": ["t1"],
        "unknown": "released",
        "flags": {"kept": {"strategies": []}, "gone": {"strategies": []}, "x": {"a": 1}},
    }
    new = {
        "test_users": ["t1", "t2"],
        "unknown": "hidden",
        "flags": {"kept": {"strategies": []}, "added": {"strategies": []}, "x": {"a": 2}},
    }
    sections = dict(ruleset_diff(old, new, old_label="v1", new_label="v2"))
    assert list(sections) == [
        "flag added (added)",
        "flag gone (removed)",
        "flag x",
        "test users",
        "unknown",
    ]
    assert '-  "a": 1' in sections["flag x"]
    assert '+  "a": 2' in sections["flag x"]
    assert '+  "t2"' in sections["test users"]
    assert ruleset_diff(old, old) == []
