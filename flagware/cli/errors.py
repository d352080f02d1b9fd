"""The command's expected failures, each with its exit code (see the group's help).

Raising one prints ``Error: <message>`` on stderr and exits with its code; no traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

import click

from flagware.cli.output import printable
from flagware.errors import MORE_PROBLEMS, RulesetError

__all__ = [
    "ConfigError",
    "Refused",
    "Unavailable",
    "close_names",
    "problems_text",
    "unknown_flag",
]


class _Failure(click.ClickException):
    """A failure whose message may quote stored values: printed escaped, line by line."""

    def format_message(self) -> str:
        return printable(self.message, keep_newlines=True)


class Refused(_Failure):
    """Exit 1: refused, invalid or not found (invalid ruleset, unknown flag, conflict)."""

    exit_code = 1


class ConfigError(_Failure):
    """Exit 2: the command cannot run as configured (no store chosen, no secret, ...)."""

    exit_code = 2


class Unavailable(_Failure):
    """Exit 3: the store cannot be used (Redis unreachable, no valid ruleset in it)."""

    exit_code = 3


def close_names(name: str, names: Iterable[str]) -> str:
    """`` (did you mean a, b?)`` for the names closest to ``name``, or nothing."""
    close = difflib.get_close_matches(name, sorted(names), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(close)}?)" if close else ""


def unknown_flag(name: str, names: Iterable[str]) -> Refused:
    """The error for a flag the ruleset lacks, naming the closest existing ones."""
    return Refused(f"no flag named {name!r} in the ruleset{close_names(name, names)}")


def problems_text(error: RulesetError) -> str:
    """A validation failure as the library words it, each problem :func:`printable` on its
    own line (a problem quotes the document: a key with a line break stays on its line)."""
    header = str(error).split("\n", 1)[0]
    lines = [header, *(f"  - {printable(problem)}" for problem in error.problems)]
    if error.more:
        lines.append(f"  {MORE_PROBLEMS}")
    return "\n".join(lines)
