"""How the command prints: aligned tables, one JSON document, times, change summaries."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import click

from flagware.changes import Change

__all__ = [
    "change_json",
    "echo_diff",
    "emit_json",
    "join",
    "json_option",
    "local_time",
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


def local_time(at: float) -> str:
    """Epoch seconds as local ISO 8601 time with its offset, to the second."""
    return datetime.fromtimestamp(at).astimezone().isoformat(timespec="seconds")


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
    lines = [f"{label}: {join(summary[key])}" for key, label in labels if summary.get(key)]
    if "unknown" in summary:
        lines.append(f"unknown flags: {summary['unknown']}")
    return lines


def summary_text(summary: Mapping[str, Any]) -> str:
    """A summary in one line (``flags changed: beta; test users added: acct-1``)."""
    return "; ".join(summary_lines(summary)) or "no changes"


def change_json(change: Change) -> dict[str, Any]:
    """An audit record as JSON (without its document)."""
    return {
        "version": change.version,
        "previous_version": change.previous_version,
        "at": change.at,
        "when": local_time(change.at),
        "actor": change.actor,
        "action": change.action,
        "summary": dict(change.summary),
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
