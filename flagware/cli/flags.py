"""One flag at a time: ``list``, ``show``, ``enable``/``disable`` (the kill switch), ``set``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from flagware._presenting import change_action, change_actor, local_time, rollout_summary
from flagware.cli.connect import keeps_history, open_store
from flagware.cli.editing import FlagEdit, apply_edit
from flagware.cli.errors import unknown_flag
from flagware.cli.impact import echo_impact, impact_of, sample_option
from flagware.cli.output import (
    CHANGE_COLUMNS,
    change_json,
    change_row,
    echo,
    emit_json,
    join,
    json_option,
    printable,
    table,
)
from flagware.cli.settings import get_settings
from flagware.cli.writing import edit
from flagware.lifecycle import FlagFilter, stamp_created

if TYPE_CHECKING:
    from flagware.ruleset import Flag
    from flagware.stores.audit import Change
    from flagware.stores.store import Store

__all__ = ["disable", "enable", "list_flags", "set_flag", "show"]

# Audit entries `list` and `show` read: each holds a whole document, and a store's
# history(flag=...) reads every entry kept, so these commands look at the newest only.
RECENT_HISTORY = 200
SHOW_HISTORY = 10


def _flag(store: Store, name: str) -> Flag:
    """The live flag ``name``, or exit 1 naming the closest ones."""
    flags = store.ruleset().flags
    if name not in flags:
        raise unknown_flag(name, flags)
    return flags[name]


def _state(flag: Flag) -> str:
    return "on" if flag.enabled else "killed"


def _change_cell(change: Change | None) -> str:
    if change is None:
        return "-"
    return (
        f"v{change.version} {local_time(change.at)} {change_actor(change)} "
        f"({change_action(change)})"
    )


def _meta_cell(flag: Flag) -> str:
    parts = [f"owner {flag.owner}"] if flag.owner else []
    parts += [f"#{tag}" for tag in flag.tags]
    if flag.expires:
        parts.append(f"expires {flag.expires}")
    return " ".join(parts) or "-"


def _meta_json(flag: Flag) -> dict[str, Any]:
    return {
        "owner": flag.owner,
        "tags": list(flag.tags),
        "permanent": flag.permanent,
        "created": flag.created.isoformat() if flag.created else None,
        "expires": flag.expires.isoformat() if flag.expires else None,
    }


@click.command("list", short_help="List flags: state, rollout, metadata, last change.")
@click.option("--search", default="", metavar="TEXT", help="Only flags whose name contains TEXT.")
@click.option(
    "--tag", "tags", multiple=True, metavar="TAG", help="Only flags tagged TAG (repeatable)."
)
@click.option("--owner", metavar="NAME", help="Only flags owned by NAME (any case).")
@click.option("--expired", is_flag=True, help="Only flags whose `expires` date has come.")
@json_option
def list_flags(
    search: str, tags: tuple[str, ...], owner: str | None, expired: bool, as_json: bool
) -> None:
    """Every flag (or those the filters keep): state, who it is released to, owner,
    tags and expiry, and its last change."""
    store = open_store()
    ruleset = store.ruleset()
    keep = FlagFilter(search=search, tags=tags, owner=owner, expired=expired)
    shown = {name: flag for name, flag in ruleset.flags.items() if keep(flag)}
    last: dict[str, Change] = {}
    if keeps_history(store):  # one read of the recent history, newest first
        for change in store.history(limit=RECENT_HISTORY):
            for name in change.touched_flags():
                last.setdefault(name, change)
    if as_json:
        emit_json(
            {
                "version": store.version,
                "unknown": ruleset.unknown,
                "test_users": sorted(ruleset.test_users),
                "flags": [
                    {
                        "name": name,
                        "enabled": flag.enabled,
                        "description": flag.description,
                        "rollout": rollout_summary(flag),
                        **_meta_json(flag),
                        "last_change": change_json(last[name]) if name in last else None,
                    }
                    for name, flag in shown.items()
                ],
            }
        )
        return
    echo(
        f"{get_settings().store_label()}: version {store.version}, {len(ruleset.flags)} flags, "
        f"{len(ruleset.test_users)} test users, unknown flags {ruleset.unknown}"
    )
    if len(shown) < len(ruleset.flags):
        echo(f"{len(shown)} of {len(ruleset.flags)} flags match")
    if not shown:
        return
    history = keeps_history(store)
    meta = any(_meta_cell(flag) != "-" for flag in shown.values())  # a column only if used
    headers = ["FLAG", "STATE", "ROLLOUT"] + ["METADATA"] * meta + ["LAST CHANGE"] * history
    rows = [
        [name, _state(flag), rollout_summary(flag)]
        + [_meta_cell(flag)] * meta
        + [_change_cell(last.get(name))] * history
        for name, flag in shown.items()
    ]
    for line in table(headers, rows):
        echo(line)


@click.command("show", short_help="Show one flag and its recent changes.")
@click.argument("name", metavar="FLAG")
@json_option
def show(name: str, as_json: bool) -> None:
    """One flag: its document, who it is released to, and its recent changes."""
    from flagware.ruleset.documents import dump_document  # noqa: PLC0415

    store = open_store()
    flag = _flag(store, name)
    recent = store.history(limit=RECENT_HISTORY) if keeps_history(store) else []
    changes = [c for c in recent if c.touches(name)][:SHOW_HISTORY]
    if as_json:
        emit_json(
            {
                "name": name,
                "version": store.version,
                "enabled": flag.enabled,
                "description": flag.description,
                "rollout": rollout_summary(flag),
                **_meta_json(flag),
                "document": flag.to_dict(),
                "history": [change_json(c) for c in changes],
            }
        )
        return
    echo(f"{name}  ({get_settings().store_label()}, version {store.version})")
    if flag.description:
        echo(f"  description: {printable(flag.description)}")
    echo(f"  state:       {_state(flag)}")
    if flag.owner or flag.tags or flag.expires or flag.created or flag.permanent:
        permanent = " (permanent)" if flag.permanent else ""
        echo(f"  metadata:    {printable(_meta_cell(flag))}{permanent}")
    echo(f"  released to: {printable(rollout_summary(flag))}")
    if flag.variants:
        echo(f"  variants:    {join(f'{v} {w:g}%' for v, w in flag.variants)}")
    echo("\ndocument:")
    for line in dump_document(flag.to_dict(), "yaml").splitlines():
        echo(f"  {line}")
    if changes:
        echo("\nrecent changes:")
        for line in table(CHANGE_COLUMNS, [change_row(c) for c in changes]):
            echo(f"  {line}")


def _switch(name: str, enabled: bool) -> None:
    store = open_store()
    _flag(store, name)

    def change(doc: dict[str, Any]) -> None:
        if name not in doc["flags"]:  # deleted since we looked
            raise unknown_flag(name, doc["flags"])
        if enabled:
            doc["flags"][name].pop("enabled", None)
        else:
            doc["flags"][name]["enabled"] = False

    version = edit(store, change, action="enable" if enabled else "disable", touching=(name,))
    flag = store.ruleset().flags[name]
    if version is None:
        echo(f"{name} is already {_state(flag)}; nothing changed")
    elif enabled:
        echo(f"enabled {name} (version {version}): {printable(rollout_summary(flag))}")
    else:
        echo(f"killed {name} (version {version}): off for everyone, test users included")


@click.command("enable", short_help="Lift a flag's kill switch.")
@click.argument("name", metavar="FLAG")
def enable(name: str) -> None:
    """Lift FLAG's kill switch: it is released again as its strategies say."""
    _switch(name, True)


