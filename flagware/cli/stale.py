"""``flagware stale``: the flags to clean up (expired, fully on or off for long, unread)."""

from __future__ import annotations

from datetime import datetime, timezone

import click

from flagware._presenting import local_time
from flagware.cli.connect import open_store
from flagware.cli.output import echo, emit_json, json_option, table
from flagware.lifecycle import stale_flags

__all__ = ["stale"]


def _as_of(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"expected an ISO 8601 date or time, got {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@click.command("stale", short_help="List flags to clean up, and why.")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    metavar="N",
    help="How long a flag must have been fully on/off, or unread, to be stale.",
)
@click.option(
    "--as-of",
    "as_of",
    callback=_as_of,
    metavar="TIME",
    help="Judge as of this ISO 8601 date or time (UTC if no offset) instead of now.",
)
@click.option("--fail", is_flag=True, help="Exit 1 if any flag is stale (for CI).")
@json_option
def stale(days: int, as_of: datetime | None, fail: bool, as_json: bool) -> None:
    """Flags past their `expires` date, on or off for everyone for N days (from the
    audit history), or not exposed in N days (when exposures are recorded). Flags
    marked `permanent` are never stale."""
    store = open_store()
    found = stale_flags(store, days=days, now=as_of)
    if as_json:
        emit_json(
            {
                "days": days,
                "stale": [
                    {
                        "name": s.name,
                        "reason": s.reason,
                        "detail": s.detail,
                        "since": s.since,
                        "owner": s.owner,
                    }
                    for s in found
                ],
            }
        )
    elif not found:
        echo(f"no stale flags (judged over {days} days)")
    else:
        rows = [[s.name, s.reason, s.detail, local_time(s.since), s.owner or "-"] for s in found]
        for line in table(["FLAG", "REASON", "DETAIL", "SINCE", "OWNER"], rows):
            echo(line)
    if fail and found:
        click.get_current_context().exit(1)
