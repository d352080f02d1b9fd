"""Fixtures of the flagware.testing tests.

The modules the plugin's fixtures import on first use are imported here, before any test
runs: pytester's in-process runs drop the modules first imported during a run, and a
second copy of ``flagware.context`` would hold a second ``flags_var``.
"""

from __future__ import annotations

import flagware.context
import flagware.testing.flags
import flagware.testing.headers
import flagware.testing.testdata  # noqa: F401
