"""Ruleset text, fuzzed: ``decode_document`` (JSON, YAML, TOML) and ``load_ruleset`` from a
file raise RulesetError and nothing else, on arbitrary bytes and text and on valid
documents' text with a few characters or tokens changed."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from flagware import Ruleset, RulesetError, load_ruleset
from flagware.ruleset.documents import Format, decode_document, dump_document
from tests.properties.generators import valid_documents

FORMATS: list[Format] = ["json", "yaml", "toml"]
SUFFIXES = {"json": [".json"], "yaml": [".yaml", ".yml"], "toml": [".toml"]}
# Pieces of each grammar that reach odd corners: tags and aliases (YAML), non-finite and
# huge numbers, dates and times (YAML, TOML), tables and arrays of tables (TOML).
TOKENS = [
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!!omap [a: 1, b: 2]",
    "!!pairs [a: 1]",
    "!!python/object:os.system",
    "!!python/name:os.system",
    "!!timestamp 2026-01-01",
    "!!float",
    "!!int",
    "!!str",
    "&anchor",
    "*anchor",
    "<<: *anchor",
    "? [a, b]",
    "2026-12-01",
    "2026-12-01T00:00:00",
    "2026-12-01 00:00:00+02:00",
    "07:30:00",
    ".inf",
    ".nan",
    "NaN",
    "Infinity",
    "-Infinity",
    "1e999",
    "9" * 5000,
    "0x1F",
    "0o17",
    "1_000",
    "null",
    "~",
    "yes",
    "no",
    "[[flags]]",
    "[flags.x]",
    "inf",
    "nan",
    '"\\ud800"',
    '"\\u0000"',
    "\x00",
    "\ufeff",
    "\r\n",
    "\t",
    "{",
    "[",
    "}",
    "]",
    ":",
    "-",
    ",",
    "'",
    '"',
    "#",
    "=",
    "[" * 200,
    "- " * 200,
]


def must_refuse_or_load(fmt: Format, text: str | bytes) -> None:
    """Parse ``text``; a document that parses is then validated. Only RulesetError may
    come out of either step."""
    try:
        doc = decode_document(text, fmt)
        event(f"{fmt}: parsed")
        ruleset = Ruleset.from_dict(doc)
    except RulesetError as exc:
        refused: RulesetError | None = exc
    else:
        refused = None
    if refused is not None:
        assert refused.problems
        return
    event(f"{fmt}: a ruleset")
    assert Ruleset.from_dict(ruleset.to_dict()) == ruleset


@st.composite
def edited_text(draw: st.DrawFn) -> tuple[Format, str]:
    """A valid document's text in some format, with one to three edits: characters
    inserted, deleted or replaced, or a grammar token dropped in."""
    fmt = draw(st.sampled_from(FORMATS))
    text = dump_document(draw(valid_documents()), fmt)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["token", "token", "insert", "delete", "replace"]))
        if action == "token":
            text = text[:at] + draw(st.sampled_from(TOKENS)) + text[at:]
        elif action == "insert":
            text = text[:at] + draw(st.text(max_size=3)) + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 8)) :]
        else:
            text = text[:at] + draw(st.text(min_size=1, max_size=2)) + text[at + 1 :]
    return fmt, text


@given(st.sampled_from(FORMATS), st.binary(max_size=300))
def test_arbitrary_bytes_only_ever_raise_ruleset_error(fmt: Format, data: bytes) -> None:
    must_refuse_or_load(fmt, data)


@given(st.sampled_from(FORMATS), st.text(st.characters(exclude_categories=()), max_size=300))
def test_arbitrary_text_only_ever_raises_ruleset_error(fmt: Format, text: str) -> None:
    must_refuse_or_load(fmt, text)


@given(edited_text())
def test_edited_documents_only_ever_raise_ruleset_error(case: tuple[Format, str]) -> None:
    fmt, text = case
    must_refuse_or_load(fmt, text)
    must_refuse_or_load(fmt, text.encode("utf-8", "surrogatepass"))


@given(valid_documents(), st.sampled_from(FORMATS))
def test_valid_documents_load_back_from_their_text(doc: dict[str, Any], fmt: Format) -> None:
    assert Ruleset.from_dict(decode_document(dump_document(doc, fmt), fmt)) == Ruleset.from_dict(
        doc
    )


@pytest.mark.parametrize(
    "text",
    [
        # Found by test_edited_documents_only_ever_raise_ruleset_error: PyYAML's tag
        # constructors raised AttributeError, KeyError or IndexError through decode_document.
        "!!timestamp 2026-01-01flags: {}\n",
        "flags: !!timestamp x",
        "flags: {a: {enabled: !!bool maybe}}",
        "!!bool ''",
        "!!int ''",
        "!!float ''",
        "!!int _",
        "!!int :",
    ],
)
def test_yaml_tags_with_values_they_cannot_read_are_a_ruleset_error(text: str) -> None:
    with pytest.raises(RulesetError, match="not valid YAML"):
        decode_document(text, "yaml")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("value", ["\x85", "a\x85b", "é\x85 \u2028\u2029\x0b\x0c\r"])
def test_a_next_line_character_survives_dump_and_parse(fmt: Format, value: str) -> None:
    """Found by test_valid_documents_load_back_from_their_text: YAML turned a salt's NEL
    (U+0085) into a space, which would re-bucket the flag's rollout."""
    doc = {"test_users": [value], "flags": {"f": {"salt": value, "description": value}}}
    assert decode_document(dump_document(doc, fmt), fmt) == doc
    if fmt == "yaml":
        assert "é" in dump_document({"flags": {"f": {"description": "é"}}}, "yaml")


@pytest.fixture(scope="module")
def directory() -> Iterator[Path]:
    # Module scope (hypothesis reruns the test body, not function-scoped fixtures); one
    # file per suffix is rewritten by every example.
    with tempfile.TemporaryDirectory(prefix="flagware-properties-") as name:
        yield Path(name)


@given(
    st.sampled_from(FORMATS).flatmap(lambda f: st.sampled_from(SUFFIXES[f])),
    st.binary(max_size=200) | edited_text().map(lambda case: case[1].encode("utf-8", "replace")),
)
def test_load_ruleset_from_a_file_only_ever_raises_ruleset_error(
    directory: Path, suffix: str, data: bytes
) -> None:
    path = directory / f"rules{suffix}"
    path.write_bytes(data)
    try:
        ruleset = load_ruleset(path)
    except RulesetError as exc:
        refused: RulesetError | None = exc
    else:
        refused = None
    if refused is not None:
        assert refused.problems
        assert str(path) in str(refused)  # it names the file
        return
    assert Ruleset.from_dict(ruleset.to_dict()) == ruleset