@click.command("disable", short_help="Kill a flag: off for everyone.")
@click.argument("name", metavar="FLAG")
def disable(name: str) -> None:
    """Kill FLAG: off for everyone, test users and overrides included."""
    _switch(name, False)


def _id_list(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    return tuple(item.strip() for item in value.split(",") if item.strip())


def _digit_list(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    items = _id_list(ctx, param, value)
    if items is None:
        return None
    if not all(item.isdigit() and len(item) == 1 for item in items):
        raise click.BadParameter(f"expected digits 0-9 separated by commas, got {value!r}")
    return tuple(int(item) for item in items)


def _dry_run(
    store: Store,
    name: str,
    *,
    update: Callable[[dict[str, Any]], None],
    notes: list[str],
    sample: Path | None,
    as_json: bool,
) -> None:
    """``set --dry-run``: the edit applied to a copy, validated, shown, never written."""
    from flagware.ruleset import Ruleset  # noqa: PLC0415

    before = store.ruleset()
    doc = before.to_dict()
    update(doc)
    after = Ruleset.from_dict(doc)  # an invalid edit is refused like a real one
    flag = after.flags[name]
    changed = before.flags.get(name) is None or before.flags[name]._canonical != flag._canonical
    impact = impact_of(before, after, sample)
    if as_json:
        emit_json(
            {
                "name": name,
                "dry_run": True,
                "changed": changed,
                "version": store.version,
                "rollout": rollout_summary(flag),
                "document": flag.to_dict(),
                "notes": notes,
                "impact": None if impact is None else impact.to_dict(),
            }
        )
        return
    for note in notes:
        echo(f"note: {printable(note)}", err=True)
    state = "would become" if changed else "would not change"
    echo(f"dry run: {name} {state} (version {store.version}): {printable(rollout_summary(flag))}")
    echo_impact(impact)
    echo("nothing was written")


@click.command("set", short_help="Change who a flag is released to.")
@click.argument("name", metavar="FLAG")
@click.option(
    "--percent",
    type=click.FloatRange(0, 100),
    metavar="N",
    help="Release to N% of accounts (0 removes the percentage rollout).",
)
@click.option(
    "--accounts",
    callback=_id_list,
    metavar="ID,ID,...",
    help='Release to exactly these accounts ("" removes the list).',
)
@click.option("--add-account", multiple=True, metavar="ID", help="Add an account to the list.")
@click.option(
    "--remove-account", multiple=True, metavar="ID", help="Remove an account from the list."
)
@click.option(
    "--last-digit",
    callback=_digit_list,
    metavar="D,D,...",
    help='Release to account numbers ending in these digits ("" removes it).',
)
@click.option(
    "--everyone/--no-everyone", default=None, help="Release to everyone, or stop doing so."
)
@click.option("--description", metavar="TEXT", help='Set the description ("" removes it).')
@click.option("--owner", metavar="NAME", help='Set the owner ("" removes it).')
@click.option(
    "--tags", callback=_id_list, metavar="TAG,TAG,...", help='Set the tags ("" removes them).'
)
@click.option("--expires", metavar="YYYY-MM-DD", help='Set the expiry date ("" removes it).')
@click.option("--create", is_flag=True, help="Create FLAG if it does not exist.")
@click.option("--dry-run", is_flag=True, help="Show what the flag would become; write nothing.")
@sample_option
@json_option
def set_flag(
    *,
    name: str,
    percent: float | None,
    accounts: tuple[str, ...] | None,
    add_account: tuple[str, ...],
    remove_account: tuple[str, ...],
    last_digit: tuple[int, ...] | None,
    everyone: bool | None,
    description: str | None,
    owner: str | None,
    tags: tuple[str, ...] | None,
    expires: str | None,
    create: bool,
    dry_run: bool,
    sample: Path | None,
    as_json: bool,
) -> None:
    """Change who FLAG is released to, keeping its other strategies.

    Each option edits the flag's first strategy of its type that has no `when`
    conditions (or adds one): `flagware set new_checkout --percent 25` rolls out to a
    quarter of accounts and keeps the accounts list. Strategies with conditions are left
    alone. The edit is compare-and-set: a concurrent change is never lost. With
    --dry-run nothing is written; --sample FILE then counts the accounts it would turn on
    or off.
    """
    change = FlagEdit(
        percent=percent,
        accounts=accounts,
        add_accounts=add_account,
        remove_accounts=remove_account,
        last_digits=last_digit,
        everyone=everyone,
        description=description,
        owner=owner,
        tags=tags,
        expires=expires,
    )
    if change.is_empty() and not create:
        raise click.UsageError(
            "nothing to change: give --percent, --accounts, --add-account, --remove-account, "
            "--last-digit, --everyone/--no-everyone, --description, --owner, --tags or --expires"
        )
    store = open_store()
    if not create:
        _flag(store, name)
    notes: list[str] = []
    created: list[bool] = []

    def update(doc: dict[str, Any]) -> None:
        notes.clear()
        created.clear()
        if name not in doc["flags"]:
            if not create:  # deleted since we looked
                raise unknown_flag(name, doc["flags"])
            doc["flags"][name] = {"strategies": []}
            created.append(True)
        notes.extend(apply_edit(doc["flags"][name], change))
        if created:
            stamp_created(doc["flags"][name])

    if dry_run:
        _dry_run(store, name, update=update, notes=notes, sample=sample, as_json=as_json)
        return
    if sample is not None:
        raise click.UsageError("--sample previews a change: give --dry-run too")
    version = edit(store, update, action="set", touching=(name,))
    flag = store.ruleset().flags[name]
    if as_json:
        emit_json(
            {
                "name": name,
                "changed": version is not None,
                "created": bool(created) and version is not None,
                "version": store.version,
                "enabled": flag.enabled,
                "rollout": rollout_summary(flag),
                "document": flag.to_dict(),
                "notes": notes,
            }
        )
        return
    for note in notes:
        echo(f"note: {printable(note)}", err=True)
    if version is None:
        echo(
            f"{name}: nothing changed (version {store.version}): {printable(rollout_summary(flag))}"
        )
    else:
        verb = "created" if created else "set"
        echo(f"{verb} {name} (version {version}): {printable(rollout_summary(flag))}")
    if not flag.enabled:
        echo(f"note: {name} is killed; `flagware enable {name}` releases it", err=True)
