"""``flagware test-users``: the accounts that see every flag that is not killed."""

from __future__ import annotations

from typing import Any

import click

from flagware.cli.connect import open_store
from flagware.cli.output import echo, emit_json, join, json_option, printable
from flagware.cli.writing import edit

__all__ = ["test_users"]


def _list(as_json: bool) -> None:
    store = open_store()
    users = sorted(store.ruleset().test_users)
    if as_json:
        emit_json({"version": store.version, "test_users": users})
    elif users:
        echo("\n".join(printable(u) for u in users))
    else:
        echo("no test users", err=True)


@click.group("test-users", invoke_without_command=True)
@json_option
@click.pass_context
def test_users(ctx: click.Context, as_json: bool) -> None:
    """List (the default), add or remove test users."""
    if ctx.invoked_subcommand is None:
        _list(as_json)


@test_users.command("list")
@json_option
def list_users(as_json: bool) -> None:
    """Print the test users, one a line."""
    _list(as_json)


def _change_users(ids: tuple[str, ...], add: bool) -> None:
    store = open_store()
    before = store.ruleset().test_users

    def change(doc: dict[str, Any]) -> None:
        users = set(doc["test_users"])
        doc["test_users"] = sorted(users | set(ids) if add else users - set(ids))

    action = "add_test_user" if add else "remove_test_user"
    version = edit(store, change, action=action, touching=())  # no flag changes
    after = store.ruleset().test_users
    changed = sorted(((after - before) if add else (before - after)) & set(ids))
    untouched = sorted(set(ids) - set(changed))
    if untouched:
        state = "already test users" if add else "not test users"
        echo(f"note: {state}: {join(untouched)}", err=True)
    if version is None:
        echo(f"nothing changed (version {store.version}); {len(after)} test users")
    else:
        verb = "added" if add else "removed"
        echo(f"{verb} {join(changed)} (version {version}); {len(after)} test users")


@test_users.command("add")
@click.argument("ids", nargs=-1, required=True, metavar="ID...")
def add(ids: tuple[str, ...]) -> None:
    """Make accounts test users."""
    _change_users(ids, add=True)


@test_users.command("remove")
@click.argument("ids", nargs=-1, required=True, metavar="ID...")
def remove(ids: tuple[str, ...]) -> None:
    """Stop treating accounts as test users."""
    _change_users(ids, add=False)
