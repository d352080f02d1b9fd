"""How the command prints: aligned tables, one JSON document, times, change summaries, and
nothing a terminal would act on.

Descriptions, account ids, actors and summaries come from the store, where anyone with
write access (or access to Redis) may have put an escape sequence that sets the terminal's
title, rewrites what is on screen or reorders a line. Everything the command prints goes
through :func:`printable` (via :func:`echo`, :func:`table`, :func:`join`, :func:`echo_diff`)
or, for documents, gets JSON's own ``\\u`` escapes (:func:`emit_json`, :func:`echo_document`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import click

from flagware._presenting import (
    UNREADABLE_SUMMARY,
    change_action,
    change_actor,
    local_time,
    moment,
)

if TYPE_CHECKING:
    from flagware.stores.audit import Change

__all__ = [
    "CHANGE_COLUMNS",
    "change_json",
    "change_row",
    "change_summary",
    "echo",
    "echo_diff",
    "echo_document",
    "emit_json",
    "join",
    "json_option",
    "printable",
    "summary_lines",
    "summary_text",
    "table",
]

# What a terminal may act on instead of showing: C0 controls and DEL (ESC starts CSI and OSC
# sequences, BEL ends OSC), C1 controls (0x9b is CSI on its own), the line and paragraph
# separators, and the bidirectional embeddings, overrides and isolates that reorder a line.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# Of those, what JSON and TOML dumpers leave raw (they escape C0 controls in strings and use
# line breaks between values): escaped as \uXXXX, which only occurs inside strings.
_UNSAFE_IN_DOCUMENTS = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def printable(value: object, *, keep_newlines: bool = False) -> str:
    """``value`` as text a terminal shows as it is: each control character is written as an
    escape (``\\x1b``, ``\\x9b``, ``\\n``, ``\\u202e``), so no stored string can move the
    cursor, set the title or colours, or start a fake line.

    The one escaping rule of the command line; ``keep_newlines`` keeps the line breaks of
    the command's own multi-line messages (each line is still escaped).
    """
    text = value if isinstance(value, str) else str(value)
    if keep_newlines:
        return "\n".join(_UNSAFE.sub(_escape, line) for line in text.split("\n"))
    return _UNSAFE.sub(_escape, text)


def echo(message: object = "", *, err: bool = False) -> None:
    """``click.echo`` of a message the command composed (its line breaks kept), escaped by
    :func:`printable`: whatever stored text a message quotes reaches the terminal inert."""
    click.echo(printable(message, keep_newlines=True), err=err)


def _json_escapes(text: str) -> str:
    """JSON (or TOML) text with what a terminal acts on as ``\\uXXXX`` escapes. json.dumps
    escapes C0 controls itself; the rest (C1, DEL, separators, bidi) can only occur inside
    strings, where both formats read the escape back as the same character."""
    return _UNSAFE_IN_DOCUMENTS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def emit_json(data: Any) -> None:
    """Print ``data`` as one JSON document on stdout (still JSON, and inert on a terminal)."""
    click.echo(_json_escapes(json.dumps(data, indent=2, ensure_ascii=False)))


def echo_document(doc: Mapping[str, Any], text: str, fmt: str) -> None:
    """Print ``text``, ``doc`` as ``dump_document`` wrote it in ``fmt``, inert on a terminal
    and still a document that reads back as ``doc``: JSON and TOML get ``\\u`` escapes; YAML,
    whose dumper leaves C1 controls and bidi marks raw where it cannot escape them (plain
    scalars), is written again with every non-ASCII character escaped, if it needs it."""
    if fmt in ("json", "toml"):
        text = _json_escapes(text)
    elif _UNSAFE_IN_DOCUMENTS.search(text):
        import yaml  # noqa: PLC0415 - only for this rare case

        text = yaml.safe_dump(dict(doc), sort_keys=False, allow_unicode=False)
    click.echo(text, nl=False)


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """Lines of a table with aligned columns (the last column is not padded); every cell is
    :func:`printable`, so stored text cannot break the table or the terminal."""
    all_rows = [[printable(cell) for cell in headers], *([printable(c) for c in r] for r in rows)]
    widths = [max(len(row[i]) for row in all_rows) for i in range(len(headers))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in all_rows
    ]


def join(values: Iterable[Any]) -> str:
    """Values separated by commas, each :func:`printable` (a comma inside one stays)."""
    return ", ".join(printable(v) for v in values)


def summary_lines(summary: Mapping[str, Any]) -> list[str]:
    """A :func:`flagware.stores.audit.summarize` dict as one line per kind of change."""
    labels = [
        ("flags_added", "flags added"),
        ("flags_removed", "flags removed"),
        ("flags_changed", "flags changed"),
        ("segments_added", "segments added"),
        ("segments_removed", "segments removed"),
        ("segments_changed", "segments changed"),
        ("flags_affected", "flags affected (by segments or prerequisites)"),
        ("test_users_added", "test users added"),
        ("test_users_removed", "test users removed"),
    ]
    lines = [
        f"{label}: {join(summary[key])}"
        for key, label in labels
        if isinstance(summary.get(key), list | tuple) and summary[key]
    ]
    if "unknown" in summary:
        lines.append(f"unknown flags: {printable(summary['unknown'])}")
    return lines


def summary_text(summary: Mapping[str, Any]) -> str:
    """A summary in one line (``flags changed: beta; test users added: acct-1``)."""
    return "; ".join(summary_lines(summary)) or "no changes"


def change_summary(change: Change) -> str:
    """A change's summary in one line, marking what of its audit entry is unreadable."""
    text = UNREADABLE_SUMMARY if "summary" in change.unreadable else summary_text(change.summary)
    if "document" in change.unreadable:
        text += "; (unreadable rules: cannot be restored)"
    return text


CHANGE_COLUMNS = ["VERSION", "WHEN", "ACTOR", "ACTION", "SUMMARY"]


def change_row(change: Change) -> list[str]:
    """A change as a row under :data:`CHANGE_COLUMNS`."""
    return [
        str(change.version),
        local_time(change.at),
        change_actor(change),
        change_action(change),
        change_summary(change),
    ]


def change_json(change: Change) -> dict[str, Any]:
    """An audit record as JSON (without its document); unreadable fields are null and
    named in ``unreadable``."""

    def readable(name: str, value: Any) -> Any:
        return None if name in change.unreadable else value

    known_time = "at" not in change.unreadable and moment(change.at) is not None
    return {
        "version": change.version,
        "previous_version": readable("previous_version", change.previous_version),
        "at": change.at if known_time else None,  # never NaN: that is not JSON
        "when": local_time(change.at) if known_time else None,
        "actor": readable("actor", change.actor),
        "action": readable("action", change.action),
        "summary": readable("summary", dict(change.summary)),
        "unreadable": list(change.unreadable),
    }


def echo_diff(lines: Iterable[str], indent: str = "") -> None:
    """Print unified diff lines, coloured on a terminal (click drops colours elsewhere)."""
    for raw in lines:
        line = printable(raw)  # before the colours: those are the command's own escapes
        if line.startswith(("+++", "---")):
            click.secho(indent + line, bold=True)
        elif line.startswith("+"):
            click.secho(indent + line, fg="green")
        elif line.startswith("-"):
            click.secho(indent + line, fg="red")
        elif line.startswith("@@"):
            click.secho(indent + line, fg="cyan")
        else:
            click.echo(indent + line)


json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON document instead of text."
)
"""The ``--json`` flag of every command that prints data."""
