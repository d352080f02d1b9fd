"""The shipped JSON Schema: in sync with the models, and agreeing with validation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

import flagware
from flagware.ruleset.limits import LIMITS
from flagware.ruleset.schema import json_schema, shipped_schema

CONTRACT = Path(__file__).parents[2] / "shared" / "CONTRACT.md"


def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(shipped_schema())


def test_shipped_file_matches_the_generator() -> None:
    # Regenerate with: python -m flagware.ruleset.schema > flagware/ruleset/ruleset.schema.json
    assert shipped_schema() == json_schema()


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(shipped_schema())


def test_example_ruleset_passes_schema_and_validation() -> None:
    doc = yaml.safe_load((Path(__file__).parents[1] / "examples" / "rules.yaml").read_text())
    assert list(_validator().iter_errors(doc)) == []
    flagware.Ruleset.from_dict(doc)


@pytest.mark.skipif(not CONTRACT.exists(), reason="shared/CONTRACT.md sits beside the checkout")
def test_contract_example_passes_schema_and_validation() -> None:
    text = CONTRACT.read_text()
    doc = yaml.safe_load(text.split("```yaml", 1)[1].split("```", 1)[0])
    doc["flags"]["cool_feature"]["strategies"][4]["after"] = "2026-12-01T00:00:00Z"
    assert list(_validator().iter_errors(doc)) == []
    flagware.Ruleset.from_dict(doc)


@pytest.mark.parametrize(
    "doc",
    [
        {"flags": {"a": {"strategies": [{"type": "percentage", "percent": 150}]}}},
        {"flags": {"a": {"strategies": [{"type": "accounts"}]}}},
        {"flags": {"a": {"enabled": "yes"}}},
        {"flags": {"a": {"bogus": 1}}},
        {"unknown": "maybe"},
        {"flags": {"a b": {}}},
        {"flags": {"a": {"strategies": [{"type": "everyone", "when": [{"attribute": "x"}]}]}}},
    ],
)
def test_schema_and_validation_reject_the_same_documents(doc: dict[str, Any]) -> None:
    assert list(_validator().iter_errors(doc)), "the schema accepted an invalid document"
    with pytest.raises(flagware.RulesetError):
        flagware.Ruleset.from_dict(doc)


def _regex_doc(*patterns: Any, when: bool = False) -> dict[str, Any]:
    condition = {"attribute": "ua", "op": "regex", "values": list(patterns)}
    strategy = (
        {"type": "everyone", "when": [condition]} if when else {"type": "attribute", **condition}
    )
    return {"flags": {"a": {"strategies": [strategy]}}}


@pytest.mark.parametrize("when", [False, True])
@pytest.mark.parametrize(
    "patterns",
    [
        [f"^{i}$" for i in range(LIMITS["regex_patterns_per_condition"] + 1)],
        ["a" * (LIMITS["regex_length"] + 1)],
        [5],
    ],
)
def test_schema_and_validation_reject_regex_conditions_over_their_limits(
    patterns: list[Any], when: bool
) -> None:
    doc = _regex_doc(*patterns, when=when)
    assert list(_validator().iter_errors(doc)), "the schema accepted an invalid document"
    with pytest.raises(flagware.RulesetError):
        flagware.Ruleset.from_dict(doc)


@pytest.mark.parametrize("when", [False, True])
def test_schema_and_validation_accept_regex_conditions_at_their_limits(when: bool) -> None:
    count = LIMITS["regex_patterns_per_condition"]
    longest = "^" + "a" * (LIMITS["regex_length"] - 1)
    doc = _regex_doc(longest, *(f"^{i}$" for i in range(count - 1)), when=when)
    assert list(_validator().iter_errors(doc)) == []
    flagware.Ruleset.from_dict(doc)


def test_the_limits_a_schema_cannot_express_are_pointed_at() -> None:
    assert "flagware.ruleset.limits.LIMITS" in shipped_schema()["$comment"]
