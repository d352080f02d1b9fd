"""load_ruleset and friends: JSON, YAML and TOML files, syntax errors, size limit, dumping."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from flagware import Ruleset, RulesetError, load_ruleset
from flagware.ruleset.documents import (
    MAX_DOCUMENT_BYTES,
    Format,
    decode_document,
    dump_document,
    format_of,
)
from flagware.strategies import Schedule

DOC: dict[str, Any] = {
    "schema": 1,
    "test_users": ["tester"],
    "unknown": "hidden",
    "flags": {
        "cool_feature": {
            "description": "New checkout flow",
            "strategies": [
                {"type": "last_digit", "digits": [1, 2]},
                {"type": "percentage", "percent": 12.5},
                {"type": "attribute", "attribute": "country", "op": "in", "values": ["NL", "NO"]},
                {"type": "schedule", "after": "2026-12-01T00:00:00Z"},
                {
                    "type": "everyone",
                    "when": [{"attribute": "plan", "op": "eq", "values": ["pro", 3, True]}],
                },
            ],
        },
        "old_search": {"enabled": False, "strategies": []},
        "checkout_button": {
            "strategies": [{"type": "everyone"}],
            "variants": {"control": 50, "green": 50},
        },
    },
}

YAML_DOC = """\
test_users: [tester]
unknown: hidden
flags:
  cool_feature:
    description: New checkout flow
    strategies:
      - {type: last_digit, digits: [1, 2]}
      - {type: percentage, percent: 12.5}
      - {type: attribute, attribute: country, op: in, values: [NL, NO]}
      - {type: schedule, after: "2026-12-01T00:00:00Z"}
      - type: everyone
        when: [{attribute: plan, op: eq, values: [pro, 3, true]}]
  old_search:
    enabled: false
    strategies: []
  checkout_button:
    strategies: [{type: everyone}]
    variants: {control: 50, green: 50}
"""

TOML_DOC = """\
test_users = ["tester"]
unknown = "hidden"

[flags.cool_feature]
description = "New checkout flow"

[[flags.cool_feature.strategies]]
type = "last_digit"
digits = [1, 2]

[[flags.cool_feature.strategies]]
type = "percentage"
percent = 12.5

[[flags.cool_feature.strategies]]
type = "attribute"
attribute = "country"
op = "in"
values = ["NL", "NO"]

[[flags.cool_feature.strategies]]
type = "schedule"
after = "2026-12-01T00:00:00Z"

[[flags.cool_feature.strategies]]
type = "everyone"
when = [{attribute = "plan", op = "eq", values = ["pro", 3, true]}]

[flags.old_search]
enabled = false
strategies = []

