"""The ``flagware`` command: operate the flags in Redis or a rules file from a shell.

The command needs click (``pip install 'flagware[cli]'``); importing this package does
not, so ``main`` can say so in one line instead of a traceback.

A command starts fast by importing only what it uses: the group imports the module of
the command that runs (``app.COMMANDS``), and what only some commands need (redis-py,
the strategies, ruleset files, token signing, the web server and the admin panel) is
imported by those commands when they run. ``tests/cli/test_cli_imports.py`` checks it.
"""

from __future__ import annotations

import gc
import sys

__all__ = ["main"]

MISSING_EXTRA = "the flagware command needs its extra: pip install 'flagware[cli]'"


def main(argv: list[str] | None = None) -> None:
    """Run the command line (the ``flagware`` console script); exits with its code."""
    try:
        import click  # noqa: F401, PLC0415 - only to find out whether the extra is installed
    except ImportError:
        print(MISSING_EXTRA, file=sys.stderr)
        raise SystemExit(1) from None
    from flagware.cli.app import cli  # noqa: PLC0415 - needs click

    try:
        cli.main(args=argv, prog_name="flagware")
    finally:
        # The modules a command imported hold many objects and little garbage: frozen, they
        # are not walked once more by the collections of the interpreter's exit (about 50 ms
        # of a `flagware set`).
        gc.freeze()
