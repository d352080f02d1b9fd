"""Lifecycle metadata on flags: validated with paths, round-tripped, never evaluated."""

from __future__ import annotations

from datetime import date
from typing import Any

import jsonschema
import pytest

from flagware import Account, Engine, Ruleset, RulesetError
from flagware.ruleset import parse_text
from flagware.ruleset.schema import shipped_schema

META: dict[str, Any] = {
    "owner": "team-checkout",
    "tags": ["checkout", "q3"],
    "created": "2026-01-05",
    "expires": "2026-04-01",
}


def _problems(**flag: Any) -> tuple[str, ...]:
    with pytest.raises(RulesetError) as info:
        Ruleset.from_dict({"flags": {"f": flag}})
    return info.value.problems


def test_fields_are_typed_attributes_of_the_flag() -> None:
    flag = Ruleset.from_dict({"flags": {"f": META}}).flags["f"]
    assert flag.owner == "team-checkout"
    assert flag.tags == ("checkout", "q3")
    assert flag.created == date(2026, 1, 5)
    assert flag.expires == date(2026, 4, 1)
    assert flag.permanent is False


def test_fields_round_trip_through_to_dict_and_canonical_json() -> None:
    ruleset = Ruleset.from_dict({"flags": {"f": {**META, "strategies": [{"type": "everyone"}]}}})
    doc = ruleset.to_dict()
    assert doc["flags"]["f"] == {**META, "strategies": [{"type": "everyone"}]}
    assert Ruleset.from_dict(doc) == ruleset
    assert b'"owner":"team-checkout"' in ruleset._canonical.data


def test_yaml_and_toml_dates_are_read_as_dates() -> None:
    yaml_flag = parse_text("flags:\n  f:\n    created: 2026-01-05\n", "yaml").flags["f"]
    toml_flag = parse_text('[flags.f]\nexpires = 2026-04-01\nowner = "x"\n', "toml").flags["f"]
    assert yaml_flag.created == date(2026, 1, 5)
    assert toml_flag.expires == date(2026, 4, 1)
    assert toml_flag.to_dict()["expires"] == "2026-04-01"


def test_an_edit_of_another_flag_keeps_the_metadata() -> None:
    ruleset = Ruleset.from_dict({"flags": {"f": META, "g": {}}})
    doc = ruleset.to_dict()
    doc["flags"]["g"]["description"] = "changed"
    edited = ruleset._edited(doc, {"g"})
    assert edited.flags["f"].owner == "team-checkout"
    assert edited._canonical.data == Ruleset.from_dict(doc)._canonical.data
    doc["flags"]["f"]["tags"] = ["other"]
    assert ruleset._edited(doc, {"f"}).flags["f"].tags == ("other",)


def test_metadata_never_changes_evaluation() -> None:
    strategies = [{"type": "percentage", "percent": 50}]
    plain = Engine(Ruleset.from_dict({"flags": {"f": {"strategies": strategies}}}))
    expired = {**META, "created": "1999-01-01", "expires": "2000-01-01"}
    tagged = Engine(Ruleset.from_dict({"flags": {"f": {"strategies": strategies, **expired}}}))
    on = 0
    for i in range(200):
        account = Account(f"acct-{i}")
        expected = plain.evaluate_all(account).enabled_flags()
        assert tagged.evaluate_all(account).enabled_flags() == expected
        on += bool(expected)
    assert 0 < on < 200


@pytest.mark.parametrize(
    ("flag", "path", "words"),
    [
        ({"permanent": True, "expires": "2026-01-01"}, "flags.f.expires", ("permanent",)),
        ({"tags": ["a", "b", "a"]}, "flags.f.tags", ("unique", "a")),
        ({"created": "2026-02-01", "expires": "2026-01-01"}, "flags.f.expires", ("before",)),
        ({"expires": "next week"}, "flags.f.expires", ("YYYY-MM-DD",)),
        ({"created": "2026-1-5"}, "flags.f.created", ("YYYY-MM-DD",)),
        ({"created": 20260105}, "flags.f.created", ("YYYY-MM-DD",)),
        ({"expires": "2026-01-01T00:00:00Z"}, "flags.f.expires", ("YYYY-MM-DD",)),
        ({"owner": ""}, "flags.f.owner", ()),
        ({"owner": 7}, "flags.f.owner", ()),
        ({"owner": "a\nb"}, "flags.f.owner", ()),
        ({"tags": ["has space"]}, "flags.f.tags[0]", ()),
        ({"tags": "ui"}, "flags.f.tags", ()),
        ({"tags": [f"t{i}" for i in range(21)]}, "flags.f.tags", ()),
        ({"permanent": "yes"}, "flags.f.permanent", ()),
    ],
)
def test_bad_metadata_is_reported_at_its_path(
    flag: dict[str, Any], path: str, words: tuple[str, ...]
) -> None:
    problems = _problems(**flag)
    assert any(p.startswith(f"{path}: ") and all(w in p for w in words) for p in problems), problems
    if "before" in words:
        return  # an order between two dates is beyond a JSON Schema
    validator = jsonschema.Draft202012Validator(shipped_schema())
    assert list(validator.iter_errors({"flags": {"f": flag}})), "the schema accepted it"


def test_good_metadata_passes_schema_and_validation() -> None:
    doc = {"flags": {"f": META, "kill": {"permanent": True, "owner": "ops", "tags": ["ops"]}}}
    assert list(jsonschema.Draft202012Validator(shipped_schema()).iter_errors(doc)) == []
    assert Ruleset.from_dict(doc).flags["kill"].permanent is True
