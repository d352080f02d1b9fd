"""``flagware token``: mint a signed override token for one tester's account.

The token lets that account (only) force flags on, off or to a variant in its own
requests until it expires; the middleware verifies it with the same secret
(``token_secret=``). It needs no store.
"""

from __future__ import annotations

import os
import re
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import click

from flagware.cli.errors import ConfigError
from flagware.cli.output import echo, emit_json, json_option, printable

if TYPE_CHECKING:
    from flagware.overrides import Overrides

__all__ = ["parse_ttl", "token"]

_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd]?)")
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_TTL = 365 * 86400  # longer is surely a typo: a token cannot be revoked, only expire


def parse_ttl(text: str) -> float:
    """Seconds in a duration like ``90s``, ``15m``, ``1h`` or ``2d`` (a bare number: seconds)."""
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None:
        raise ValueError(f"{text!r} is not a duration like 90s, 15m, 1h or 2d")
    seconds = float(match[1]) * _SECONDS[match[2]]
    if seconds <= 0:
        raise ValueError(f"{text!r}: a token must live longer than 0 seconds")
    if seconds > MAX_TTL:
        raise ValueError(f"{text!r} is longer than a year; a token cannot be revoked")
    return seconds


def _ttl(ctx: click.Context, param: click.Parameter, value: str) -> Any:
    try:
        return parse_ttl(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _overrides(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> Any:
    from flagware.overrides import parse_override_header  # noqa: PLC0415 - itsdangerous

    overrides: Overrides = {}
    for value in values:
        parsed = parse_override_header(value)
        if parsed is None or len(parsed) != 1:
            raise click.BadParameter(
                f"{value!r} is not NAME=on, NAME=off or NAME=VARIANT (one flag per --flag)"
            )
        name = next(iter(parsed))
        if name in overrides:
            raise click.BadParameter(f"{name} is given twice")
        overrides.update(parsed)
    return overrides


@click.command("token", short_help="Mint a signed override token for a tester.")
@click.option("--account", "account_id", required=True, metavar="ID", help="The tester's account.")
@click.option(
    "--flag",
    "overrides",
    multiple=True,
    required=True,
    callback=_overrides,
    metavar="NAME=on|off|VARIANT",
    help="A flag to force (repeatable).",
)
@click.option(
    "--ttl", default="1h", show_default=True, callback=_ttl, help="Lifetime: 90s, 15m, 1h, 2d."
)
@click.option(
    "--secret-env",
    default="FLAGWARE_TOKEN_SECRET",
    show_default=True,
    metavar="VAR",
    help="The environment variable holding the secret the middleware verifies with.",
)
@json_option
def token(
    account_id: str, overrides: Overrides, ttl: float, secret_env: str, as_json: bool
) -> None:
    """Mint a signed override token for one account; print it on stdout.

    Set it as the tester's `flagware_override` cookie. The secret is read from an
    environment variable, never from the command line (which other users can see).
    """
    from flagware._request import DEFAULT_TOKEN_COOKIE  # noqa: PLC0415 - see _overrides
    from flagware.overrides import issue_override_token  # noqa: PLC0415

    secret = os.environ.get(secret_env, "")
    if not secret:
        raise ConfigError(
            f"no token secret: set {secret_env} to the secret your middleware verifies "
            "override tokens with (its token_secret=)"
        )
    if not account_id:
        raise click.BadParameter("must not be empty", param_hint="--account")
    now = time.time()
    minted = issue_override_token(secret, account_id, overrides, ttl=ttl, now=now)
    expires = datetime.fromtimestamp(now + ttl, timezone.utc).astimezone()
    if as_json:
        emit_json(
            {
                "token": minted,
                "account": account_id,
                "overrides": overrides,
                "expires": expires.isoformat(timespec="seconds"),
                "cookie": DEFAULT_TOKEN_COOKIE,
            }
        )
        return
    echo(minted)
    forced = ", ".join(
        f"{n}={'on' if v is True else 'off' if v is False else v}" for n, v in overrides.items()
    )
    echo(
        f"for {printable(account_id)} ({printable(forced)}) until "
        f"{expires.isoformat(timespec='seconds')}; "
        f"set it as the {DEFAULT_TOKEN_COOKIE} cookie",
        err=True,
    )
