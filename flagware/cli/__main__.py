"""``python -m flagware.cli``: the ``flagware`` command, where its script is not on PATH."""

from __future__ import annotations

from flagware.cli import main

main()
