"""A sample of accounts from a file: JSON lines, a JSON array, or CSV.

Each record has an ``id`` (a non-empty string), optionally a ``number`` (an integer), and
attributes: a JSON record's ``attributes`` object, or else its other keys; a CSV row's
other columns, each cell read as JSON when it is a number or ``true``/``false`` (so
``gte`` rules compare numbers) and as text otherwise. A bad record raises
:class:`SampleError` naming the file, the line and the field.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from flagware.account import Account

__all__ = ["SampleError", "load_accounts"]


class SampleError(ValueError):
    """A file of account records that cannot be read: ``accounts.jsonl:12: id: missing``."""


def _account(record: Any, where: str) -> Account:
    if not isinstance(record, Mapping):
        raise SampleError(f"{where}: expected an object with an id, got {type(record).__name__}")
    ident = record.get("id")
    if not isinstance(ident, str) or not ident:
        problem = "missing" if ident is None else f"must be a non-empty string, got {ident!r}"
        raise SampleError(f"{where}: id: {problem}")
    number = record.get("number")
    if number is not None and (isinstance(number, bool) or not isinstance(number, int)):
        raise SampleError(f"{where}: number: must be an integer, got {number!r}")
    if "attributes" in record:
        attributes = record["attributes"]
        if not isinstance(attributes, Mapping):
            raise SampleError(f"{where}: attributes: must be an object, got {attributes!r}")
    else:
        attributes = {k: v for k, v in record.items() if k not in ("id", "number")}
    return Account(ident, number, attributes)


def _cell(text: str) -> Any:
    if text in ("true", "false"):
        return text == "true"
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, int | float) and not isinstance(value, bool) else text


def _csv(path: Path) -> Iterator[Account]:
    with path.open(newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        if reader.fieldnames is None or "id" not in reader.fieldnames:
            raise SampleError(f"{path}:1: id: the header has no id column")
        for row in reader:
            where = f"{path}:{reader.line_num}"
            if None in row:
                raise SampleError(f"{where}: more cells than the header has columns")
            record: dict[str, Any] = {k: _cell(v) for k, v in row.items() if v != ""}
            record["id"] = row["id"]
            if "number" in record and not isinstance(record["number"], int):
                raise SampleError(f"{where}: number: must be an integer, got {row['number']!r}")
            yield _account(record, where)


def _json_lines(path: Path) -> Iterator[Account]:
    with path.open(encoding="utf-8") as file:
        for line_number, line in enumerate(file, 1):
            if not line.strip():
                continue
            where = f"{path}:{line_number}"
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise SampleError(f"{where}: not JSON: {exc}") from None
            yield _account(record, where)


def _json_array(path: Path) -> Iterator[Account]:
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise SampleError(f"{path}: not JSON: {exc}") from None
    if not isinstance(records, list):
        raise SampleError(f"{path}: expected an array of account records")
    for i, record in enumerate(records):
        yield _account(record, f"{path}: [{i}]")


def load_accounts(path: str | Path) -> list[Account]:
    """The accounts in ``path``: ``.jsonl``/``.ndjson`` (one record a line), ``.json`` (an
    array) or ``.csv`` (a header row with an ``id`` column)."""
    path = Path(path)
    readers = {".jsonl": _json_lines, ".ndjson": _json_lines, ".json": _json_array, ".csv": _csv}
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise SampleError(f"{path}: use .jsonl, .ndjson, .json or .csv for account records")
    try:
        return list(reader(path))
    except UnicodeDecodeError as exc:
        raise SampleError(f"{path}: not UTF-8 ({exc.reason})") from None
