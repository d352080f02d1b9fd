"""Segments: named audiences defined once and referenced from any flag, validated (unknown
names, cycles, limits), evaluated alike by the plan, the checkers and the reference, and
followed at once by every flag using one when it changes."""

from __future__ import annotations

from typing import Any

import pytest

from flagware import Account, Engine, MemoryStore, Ruleset, RulesetError, UnknownSegment
from flagware.engine import _reference as reference
from flagware.ruleset import parse_text
from flagware.ruleset.segments import MAX_NESTING
from flagware.strategies import BUILTIN_STRATEGIES
from flagware.strategies.segment import InSegment

PEOPLE = [
    Account(f"acct-{i}", number=i, attributes={"country": ["NL", "DE", "US"][i % 3]})
    for i in range(400)
]


def segment_use(name: str, **more: Any) -> dict[str, Any]:
    return {"type": "segment", "name": name, **more}


def doc_with(segments: dict[str, Any], **flags: Any) -> dict[str, Any]:
    return {"segments": segments, "flags": flags}


def on_for(engine: Engine, flag: str) -> set[str]:
    """Who has ``flag``, by every way of asking, which must agree."""
    by_plan = {a.id for a in PEOPLE if engine.evaluate_all(a)[flag]}
    by_checker = {a.id for a in PEOPLE if engine.is_released_to(flag, a)}
    by_reference = {a.id for a in PEOPLE if reference.decide(engine.ruleset, flag, a, 0.0)[0]}
    assert by_plan == by_checker == by_reference
    return by_plan


def problems(doc: dict[str, Any]) -> list[str]:
    with pytest.raises(RulesetError) as info:
        Ruleset.from_dict(doc)
    return list(info.value.problems)


BETA = {
    "strategies": [
        {"type": "accounts", "ids": ["acct-1", "acct-2"]},
        {"type": "attribute", "attribute": "country", "op": "eq", "values": ["NL"]},
    ]
}


def test_a_flag_using_a_segment_is_on_where_any_of_its_strategies_matches() -> None:
    engine = Engine(
        Ruleset.from_dict(doc_with({"beta": BETA}, f={"strategies": [segment_use("beta")]}))
    )
    expected = {"acct-1", "acct-2"} | {a.id for a in PEOPLE if a.attributes["country"] == "NL"}
    assert on_for(engine, "f") == expected
    assert engine.explain("f", PEOPLE[1]).reason == "strategy segment matched (strategies[0])"


def test_a_percentage_in_a_segment_is_the_same_slice_in_every_flag() -> None:
    tenth = {"strategies": [{"type": "percentage", "percent": 30}]}
    doc = doc_with(
        {"tenth": tenth},
        a={"strategies": [segment_use("tenth")]},
        b={"strategies": [segment_use("tenth")], "salt": "something else"},
        own={"strategies": [{"type": "percentage", "percent": 30}]},
    )
    engine = Engine(Ruleset.from_dict(doc))
    a, b, own = on_for(engine, "a"), on_for(engine, "b"), on_for(engine, "own")
    assert a == b
    assert 0.2 < len(a) / len(PEOPLE) < 0.4
    assert a != own  # the flag's own rollout buckets by its own salt


def test_a_segment_rollout_beside_the_flags_own_rollout_keeps_both() -> None:
    # The plan keeps one rollout per flag (its widest); a segment's must not be merged in.
    doc = doc_with(
        {"half": {"strategies": [{"type": "percentage", "percent": 50}]}},
        f={"strategies": [{"type": "percentage", "percent": 10}, segment_use("half")]},
    )
    engine = Engine(Ruleset.from_dict(doc))
    ruleset = engine.ruleset
    alone = Engine(
        Ruleset.from_dict(doc_with(doc["segments"], g={"strategies": [segment_use("half")]}))
    )
    own = Engine(
        Ruleset.from_dict({"flags": {"f": {"strategies": [{"type": "percentage", "percent": 10}]}}})
    )
    assert on_for(engine, "f") == on_for(alone, "g") | on_for(own, "f")
    assert ruleset.flags["f"].strategies[1].strategy.name == "half"


def test_segments_nest_and_a_when_on_the_use_narrows_it() -> None:
    doc = doc_with(
        {
            "beta": BETA,
            "wider": {"strategies": [segment_use("beta"), {"type": "last_digit", "digits": [7]}]},
        },
        f={
            "strategies": [
                segment_use(
                    "wider", when=[{"attribute": "country", "op": "in", "values": ["NL", "DE"]}]
                )
            ]
        },
    )
    engine = Engine(Ruleset.from_dict(doc))
    expected = {
        a.id
        for a in PEOPLE
        if a.attributes["country"] in ("NL", "DE")
        and (a.id in ("acct-1", "acct-2") or a.attributes["country"] == "NL" or a.number % 10 == 7)
    }
    assert on_for(engine, "f") == expected


