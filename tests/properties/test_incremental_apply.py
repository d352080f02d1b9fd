"""Incremental apply, fuzzed: a ruleset read as an edit of the one before (the stored
canonical text re-read against it, or a store's draft) and compiled from the plan before
is exactly what a cold start reads and compiles: the same ruleset, flag order included,
and the same flags for any account."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flagware import Account, Engine, Ruleset, RulesetError
from flagware.ruleset import canonical_json, parse_text
from flagware.ruleset._canonical import assemble
from tests.properties.generators import accounts, near_valid_documents, valid_documents

# What an edit does to each flag of the ruleset before it: keep, replace, delete; plus
# flags added from another document.
ACTIONS = st.lists(st.sampled_from(["keep", "keep", "keep", "replace", "delete"]), max_size=12)


def edited(before: Ruleset, other: dict[str, Any], actions: list[str], top: bool) -> dict[str, Any]:
    doc = before.to_dict()
    replacements = iter(list(other.get("flags", {}).values()))
    for name, action in zip(list(doc["flags"]), actions, strict=False):
        if action == "delete":
            del doc["flags"][name]
        elif action == "replace":
            doc["flags"][name] = next(replacements, {"enabled": False})
    for name, flag in other.get("flags", {}).items():
        doc["flags"].setdefault(name, flag)
    if top:
        doc["test_users"] = other.get("test_users", [])
        doc["unknown"] = other.get("unknown", "released")
        doc["segments"] = other.get("segments", {})
    return doc


def refusal(read: Callable[[], object]) -> RulesetError | None:
    try:
        read()
    except RulesetError as exc:
        return exc
    return None


def same_flags(engine: Engine, cold: Engine, people: list[Account]) -> None:
    for account in people:
        for test_user in (False, True):
            ours = engine.evaluate_all(account, now=1.8e9, test_user=test_user)
            theirs = cold.evaluate_all(account, now=1.8e9, test_user=test_user)
            assert ours.as_dict() == theirs.as_dict()
            assert ours.variants() == theirs.variants()


@given(
    valid_documents(), valid_documents(), ACTIONS, st.booleans(), st.lists(accounts(), max_size=4)
)
def test_a_reread_edit_is_the_cold_read(
    first: dict[str, Any],
    other: dict[str, Any],
    actions: list[str],
    top: bool,
    people: list[Account],
) -> None:
    before = Ruleset.from_dict(first)
    assert before._canonical.data == canonical_json(before.to_dict()).encode()
    doc = edited(before, other, actions, top)
    refused = refusal(lambda: Ruleset.from_dict(doc))  # a merged document can go over a limit
    if refused is not None:
        with pytest.raises(RulesetError) as also:
            parse_text(canonical_json(doc).encode(), previous=before)
        # The same problems; a canonical text lists its flags in name order.
        assert set(also.value.problems) == set(refused.problems)
        return
    cold = Ruleset.from_dict(doc)
    raw = cold._canonical.data
    warm = parse_text(raw, previous=before)
    assert warm == cold
    assert warm._canonical == assemble(
        warm.flags, warm.test_users, warm.unknown, warm._segments_json
    )
    assert list(warm.flags) == list(parse_text(raw).flags)
    kept = warm._segments_json == before._segments_json  # new segments: every flag read again
    for name, flag in warm.flags.items():  # unchanged flags are kept, not read again
        if (
            kept
            and before.flags.get(name) is not None
            and before.flags[name]._canonical == flag._canonical
        ):
            assert flag is before.flags[name]
    same_flags(Engine(warm, previous=Engine(before)), Engine(parse_text(raw)), people)


@given(valid_documents(), st.data())
def test_a_drafted_edit_is_the_cold_read(first: dict[str, Any], data: st.DataObject) -> None:
    # As stores hold it: counted from the canonical form (`description: ""` is no value there).
    before = Ruleset.from_dict(Ruleset.from_dict(first)._shared_document())
    if data.draw(st.booleans()):
        assert before._canonical  # made: the edit's is spliced from it
    names = sorted(before.flags)
    touched = frozenset(data.draw(st.lists(st.sampled_from(names), max_size=3)) if names else ())
    added = data.draw(st.sampled_from(["", "brand_new"]))
    draft, views = before._draft(touched | ({added} if added else set()))
    for name in touched:
        flag = data.draw(near_valid_documents())
        flags = flag.get("flags") if isinstance(flag, dict) else None
        if isinstance(flags, dict) and flags:
            draft["flags"][name] = next(iter(flags.values()))
        else:
            del draft["flags"][name]
    if added:
        draft["flags"][added] = {"strategies": [{"type": "percentage", "percent": 5}]}
    changed = Ruleset._edit_of(draft, views)
    assert changed >= {name for name in touched if name not in draft["flags"]}
    refused = refusal(lambda: Ruleset.from_dict(draft))
    if refused is not None:
        with pytest.raises(RulesetError) as also:
            before._edited(draft, changed)
        assert set(also.value.problems) == set(refused.problems)
        return
    cold = Ruleset.from_dict(draft)
    warm = before._edited(draft, changed)
    assert warm == cold
    assert warm._canonical == assemble(
        warm.flags, warm.test_users, warm.unknown, warm._segments_json
    )
    assert warm._base is not None
    assert cold._base is not None
    assert warm._base.counts == cold._base.counts  # the limits see what a cold read counts
    assert list(warm.flags) == list(cold.flags)
    people = [Account(f"acct-{i}", number=i, attributes={"country": "NL"}) for i in range(20)]
    same_flags(Engine(warm, previous=Engine(before)), Engine(cold), people)


SPLICES = [
    ({}, {"only": {}}),  # into an empty ruleset
    ({"only": {}}, {}),  # its only flag removed
    ({"b": {}, "c": {}}, {"a": {}, "b": {}, "c": {}}),  # added first
    ({"a": {}, "b": {}}, {"a": {}, "b": {}, "c": {}}),  # added last
    ({"a": {}, "c": {}}, {"a": {}, "b": {"enabled": False}, "c": {}}),  # added between
    ({"a": {}, "b": {}, "c": {}}, {"b": {}, "c": {}}),  # first removed
    ({"a": {}, "b": {}, "c": {}}, {"a": {}, "b": {}}),  # last removed
    ({"a": {}, "b": {}, "c": {}}, {"a": {}, "b": {"description": "longer now"}, "c": {}}),
    ({"a": {}, "b": {}, "c": {}}, {"aa": {}, "c": {}, "d": {}}),  # several at once
]


@pytest.mark.parametrize(("before", "after"), SPLICES)
def test_a_spliced_canonical_text_is_the_assembled_one(
    before: dict[str, Any], after: dict[str, Any]
) -> None:
    old = Ruleset.from_dict({"flags": before})
    assert old._canonical  # made, so that the edit's is spliced from it
    changed = {n for n in before.keys() | after.keys() if before.get(n) != after.get(n)}
    new = old._edited({"flags": after, "test_users": ["t"]}, changed)
    assert "_canonical" in new.__dict__  # spliced, not assembled
    assert new._canonical == assemble(new.flags, new.test_users, new.unknown)
    assert new._canonical.data == canonical_json(new.to_dict()).encode()
