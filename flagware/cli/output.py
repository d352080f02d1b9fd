"""How the command prints: aligned tables, one JSON document, times, change summaries."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import click

from flagware.changes import Change
from flagware.presenting import (
    UNREADABLE_SUMMARY,
    change_action,
    change_actor,
    local_time,
    moment,
)

__all__ = [
    "CHANGE_COLUMNS",
    "change_json",
    "change_row",
    "change_summary",
    "echo_diff",
    "emit_json",
    "join",
    "json_option",
    "summary_lines",
    "summary_text",
    "table",
]


def emit_json(data: Any) -> None:
    """Print ``data`` as one JSON document on stdout."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """Lines of a table with aligned columns (the last column is not padded)."""
    all_rows = [list(headers), *(list(row) for row in rows)]
    widths = [max(len(row[i]) for row in all_rows) for i in range(len(headers))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in all_rows
    ]


def join(values: Iterable[Any]) -> str:
    """Values separated by commas."""
    return ", ".join(str(v) for v in values)


def summary_lines(summary: Mapping[str, Any]) -> list[str]:
    """A :func:`flagware.changes.summarize` dict as one line per kind of change."""
    labels = [
        ("flags_added", "flags added"),
        ("flags_removed", "flags removed"),
        ("flags_changed", "flags changed"),
        ("test_users_added", "test users added"),
        ("test_users_removed", "test users removed"),
    ]
    lines = [
        f"{label}: {join(summary[key])}"
        for key, label in labels
        if isinstance(summary.get(key), list | tuple) and summary[key]
    ]
    if "unknown" in summary:
        lines.append(f"unknown flags: {summary['unknown']}")
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
    for line in lines:
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