def test_a_segment_matches_anonymous_requests_only_as_its_strategies_do() -> None:
    doc = doc_with(
        {"all": {"strategies": [{"type": "everyone"}]}, "beta": BETA},
        everyone={"strategies": [segment_use("all")]},
        beta={"strategies": [segment_use("beta")]},
    )
    engine = Engine(Ruleset.from_dict(doc))
    anonymous = engine.evaluate_all(None)
    assert anonymous["everyone"] is True
    assert anonymous["beta"] is False
    assert reference.decide(engine.ruleset, "everyone", None, 0.0)[0] is True


def test_an_entry_never_bound_to_a_segment_matches_nobody() -> None:
    unbound = InSegment(name="beta")
    assert not unbound.matches_at(PEOPLE[0], 0.0, "f")
    assert unbound.alternatives("f") == ()
    assert BUILTIN_STRATEGIES["segment"] is InSegment


def test_a_document_without_segments_keeps_its_canonical_bytes() -> None:
    ruleset = Ruleset.from_dict({"flags": {"f": {}}})
    assert ruleset._canonical.data == (
        b'{"flags":{"f":{"strategies":[]}},"schema":1,"test_users":[],"unknown":"released"}'
    )
    assert "segments" not in ruleset.to_dict()


def test_segments_round_trip_through_the_canonical_text() -> None:
    ruleset = Ruleset.from_dict(
        doc_with(
            {"beta": {**BETA, "description": "friendly customers"}},
            f={"strategies": [segment_use("beta")]},
        )
    )
    doc = ruleset.to_dict()
    assert doc["segments"]["beta"]["description"] == "friendly customers"
    again = parse_text(ruleset._canonical.data)
    assert again == ruleset
    assert again.segments["beta"].description == "friendly customers"


# --- validation -----------------------------------------------------------------------------


def test_an_unknown_segment_is_named_with_its_path() -> None:
    found = problems(doc_with({"beta": BETA}, f={"strategies": [segment_use("btea")]}))
    assert found == ["flags.f.strategies[0].name: unknown segment 'btea' (defined: beta)"]


@pytest.mark.parametrize(
    ("segments", "expected"),
    [
        (
            {"a": {"strategies": [segment_use("a")]}},
            "segments.a.strategies[0].name: segments form a cycle: a -> a",
        ),
        (
            {
                "a": {"strategies": [{"type": "everyone"}, segment_use("b")]},
                "b": {"strategies": [segment_use("a")]},
            },
            "segments.b.strategies[0].name: segments form a cycle: a -> b -> a",
        ),
    ],
)
def test_a_cycle_of_segments_is_refused(segments: dict[str, Any], expected: str) -> None:
    assert expected in problems(doc_with(segments))


def test_a_flag_using_a_refused_segment_is_told_so_not_that_it_is_unknown() -> None:
    cycle = {"a": {"strategies": [segment_use("b")]}, "b": {"strategies": [segment_use("a")]}}
    bad = {"strategies": [{"type": "percentage", "percent": 101}]}
    found = problems(
        doc_with({**cycle, "bad": bad}, f={"strategies": [segment_use("a"), segment_use("bad")]})
    )
    refused = "was refused (see the problems under segments)"
    assert f"flags.f.strategies[0].name: segment 'a' {refused}" in found
    assert f"flags.f.strategies[1].name: segment 'bad' {refused}" in found
    assert any(p.startswith("segments.bad.strategies[0].percent:") for p in found), found


@pytest.mark.parametrize(
    ("segments", "path", "words"),
    [
        ({"beta": {}}, "segments.beta.strategies", "is required"),
        ({"beta": {"strategies": []}}, "segments.beta.strategies", "at least 1"),
        ({"beta": {**BETA, "colour": "red"}}, "segments.beta.colour", "unknown key"),
        (
            {"beta": {"strategies": [{"type": "percentage", "percent": 200}]}},
            "segments.beta.strategies[0].percent",
            "100",
        ),
        ({"bad name": BETA}, "segments['bad name']", "must match"),
        ({"beta": ["not", "a", "mapping"]}, "segments.beta", "mapping"),
    ],
)
def test_a_bad_segment_is_refused_at_its_path(
    segments: dict[str, Any], path: str, words: str
) -> None:
    found = problems(doc_with(segments))
    assert any(p.startswith(f"{path}:") and words in p for p in found), found


def test_a_segment_that_is_not_a_mapping_is_refused_where_it_is_used_too() -> None:
    uses = {"strategies": [{"type": "everyone"}, segment_use("broken")]}
    assert problems(doc_with({"broken": None, "eu": uses})) == [
        "segments.broken: must be a mapping with `strategies`",
        "segments.eu.strategies[1].name: segment 'broken' was refused (see the problems "
        "under segments)",
    ]


