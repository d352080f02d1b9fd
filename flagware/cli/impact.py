"""``--sample FILE`` for the commands that preview a change (``set --dry-run``, ``push
--dry-run``): the accounts a change would turn on or off, printed before anything is saved."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from flagware.cli.errors import ConfigError
from flagware.cli.output import echo, printable

if TYPE_CHECKING:
    from flagware.preview import Impact
    from flagware.ruleset import Ruleset

__all__ = ["echo_impact", "impact_of", "sample_option"]

F = TypeVar("F", bound=Callable[..., Any])


def sample_option(command: F) -> F:
    """The ``--sample FILE`` option: account records to count a dry run's impact on."""
    return click.option(
        "--sample",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        metavar="FILE",
        help="With --dry-run: count the accounts the change turns on or off among these "
        "account records (.jsonl, .json or .csv with id, number and attribute columns).",
    )(command)


def impact_of(before: Ruleset, after: Ruleset, sample: Path | None) -> Impact | None:
    """The change's impact on the sampled accounts, or None without a sample."""
    if sample is None:
        return None
    from flagware.preview import SampleError, load_accounts, preview_change  # noqa: PLC0415

    try:
        accounts = load_accounts(sample)
    except SampleError as exc:
        raise ConfigError(f"--sample: {exc}") from None
    return preview_change(before, after, accounts)


def echo_impact(impact: Impact | None) -> None:
    """The impact, a line per changed flag, indented under the dry run's summary."""
    if impact is None:
        return
    echo(f"impact on {impact.sampled:,} sampled accounts:")
    for line in str(impact).splitlines():
        echo(f"  {printable(line)}")
