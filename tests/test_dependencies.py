"""A change reaches flags beyond those it edits, through segments and prerequisites: the
audit history, the OpenFeature provider's change events and the rollout preview name them."""

from __future__ import annotations

from typing import Any

from flagware import Account, MemoryStore, Ruleset
from flagware.openfeature._mapping import changed_flags as openfeature_changed
from flagware.preview import preview_change
from flagware.ruleset.dependencies import affected_flags, changed_segments, segment_users

DOC: dict[str, Any] = {
    "segments": {
        "staff": {"strategies": [{"type": "accounts", "ids": ["acct-1"]}]},
        "beta": {"strategies": [{"type": "segment", "name": "staff"}]},
        "other": {"strategies": [{"type": "everyone"}]},
    },
    "flags": {
        "uses_beta": {"strategies": [{"type": "segment", "name": "beta"}]},
        "requires_it": {
            "prerequisites": [{"flag": "uses_beta"}],
            "strategies": [{"type": "everyone"}],
        },
        "chained": {
            "prerequisites": [{"flag": "requires_it"}],
            "strategies": [{"type": "everyone"}],
        },
        "unrelated": {"strategies": [{"type": "segment", "name": "other"}]},
    },
}
STAFF_IS_EVERYONE = {"strategies": [{"type": "everyone"}]}


def edited_segment() -> Ruleset:
    doc = Ruleset.from_dict(DOC).to_dict()
    doc["segments"]["staff"] = STAFF_IS_EVERYONE
    return Ruleset.from_dict(doc)


def test_a_segment_edit_reaches_its_users_and_what_requires_them() -> None:
    before, after = Ruleset.from_dict(DOC), edited_segment()
    old, new = before.to_dict(), after.to_dict()
    assert changed_segments(old, new) == {"staff": "changed"}
    assert affected_flags(old, new, []) == {"uses_beta", "requires_it", "chained"}
    assert affected_flags(old, old, []) == set()


def test_a_flag_edit_reaches_the_flags_requiring_it() -> None:
    doc = Ruleset.from_dict(DOC).to_dict()
    assert affected_flags(doc, doc, ["uses_beta"]) == {"requires_it", "chained"}
    assert affected_flags(doc, doc, ["unrelated"]) == set()


def test_the_history_names_the_segment_and_the_flags_it_reaches() -> None:
    store = MemoryStore(DOC)
    store.set_segment("staff", STAFF_IS_EVERYONE, actor="ann")
    (change, *_) = store.history(limit=1)
    assert change.summary == {
        "segments_changed": ["staff"],
        "flags_affected": ["chained", "requires_it", "uses_beta"],
    }
    assert change.touches("chained")
    assert not change.touches("unrelated")


def test_openfeature_hears_of_every_flag_a_segment_edit_reaches() -> None:
    assert openfeature_changed(Ruleset.from_dict(DOC), edited_segment()) == [
        "chained",
        "requires_it",
        "uses_beta",
    ]


def test_the_preview_counts_a_segment_edit_for_every_flag_it_reaches() -> None:
    people = [Account(f"acct-{i}") for i in range(10)]
    impact = preview_change(Ruleset.from_dict(DOC), edited_segment(), people)
    assert list(impact.flags) == ["uses_beta", "requires_it", "chained"]
    for flag in impact.flags.values():
        assert (flag.status, flag.on_before, flag.on_after, flag.exact) == ("changed", 1, 10, False)


def test_a_segment_is_used_by_flags_and_by_segments() -> None:
    doc = Ruleset.from_dict(DOC).to_dict()
    assert segment_users(doc, "beta") == ["uses_beta"]
    assert segment_users(doc, "staff") == ["segment beta"]
    assert segment_users(doc, "nobody") == []
