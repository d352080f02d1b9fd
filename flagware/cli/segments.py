"""``flagware segments``: the named audiences flags share (list, show, set, delete)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from flagware.cli.connect import open_store
from flagware.cli.errors import Refused, close_names
from flagware.cli.output import echo, emit_json, join, json_option, printable, table
from flagware.cli.settings import get_settings
from flagware.cli.writing import edit

if TYPE_CHECKING:
    from flagware.ruleset import Ruleset
    from flagware.ruleset.segments import Segment

__all__ = ["segments"]


def users_of(ruleset: Ruleset, name: str) -> list[str]:
    """The flags (and ``segment X``, the segments) that use segment ``name``."""
    from flagware.ruleset.dependencies import segment_users  # noqa: PLC0415 - not at --help

    return segment_users(ruleset._shared_document(), name)


def _summary(segment: Segment) -> str:
    from flagware._presenting import strategy_summary  # noqa: PLC0415 - not at --help

    return "; ".join(strategy_summary(s) for s in segment.strategies)


def _segment(ruleset: Ruleset, name: str) -> Segment:
    segment = ruleset.segments.get(name)
    if segment is None:
        raise Refused(f"no segment named {name!r}{close_names(name, ruleset.segments)}")
    return segment


def _list(as_json: bool) -> None:
    store = open_store()
    ruleset = store.ruleset()
    if as_json:
        emit_json(
            {
                "version": store.version,
                "segments": [
                    {
                        "name": name,
                        "description": segment.description,
                        "audience": _summary(segment),
                        "used_by": users_of(ruleset, name),
                    }
                    for name, segment in ruleset.segments.items()
                ],
            }
        )
        return
    if not ruleset.segments:
        echo("no segments", err=True)
        return
    rows = [
        [name, _summary(segment), join(users_of(ruleset, name)) or "-"]
        for name, segment in ruleset.segments.items()
    ]
    for line in table(["SEGMENT", "AUDIENCE", "USED BY"], rows):
        echo(printable(line))


@click.group("segments", invoke_without_command=True)
@json_option
@click.pass_context
def segments(ctx: click.Context, as_json: bool) -> None:
    """List (the default), show, set or delete segments: audiences flags share with
    ``{type: segment, name: ...}``."""
    if ctx.invoked_subcommand is None:
        _list(as_json)


@segments.command("list")
@json_option
def list_segments(as_json: bool) -> None:
    """Each segment, who it holds, and the flags using it."""
    _list(as_json)


@segments.command("show")
@click.argument("name", metavar="SEGMENT")
@json_option
def show_segment(name: str, as_json: bool) -> None:
    """One segment: its document and the flags using it."""
    from flagware.ruleset.documents import dump_document  # noqa: PLC0415

    ruleset = open_store().ruleset()
    segment = _segment(ruleset, name)
    used_by = users_of(ruleset, name)
    if as_json:
        emit_json({"name": name, "document": segment.to_dict(), "used_by": used_by})
        return
    echo(name)
    if segment.description:
        echo(f"  description: {printable(segment.description)}")
    echo(f"  audience:    {printable(_summary(segment))}")
    echo(f"  used by:     {printable(join(used_by) or '-')}")
    echo("\ndocument:")
    for line in dump_document(segment.to_dict(), "yaml").splitlines():
        echo(f"  {printable(line)}")


@segments.command("set")
@click.argument("name", metavar="SEGMENT")
@click.argument("path", metavar="FILE", type=click.Path(exists=True, dir_okay=False))
def set_segment(name: str, path: str) -> None:
    """Add or replace a segment from FILE (YAML, JSON or TOML: ``strategies: [...]``);
    every flag using it follows at once."""
    from flagware.ruleset.documents import decode_document, format_of  # noqa: PLC0415

    body: Any = decode_document(Path(path).read_bytes(), format_of(path), source=path)
    if not isinstance(body, dict):
        raise Refused(f"{path}: must be a mapping with `strategies`")

    def change(doc: dict[str, Any]) -> None:
        doc["segments"] = {**(doc.get("segments") or {}), name: body}

    store = open_store()
    version = edit(store, change, action="set_segment", touching=())
    if version is None:
        echo(f"nothing changed (version {store.version})")
    else:
        users = users_of(store.ruleset(), name)
        echo(f"version {version}: segment {name} saved; used by {join(users) or 'no flag yet'}")


@segments.command("delete")
@click.argument("name", metavar="SEGMENT")
def delete_segment(name: str) -> None:
    """Remove a segment; refused while a flag uses it."""
    store = open_store()
    ruleset = store.ruleset()
    _segment(ruleset, name)
    used_by = users_of(ruleset, name)
    if used_by:
        raise Refused(f"segment {name!r} is used by {join(used_by)}: change those flags first")
    commit = store.delete_segment(name, actor=get_settings().actor)
    echo(f"version {commit.version}: segment {name} deleted")
