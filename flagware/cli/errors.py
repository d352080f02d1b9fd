"""The command's expected failures, each with its exit code (see the group's help).

Raising one prints ``Error: <message>`` on stderr and exits with its code; no traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

import click

__all__ = ["ConfigError", "Refused", "Unavailable", "close_names", "unknown_flag"]


class Refused(click.ClickException):
    """Exit 1: refused, invalid or not found (invalid ruleset, unknown flag, conflict)."""

    exit_code = 1


class ConfigError(click.ClickException):
    """Exit 2: the command cannot run as configured (no store chosen, no secret, ...)."""

    exit_code = 2


class Unavailable(click.ClickException):
    """Exit 3: the store cannot be used (Redis unreachable, no valid ruleset in it)."""

    exit_code = 3


def close_names(name: str, names: Iterable[str]) -> str:
    """`` (did you mean a, b?)`` for the names closest to ``name``, or nothing."""
    close = difflib.get_close_matches(name, sorted(names), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(close)}?)" if close else ""


def unknown_flag(name: str, names: Iterable[str]) -> Refused:
    """The error for a flag the ruleset lacks, naming the closest existing ones."""
    return Refused(f"no flag named {name!r} in the ruleset{close_names(name, names)}")
