"""Reading and writing ruleset documents as JSON, YAML or TOML.

YAML is read with a safe loader whose booleans are YAML 1.2's (``true``/``false`` only),
so a country list ``[NL, NO]`` stays two strings instead of turning Norway into ``False``.
Nothing is ever unpickled or instantiated from a document.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from flagware.errors import RulesetError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 in CI
    import tomli as tomllib

__all__ = [
    "FLAG_NAME",
    "MAX_DOCUMENT_BYTES",
    "SCHEMA_VERSION",
    "VARIANT_NAME",
    "Format",
    "ReadOnlyDocument",
    "UnknownPolicy",
    "canonical_json",
    "copy_document",
    "decode_document",
    "dump_document",
    "format_of",
]

# What a flag, segment and variant may be called (a segment shares the flags' pattern).
FLAG_NAME = r"^[A-Za-z_][A-Za-z0-9_.-]{0,99}$"
VARIANT_NAME = r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$"

MAX_DOCUMENT_BYTES = 16 * 1024 * 1024
SCHEMA_VERSION = 1
UnknownPolicy = Literal["released", "hidden"]
Format = Literal["json", "yaml", "toml"]
_SUFFIXES: dict[str, Format] = {".json": "json", ".yaml": "yaml", ".yml": "yaml", ".toml": "toml"}


def format_of(path: str | os.PathLike[str]) -> Format:
    """The document format a file name implies (by its suffix)."""
    suffix = Path(path).suffix.lower()
    try:
        return _SUFFIXES[suffix]
    except KeyError:
        raise ValueError(
            f"{path}: unknown ruleset format {suffix!r}; use .json, .yaml, .yml or .toml"
        ) from None


def _decode_yaml(text: str) -> Any:
    """The YAML document in ``text``; a syntax error becomes a ValueError."""
    from flagware.ruleset._yaml import YAMLError, load_yaml  # noqa: PLC0415 - on first use

    try:
        return load_yaml(text)
    except YAMLError as exc:
        raise ValueError(str(exc)) from exc


def decode_document(text: str | bytes, fmt: Format, *, source: str | None = None) -> Any:
    """Parse a document's text; syntax errors become a :class:`RulesetError`."""
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_DOCUMENT_BYTES:
        raise RulesetError(
            [f"<document>: larger than the {MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB limit"],
            source=source,
        )
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        if fmt == "json":
            return json.loads(text)
        if fmt == "yaml":
            return _decode_yaml(text)
        return tomllib.loads(text)
    except (ValueError, RecursionError) as exc:
        # json.JSONDecodeError, tomllib.TOMLDecodeError and UnicodeDecodeError are ValueErrors.
        raise RulesetError([f"<document>: not valid {fmt.upper()}: {exc}"], source=source) from None
    except (LookupError, AttributeError, TypeError, ArithmeticError) as exc:
        # PyYAML's constructors for explicit tags fail this way on values they cannot read:
        # `!!bool maybe` (KeyError), `!!int ''` (IndexError), `!!timestamp x` (AttributeError).
        detail = f"{type(exc).__name__}: {str(exc)[:80]}"
        problem = f"<document>: not valid {fmt.upper()}: a value it cannot read ({detail})"
        raise RulesetError([problem], source=source) from None


def dump_document(doc: dict[str, Any], fmt: Format) -> str:
    """A document as text in ``fmt`` (TOML needs the ``tomli-w`` package)."""
    if fmt == "json":
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if fmt == "yaml":
        from flagware.ruleset._yaml import dump_yaml  # noqa: PLC0415 - PyYAML on first use

        return dump_yaml(doc)
    try:
        import tomli_w  # noqa: PLC0415 - optional dependency
    except ImportError:
        raise ImportError(
            "writing TOML rulesets needs tomli-w: pip install 'flagware[toml-write]'"
        ) from None
    toml_text: str = tomli_w.dumps(doc)
    return toml_text


def canonical_json(doc: Any) -> str:
    """The one canonical JSON text of a document: sorted keys, no spaces.

    Stores compare and digest documents by it, so two documents are "the same" exactly when
    this text is (``true`` and ``1`` differ: they match differently).
    """
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


def copy_document(doc: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of a JSON-compatible document (several times faster than deepcopy)."""
    copied: dict[str, Any] = json.loads(json.dumps(doc))
    return copied


class ReadOnlyDocument(Mapping[str, Any]):
    """A read-only view of a JSON-compatible mapping, all the way down: nested mappings
    are views too and lists are read as tuples, so an edit through it fails instead of
    changing the document it shows (a ruleset's shared flags, in an edit's draft)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return _read_only(self._data[key])

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"ReadOnlyDocument({self._data!r})"


def _read_only(value: Any) -> Any:
    if isinstance(value, dict):
        return ReadOnlyDocument(value)
    if isinstance(value, list):
        return tuple(map(_read_only, value))
    return value
