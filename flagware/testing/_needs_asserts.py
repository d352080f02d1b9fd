"""Refuses to load the store contract under ``python -O``, which strips assert statements.

The contract's checks are asserts, as pytest tests are: with them stripped every test
would pass unchecked. Imported first by each contract module, so a direct import of one
refuses too; the rest of :mod:`flagware.testing` has no asserts and works under ``-O``.
"""

from __future__ import annotations

import sys

if sys.flags.optimize:
    raise RuntimeError(
        "flagware.testing's store contract cannot run under python -O: its checks are "
        "assert statements, which -O strips; run it with plain python"
    )
