"""The audit history: ``history`` (who changed what, when) and ``restore`` (undo to a version).

Both need Redis: a rules file keeps no history beyond one process.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import click

from flagware._presenting import document_diff
from flagware.cli.connect import keeps_history, open_store
from flagware.cli.errors import ConfigError, Refused
from flagware.cli.output import (
    CHANGE_COLUMNS,
    change_json,
    change_row,
    echo,
    echo_diff,
    emit_json,
    json_option,
    table,
)
from flagware.cli.settings import get_settings
from flagware.errors import VersionConflict

if TYPE_CHECKING:
    from flagware.stores.audit import Change
    from flagware.stores.store import Store

__all__ = ["history", "restore"]

EVERYTHING = 1_000_000  # more audit entries than any store keeps


def _store_with_history() -> Store:
    store = open_store()
    if not keeps_history(store):
        raise ConfigError(
            "a rules file keeps no history between commands; use --redis-url for history "
            "and restore (or your version control for the file)"
        )
    return store


def _change_diff(
    change: Change, recorded: Mapping[int, Change], flag: str | None
) -> list[str] | str:
    """The change as a diff against the previous version (only ``flag``'s part, if given),
    or why it cannot be shown (the previous version is no longer recorded, or unreadable)."""
    if "document" in change.unreadable:
        return "(the rules recorded for this version are unreadable)"
    if "previous_version" in change.unreadable:
        return "(which version it replaced is unreadable)"
    old: Mapping[str, Any] | None = None
    if change.previous_version != 0:
        before = recorded.get(change.previous_version)
        if before is None:
            return "(the previous version is no longer recorded)"
        if "document" in before.unreadable:
            return f"(the rules recorded for version {before.version} are unreadable)"
        old = before.document
    new: Mapping[str, Any] | None = change.document
    if flag is not None:
        old = old.get("flags", {}).get(flag) if old is not None else None
        new = change.document.get("flags", {}).get(flag)
    return document_diff(
        old,
        new,
        old_label=f"version {change.previous_version}",
        new_label=f"version {change.version}",
    )


@click.command("history", short_help="Show who changed what, and when.")
@click.argument("flag", required=False)
@click.option(
    "-n", "--limit", type=click.IntRange(min=1), default=20, show_default=True, metavar="N"
)
@click.option("--diff", "show_diff", is_flag=True, help="Show each change as a diff.")
@json_option
def history(flag: str | None, limit: int, show_diff: bool, as_json: bool) -> None:
    """Recent changes, newest first (only those touching FLAG, if given)."""
    store = _store_with_history()
    recorded: dict[int, Change] = {}
    if flag is None and not show_diff:
        changes = store.history(limit=limit)
    else:  # read once: the flag's changes, and the documents they are diffed against
        everything = store.history(limit=EVERYTHING)
        changes = [c for c in everything if flag is None or c.touches(flag)][:limit]
        recorded = {c.version: c for c in everything}
    diffs = [_change_diff(c, recorded, flag) if show_diff else None for c in changes]
    if as_json:
        entries = []
        for change, lines in zip(changes, diffs, strict=True):
            entry = change_json(change)
            if show_diff:
                entry["diff"] = lines if isinstance(lines, list) else None
            entries.append(entry)
        emit_json({"flag": flag, "version": store.version, "changes": entries})
        return
    if not changes:
        echo(f"no recorded changes{f' to {flag}' if flag else ''}")
        return
    header, *lines = table(CHANGE_COLUMNS, [change_row(c) for c in changes])
    echo(header)
    for line, lines_of_diff in zip(lines, diffs, strict=True):
        echo(line)
        if isinstance(lines_of_diff, str):
            echo(f"    {lines_of_diff}")
        elif lines_of_diff is not None:
            echo_diff(lines_of_diff, indent="    ")


@click.command("restore", short_help="Make a recorded version live again.")
@click.argument("version", type=click.IntRange(min=1))
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
def restore(version: int, yes: bool) -> None:
    """Make a recorded VERSION's ruleset live again, as a new version.

    Shows what would change and asks first (exit 1 if declined).
    """
    store = _store_with_history()
    changes = store.history(limit=EVERYTHING)
    target = next((c for c in changes if c.version == version), None)
    if target is None:
        recorded = f" (recorded: {changes[-1].version} to {changes[0].version})" if changes else ""
        raise Refused(f"version {version} is not in the recorded history{recorded}")
    if "document" in target.unreadable:  # its placeholder, {}, would wipe every flag
        raise Refused(
            f"version {version} cannot be restored: the rules recorded for it in the history "
            "are unreadable; nothing was written"
        )
    live_version = store.version
    lines = document_diff(
        store.ruleset().to_dict(),
        target.document,
        old_label=f"live (version {live_version})",
        new_label=f"version {version}",
    )
    if not lines:
        echo(
            f"version {version}'s ruleset is the live one (version {live_version}); "
            "nothing to restore"
        )
        return
    echo_diff(lines)
    if not yes:
        click.confirm(f"Restore version {version} over version {live_version}?", abort=True)
    try:  # only over the version whose diff was shown: the prompt may have waited a while
        new_version = store.save(
            dict(target.document),
            actor=get_settings().actor,
            expected_version=live_version,
            action=f"restore {version}",
        ).version
    except VersionConflict:
        raise Refused(
            f"the ruleset changed since version {live_version} while you were asked; nothing "
            "was written: run restore again to see the difference with what is live now"
        ) from None
    echo(f"restored version {version} as version {new_version}")
