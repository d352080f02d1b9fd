"""How the panel writes values into form inputs and reads them back: numbers, lists of
typed values, account ids, ``when`` lines, and each kind of strategy field.

Every reader is the inverse of its writer for the values a valid document holds, so an
unchanged form saves the flag as it was; what a reader cannot make sense of it passes on as
typed, for the store's validation to name (or, for whole numbers, raises :class:`BadInput`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from flagware.strategies.base import StrategyField

__all__ = [
    "MAX_DIGITS",
    "BadInput",
    "parse_scalar",
    "parse_when",
    "read_field",
    "reads_back",
    "show_field",
    "show_scalar",
    "show_when",
    "whole_number",
]

_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")
MAX_DIGITS = 18  # a 64-bit integer's worth: versions, counts and account numbers fit


class BadInput(ValueError):
    """A submitted value the panel cannot read at all; the request is answered with 400."""


def whole_number(text: object, what: str, *, signed: bool = False) -> int:
    """The one way the panel reads a whole number a browser sent: ASCII digits only, at most
    :data:`MAX_DIGITS` of them (and a leading ``-`` if ``signed``).

    ``str.isdigit()`` is true for ``²`` and ``٣``, which ``int()`` refuses or reads as 3,
    and ``int()`` refuses more than 4,300 digits: raises :class:`BadInput` naming ``what``
    instead, so no odd number becomes a 500.
    """
    if not isinstance(text, str):
        raise BadInput(f"{what} must be a whole number")
    digits = text[1:] if signed and text.startswith("-") else text
    shown = repr(text) if len(text) <= 40 else f"{text[:20]!r}... ({len(text)} characters)"
    if not (digits and digits.isascii() and digits.isdigit()):
        raise BadInput(f"{what} must be a whole number, got {shown} (digits 0-9 only)")
    if len(digits) > MAX_DIGITS:
        raise BadInput(f"{what} must be a whole number of at most {MAX_DIGITS} digits, got {shown}")
    return int(text)


_SPLIT = re.compile(r"[\s,]+")


def parse_scalar(text: str) -> Any:
    """A typed value: numbers, ``true``/``false`` and ``"quoted"`` strings; else the text."""
    text = text.strip()
    if _NUMBER.fullmatch(text) or text in ("true", "false") or text.startswith('"'):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def show_scalar(value: Any) -> str:
    """The inverse of :func:`parse_scalar`: strings that would read back as another type,
    or that a list of values would split, merge or drop, are quoted."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 25.0 reads back as 25, validated to 25.0 again
    if (
        isinstance(value, str)
        and value
        and parse_scalar(value) == value
        and not any(char in value for char in ',"')
        and not value.startswith("[")
    ):
        return value
    return json.dumps(value, ensure_ascii=False)


def _show_values(values: Sequence[Any]) -> str:
    return ", ".join(show_scalar(v) for v in values)


def _parse_values(text: str) -> list[Any]:
    text = text.strip()
    if text.startswith("["):
        try:
            loaded = json.loads(text)
        except ValueError:
            return [text]
        return loaded if isinstance(loaded, list) else [loaded]
    return [parse_scalar(part) for part in _split_commas(text) if part.strip()]


def _split_commas(text: str) -> list[str]:
    """Split on commas outside double quotes (where ``\\"`` does not end the quote)."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _show_id(account_id: str) -> str:
    """An account id on its own line; quoted if splitting the line would change it."""
    if _SPLIT.search(account_id) or account_id.startswith('"'):
        return json.dumps(account_id, ensure_ascii=False)
    return account_id


def _parse_ids(text: str) -> list[str]:
    """Account ids one per line, or separated by commas or spaces; a quoted line is one id."""
    ids: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith('"'):
            try:
                loaded = json.loads(line)
            except ValueError:
                loaded = None
            if isinstance(loaded, str):
                ids.append(loaded)
                continue
        ids.extend(i for i in _SPLIT.split(line) if i)
    return ids


def show_when(conditions: Sequence[Mapping[str, Any]]) -> str:
    return "\n".join(
        f"{c.get('attribute', '')} {c.get('op', '')} {_show_values(c.get('values', []))}"
        for c in conditions
    )


def parse_when(text: str) -> list[Any]:
    conditions: list[Any] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        attribute, _, rest = line.strip().partition(" ")
        op, _, values = rest.strip().partition(" ")
        conditions.append({"attribute": attribute, "op": op, "values": _parse_values(values)})
    return conditions


def show_field(spec: StrategyField, value: Any) -> Any:
    """A document value as the form's input for a field of this kind shows it."""
    if spec.kind == "number":
        return show_scalar(value)
    if spec.kind == "values":
        return _show_values(value) if isinstance(value, list | tuple) else show_scalar(value)
    if spec.kind == "ids":
        return "\n".join(_show_id(str(i)) for i in value) if isinstance(value, list) else ""
    if spec.kind == "digits":
        return [d for d in value if isinstance(d, int)] if isinstance(value, list) else []
    return str(value)


def read_field(spec: StrategyField, shown: Any) -> Any:
    """What a field's input means as a document value (unparsable text passed on as typed,
    for the store's validation to name)."""
    if spec.kind == "digits":
        return shown
    text = shown if isinstance(shown, str) else ""
    if spec.kind == "number":
        return parse_scalar(text)
    if spec.kind == "values":
        return _parse_values(text)
    if spec.kind == "ids":
        return _parse_ids(text)
    return text


def reads_back(spec: StrategyField, value: Any, read: Any) -> bool:
    """Whether showing ``value`` and reading it back gives the same value, types included
    (``"42"`` is not 42, true is not 1), but a whole float as its int (25.0 shows as 25 and
    is validated to 25.0 again); digits are checkboxes, so their order is not kept."""
    if spec.kind == "digits" and isinstance(value, list) and isinstance(read, list):
        value, read = sorted(value, key=repr), sorted(read, key=repr)
    return json.dumps(_whole(value)) == json.dumps(_whole(read))


def _whole(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return [_whole(v) for v in value] if isinstance(value, list) else value