[flags.checkout_button]
strategies = [{type = "everyone"}]
variants = {control = 50, green = 50}
"""

FORMATS: list[Format] = ["json", "yaml", "toml"]


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def problems_loading(path: Path) -> tuple[str, ...]:
    with pytest.raises(RulesetError) as info:
        load_ruleset(path)
    assert str(path) in str(info.value)
    assert info.value.source == str(path)
    return info.value.problems


def schedule_doc(after: str) -> str:
    return f"flags:\n  f:\n    strategies:\n      - type: schedule\n        after: {after}\n"


# --- each format ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("flags.json", json.dumps(DOC)),
        ("flags.yaml", YAML_DOC),
        ("flags.yml", YAML_DOC),
        ("flags.toml", TOML_DOC),
        ("FLAGS.YAML", YAML_DOC),
    ],
)
def test_load_each_format(tmp_path: Path, name: str, text: str) -> None:
    ruleset = load_ruleset(write(tmp_path, name, text))
    assert ruleset == Ruleset.from_dict(DOC)


def test_load_accepts_a_str_path(tmp_path: Path) -> None:
    path = write(tmp_path, "flags.json", json.dumps(DOC))
    assert load_ruleset(str(path)) == Ruleset.from_dict(DOC)


@pytest.mark.parametrize(
    "name", ["flags.txt", "flags", "flags.yaml.bak", "flags.jsonc", "flags.ini"]
)
def test_unknown_suffix_is_a_value_error(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, name, json.dumps(DOC))
    with pytest.raises(ValueError, match="unknown ruleset format") as info:
        load_ruleset(path)
    assert not isinstance(info.value, RulesetError)
    assert ".json, .yaml, .yml or .toml" in str(info.value)


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.json", "json"),
        ("a.yaml", "yaml"),
        ("a.yml", "yaml"),
        ("a.toml", "toml"),
        ("A.Json", "json"),
    ],
)
def test_format_of(name: str, fmt: str) -> None:
    assert format_of(name) == fmt


def test_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_ruleset(tmp_path / "absent.yaml")


# --- syntax and validation errors name the file --------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "fmt"),
    [
        ("bad.json", '{"flags": {', "JSON"),
        ("bad.json", "{'flags': {}}", "JSON"),
        ("bad.yaml", "flags: [unclosed\n", "YAML"),
        ("bad.yml", "flags:\n  a: 1\n b: 2\n", "YAML"),
        ("bad.toml", "flags = {\n", "TOML"),
        ("bad.toml", "a = 1\na = 2\n", "TOML"),
    ],
)
def test_syntax_errors_are_ruleset_errors_naming_the_file(
    tmp_path: Path, name: str, text: str, fmt: str
) -> None:
    (problem,) = problems_loading(write(tmp_path, name, text))
    assert problem.startswith(f"<document>: not valid {fmt}")


@pytest.mark.parametrize("name", ["bad.json", "bad.yaml", "bad.toml"])
def test_invalid_utf8_is_a_ruleset_error(tmp_path: Path, name: str) -> None:
    (problem,) = problems_loading(write(tmp_path, name, b'{"flags": {"\xff": 1}}'))
    assert "not valid" in problem


def test_yaml_python_tags_are_refused(tmp_path: Path) -> None:
    text = "flags: !!python/object/apply:os.system ['echo pwned']\n"
    (problem,) = problems_loading(write(tmp_path, "evil.yaml", text))
    assert "not valid YAML" in problem


@pytest.mark.parametrize(("name", "text"), [("deep.json", "[" * 5_000), ("deep.yaml", "[" * 5_000)])
def test_absurdly_nested_syntax_is_a_ruleset_error(tmp_path: Path, name: str, text: str) -> None:
    assert problems_loading(write(tmp_path, name, text))


def test_validation_errors_name_the_file(tmp_path: Path) -> None:
    text = "flags:\n  f:\n    strategies: [{type: percentage, percent: 150}]\n"
    problems = problems_loading(write(tmp_path, "flags.yaml", text))
    assert problems[0].startswith("flags.f.strategies[0].percent:")


@pytest.mark.parametrize(
    ("name", "text"), [("empty.yaml", ""), ("list.json", "[]"), ("n.yaml", "~")]
)
def test_a_file_that_is_not_a_mapping_is_rejected(tmp_path: Path, name: str, text: str) -> None:
    (problem,) = problems_loading(write(tmp_path, name, text))
    assert "must be a mapping" in problem


# --- YAML 1.2 booleans ---------------------------------------------------------------------


def test_yaml_country_codes_stay_strings() -> None:
    doc = decode_document("values: [NL, NO, no, yes, Yes, on, OFF, y, n]\n", "yaml")
    assert doc == {"values": ["NL", "NO", "no", "yes", "Yes", "on", "OFF", "y", "n"]}


@pytest.mark.parametrize(
    ("word", "value"),
    [("true", True), ("True", True), ("TRUE", True), ("false", False), ("FALSE", False)],
)
def test_yaml_true_and_false_are_booleans(word: str, value: bool) -> None:
    assert decode_document(f"enabled: {word}\n", "yaml") == {"enabled": value}


def test_yaml_norway_stays_in_the_country_list(tmp_path: Path) -> None:
    text = (
        "flags:\n  f:\n    strategies: [{type: attribute, attribute: c, op: in, values: [NL, NO]}]"
    )
    ruleset = load_ruleset(write(tmp_path, "flags.yaml", text + "\n"))
    assert ruleset.flags["f"].strategies[0].params["values"] == ["NL", "NO"]


def test_yaml_enabled_false_is_the_kill_switch(tmp_path: Path) -> None:
    ruleset = load_ruleset(write(tmp_path, "flags.yaml", "flags:\n  f:\n    enabled: false\n"))
    assert ruleset.flags["f"].enabled is False


@pytest.mark.parametrize("word", ["no", "off", "n"])
def test_yaml_1_1_false_words_are_not_booleans(tmp_path: Path, word: str) -> None:
    path = write(tmp_path, "flags.yaml", f"flags:\n  f:\n    enabled: {word}\n")
    (problem,) = problems_loading(path)
    assert problem.startswith("flags.f.enabled:")
    assert repr(word) in problem


def test_yaml_yes_as_a_flag_name_is_a_string(tmp_path: Path) -> None:
    ruleset = load_ruleset(write(tmp_path, "flags.yaml", "flags:\n  yes: {}\n  on: {}\n"))
    assert set(ruleset.flags) == {"yes", "on"}


# --- timestamps ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        ("2026-12-01T00:00:00Z", datetime(2026, 12, 1, tzinfo=timezone.utc)),
        ("2026-12-01 00:00:00+01:00", datetime(2026, 11, 30, 23, tzinfo=timezone.utc)),
        ('"2026-12-01T00:00:00Z"', datetime(2026, 12, 1, tzinfo=timezone.utc)),
    ],
)
def test_yaml_timestamps_are_accepted(tmp_path: Path, after: str, expected: datetime) -> None:
    ruleset = load_ruleset(write(tmp_path, "flags.yaml", schedule_doc(after)))
    strategy = ruleset.flags["f"].strategies[0].strategy
    assert isinstance(strategy, Schedule)
    assert strategy.after == expected


@pytest.mark.parametrize("after", ["2026-12-01T00:00:00", "2026-12-01 10:00:00", "2026-12-01"])
def test_yaml_timestamps_without_a_timezone_are_rejected(tmp_path: Path, after: str) -> None:
    problems = problems_loading(write(tmp_path, "flags.yaml", schedule_doc(after)))
    assert problems[0].startswith("flags.f.strategies[0].after:")
    assert "timezone" in problems[0]


def test_unquoted_yaml_timestamp_round_trips(tmp_path: Path) -> None:
    ruleset = load_ruleset(write(tmp_path, "flags.yaml", schedule_doc("2026-12-01T00:00:00Z")))
    assert ruleset.to_dict()["flags"]["f"]["strategies"][0]["after"] == "2026-12-01T00:00:00Z"
    assert Ruleset.from_dict(ruleset.to_dict()) == ruleset


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        ("2026-12-01T00:00:00Z", datetime(2026, 12, 1, tzinfo=timezone.utc)),
        ("2026-12-01T02:00:00+02:00", datetime(2026, 12, 1, tzinfo=timezone.utc)),
        ("2026-12-01 00:00:00Z", datetime(2026, 12, 1, tzinfo=timezone.utc)),
    ],
)
def test_toml_datetimes_are_accepted(tmp_path: Path, after: str, expected: datetime) -> None:
    text = f'[[flags.f.strategies]]\ntype = "schedule"\nafter = {after}\n'
    strategy = load_ruleset(write(tmp_path, "flags.toml", text)).flags["f"].strategies[0].strategy
    assert isinstance(strategy, Schedule)
    assert strategy.after == expected


@pytest.mark.parametrize("after", ["2026-12-01T00:00:00", "2026-12-01", "00:00:00"])
def test_toml_local_datetimes_dates_and_times_are_rejected(tmp_path: Path, after: str) -> None:
    text = f'[[flags.f.strategies]]\ntype = "schedule"\nafter = {after}\n'
    problems = problems_loading(write(tmp_path, "flags.toml", text))
    assert problems[0].startswith("flags.f.strategies[0].after:")


# --- size limit ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["big.json", "big.yaml", "big.toml"])
def test_a_document_over_the_size_limit_is_refused(tmp_path: Path, name: str) -> None:
    # Valid but for its size: a comment or whitespace padding.
    pad = b" " if name.endswith(".json") else b"#"
    body = b'{"flags": {}}' if name.endswith(".json") else b"\n"
    text = body + pad * (MAX_DOCUMENT_BYTES + 1 - len(body))
    (problem,) = problems_loading(write(tmp_path, name, text))
    assert "larger than the 16 MiB limit" in problem


def test_a_document_exactly_at_the_size_limit_is_read(tmp_path: Path) -> None:
    body = b'{"flags": {"f": null}}'
    path = write(tmp_path, "big.json", body + b" " * (MAX_DOCUMENT_BYTES - len(body)))
    assert set(load_ruleset(path).flags) == {"f"}


def test_parse_document_refuses_oversized_text() -> None:
    with pytest.raises(RulesetError, match="16 MiB"):
        decode_document("{}" + " " * MAX_DOCUMENT_BYTES, "json", source="redis:key")


# --- dump_document -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_dump_document_round_trips(fmt: Format) -> None:
    ruleset = Ruleset.from_dict(DOC)
    text = dump_document(ruleset.to_dict(), fmt)
    assert decode_document(text, fmt) == ruleset.to_dict()
    assert Ruleset.from_dict(decode_document(text, fmt)) == ruleset


@pytest.mark.parametrize(
    ("fmt", "suffix"), [("json", ".json"), ("yaml", ".yaml"), ("toml", ".toml")]
)
def test_dumped_file_loads_back(tmp_path: Path, fmt: Format, suffix: str) -> None:
    ruleset = Ruleset.from_dict(DOC)
    path = write(tmp_path, "flags" + suffix, dump_document(ruleset.to_dict(), fmt))
    assert load_ruleset(path) == ruleset


@pytest.mark.parametrize("fmt", FORMATS)
def test_dump_document_keeps_yaml_sensitive_strings_as_strings(fmt: Format) -> None:
    values = ["NO", "no", "on", "yes", "true", "null", "~", "2026-12-01", "1.5", "010", "1:20"]
    doc = {
        "flags": {
            "f": {
                "strategies": [
                    {"type": "attribute", "attribute": "a", "op": "in", "values": values}
                ]
            }
        }
    }
    assert decode_document(dump_document(doc, fmt), fmt) == doc


@pytest.mark.parametrize("fmt", FORMATS)
def test_dump_document_keeps_unicode(fmt: Format) -> None:
    doc = {"flags": {"f": {"description": "Caf\u00e9 \u2615 \u65e5\u672c"}}}
    text = dump_document(doc, fmt)
    assert "Caf\u00e9 \u2615 \u65e5\u672c" in text
    assert decode_document(text.encode("utf-8"), fmt) == doc


def test_dump_json_ends_with_a_newline() -> None:
    assert dump_document({"flags": {}}, "json").endswith("}\n")
