"""``flagware eval``: what an account gets for each flag, and why."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from flagware.account import Account
from flagware.cli.connect import open_store
from flagware.cli.errors import close_names
from flagware.cli.output import echo, emit_json, json_option, printable, table

__all__ = ["evaluate", "parse_attribute", "parse_instant"]


def parse_attribute(text: str) -> tuple[str, Any]:
    """``key=value`` (a string) or ``key:=json`` (``age:=42``, ``beta:=true``, ``tags:=["a"]``)."""
    key, sep, value = text.partition("=")
    if not sep or not key or key == ":":
        raise ValueError(f"expected KEY=VALUE or KEY:=JSON, got {text!r}")
    if not key.endswith(":"):
        return key, value
    try:
        return key[:-1], json.loads(value)
    except ValueError:
        raise ValueError(
            f"{key[:-1]}: {value!r} is not JSON (quote strings, or use KEY=VALUE)"
        ) from None


def parse_instant(text: str) -> datetime:
    """An ISO 8601 date or time; without an offset it is local time."""
    try:
        instant = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO 8601 time like 2025-06-01T12:00:00+02:00"
        ) from None
    return instant if instant.tzinfo is not None else instant.astimezone()


def _attributes(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> Any:
    try:
        return dict(parse_attribute(v) for v in values)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _instant(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    try:
        return None if value is None else parse_instant(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command("eval", short_help="Evaluate flags for one account, with reasons.")
@click.argument("names", nargs=-1, metavar="[FLAG]...")
@click.option("--account", "account_id", required=True, metavar="ID", help="The account id.")
@click.option("--number", type=int, metavar="N", help="The account number (last_digit rules).")
@click.option(
    "--attr",
    "attributes",
    multiple=True,
    callback=_attributes,
    metavar="KEY=VALUE",
    help="An attribute: plan=pro is a string; age:=42 takes JSON (numbers, true, lists).",
)
@click.option("--test-user", is_flag=True, help="Evaluate as a test user.")
@click.option("--at", "at", callback=_instant, metavar="ISO8601", help="Evaluate at this time.")
@json_option
def evaluate(
    *,
    names: tuple[str, ...],
    account_id: str,
    number: int | None,
    attributes: dict[str, Any],
    test_user: bool,
    at: datetime | None,
    as_json: bool,
) -> None:
    """Evaluate the live ruleset for one account: each flag's value, variant and reason.

    Without FLAG arguments, every flag. An account the ruleset lists as a test user is
    evaluated as one. Flags the ruleset lacks follow its `unknown` policy.
    """
    if not account_id:
        raise click.BadParameter("must not be empty", param_hint="--account")
    store = open_store()
    engine = store.engine()
    account = Account(account_id, number=number, attributes=attributes)
    flags = engine.evaluate_all(account, now=at, test_user=test_user)
    chosen = list(names) or list(engine.ruleset.flags)
    missing = [n for n in chosen if n not in engine.ruleset.flags]
    is_test_user = test_user or account_id in engine.test_users
    results = {
        name: {
            "enabled": flags.is_enabled(name),
            "variant": flags.variant(name),
            "reason": flags.reason(name),
        }
        for name in chosen
    }
    if as_json:
        emit_json(
            {
                "account": account_id,
                "number": number,
                "attributes": attributes,
                "test_user": is_test_user,
                "at": at.isoformat() if at else None,
                "version": store.version,
                "flags": results,
            }
        )
        return
    for name in missing:
        echo(
            f"note: {name!r} is not in the ruleset{close_names(name, engine.ruleset.flags)}; "
            f"it follows unknown: {engine.ruleset.unknown}",
            err=True,
        )
    details = [f"number {number}"] if number is not None else []
    details += [f"{printable(k)}={printable(v)}" for k, v in attributes.items()]
    who = f"account {printable(account_id)}" + (f" ({', '.join(details)})" if details else "")
    when = at.isoformat() if at else "now"
    suffix = ", as a test user" if is_test_user else ""
    echo(f"{who}, ruleset version {store.version}, at {when}{suffix}")
    rows = [
        [name, "on" if r["enabled"] else "off", str(r["variant"] or "-"), str(r["reason"])]
        for name, r in results.items()
    ]
    for line in table(["FLAG", "VALUE", "VARIANT", "REASON"], rows):
        echo(line)