def test_segments_nest_a_bounded_depth() -> None:
    def nested(levels: int) -> dict[str, Any]:
        segments = {f"s{i}": {"strategies": [segment_use(f"s{i + 1}")]} for i in range(levels - 1)}
        segments[f"s{levels - 1}"] = {"strategies": [{"type": "everyone"}]}
        return doc_with(segments, f={"strategies": [segment_use("s0")]})

    assert Engine(Ruleset.from_dict(nested(MAX_NESTING))).is_released_to("f", PEOPLE[0])
    found = problems(nested(200))  # refused before anything recurses 200 deep
    assert found[0] == f"segments.s191: segments may use segments at most {MAX_NESTING} deep"


def test_every_use_of_a_segment_counts_towards_the_limits() -> None:
    big = {"strategies": [{"type": "last_digit", "digits": [d % 10]} for d in range(100)]}
    doc = doc_with(
        {"big": big}, **{f"f{i}": {"strategies": [segment_use("big")]} for i in range(1_000)}
    )
    found = problems(doc)
    assert len(found) == 1
    assert "over its limit of 100,000 strategies" in found[0]


def test_the_values_a_segment_copies_into_its_flags_are_bounded() -> None:
    many = [{"attribute": "plan", "op": "in", "values": [f"v{i}" for i in range(10_000)]}]
    big = {"strategies": [{"type": "accounts", "ids": [f"a{j}"], "when": many} for j in range(100)]}
    uses = {f"f{i}": {"strategies": [segment_use("big")]} for i in range(2)}
    (found,) = problems(doc_with({"big": big}, **uses))
    assert found.startswith("flags.f1.strategies[0]: the ruleset is over its limit of 2,000,000")
    Ruleset.from_dict(doc_with({"big": big}, f0=uses["f0"]))  # once is within the limit


def test_a_when_on_a_use_counts_once_for_each_strategy_of_the_segment() -> None:
    hundred = {"strategies": [{"type": "accounts", "ids": [f"a{j}"]} for j in range(100)]}
    check = [{"attribute": "plan", "op": "ne", "values": ["free"]}]  # a per-request check
    uses = {f"f{i}": {"strategies": [segment_use("h", when=check)]} for i in range(101)}
    (found,) = problems(doc_with({"h": hundred}, **uses))
    assert "over its limit of 10,000 per-request checks" in found
    assert found.startswith("flags.f100.strategies[0]")


# --- changes ----------------------------------------------------------------------------------


def test_changing_a_segment_changes_every_flag_using_it_at_once() -> None:
    store = MemoryStore(
        doc_with(
            {"beta": BETA},
            f={"strategies": [segment_use("beta")]},
            g={"strategies": [segment_use("beta")]},
            other={"strategies": [{"type": "everyone"}]},
        )
    )
    engine = store.engine()
    assert engine.is_released_to("f", PEOPLE[1])  # its checker is compiled, and kept
    assert on_for(engine, "g") >= {"acct-1"}
    store.set_segment("beta", {"strategies": [{"type": "accounts", "ids": ["acct-5"]}]})
    after = store.engine()
    assert on_for(after, "f") == on_for(after, "g") == {"acct-5"}
    assert after.ruleset == Ruleset.from_dict(after.ruleset.to_dict())
    assert engine.ruleset.segments["beta"].strategies[0].params["ids"] == ["acct-1", "acct-2"]


def test_a_segment_in_use_cannot_be_deleted_and_the_last_good_ruleset_serves() -> None:
    store = MemoryStore(
        doc_with({"beta": BETA, "unused": BETA}, f={"strategies": [segment_use("beta")]})
    )
    with pytest.raises(RulesetError) as info:
        store.delete_segment("beta")
    assert list(info.value.problems) == [
        "flags.f.strategies[0].name: unknown segment 'beta' (defined: unused)"
    ]
    assert store.version == 1
    assert on_for(store.engine(), "f") >= {"acct-1"}
    store.delete_segment("unused")
    assert list(store.ruleset().segments) == ["beta"]
    with pytest.raises(UnknownSegment):
        store.delete_segment("unused")


def test_a_one_flag_edit_keeps_the_segments_and_the_other_flags() -> None:
    store = MemoryStore(doc_with({"beta": BETA}, f={"strategies": [segment_use("beta")]}, g={}))
    before = store.ruleset()
    store.set_flag("g", {"strategies": [segment_use("beta")]})
    after = store.ruleset()
    assert after.flags["f"] is before.flags["f"]
    assert after.segments["beta"] is before.segments["beta"]
    assert on_for(store.engine(), "g") == on_for(store.engine(), "f")
