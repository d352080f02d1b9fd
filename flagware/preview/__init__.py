"""Rollout impact preview: how many accounts a change turns on or off, before it is saved.

::

    from flagware.preview import load_accounts, preview_change
    impact = preview_change(store.ruleset(), new_document, load_accounts("accounts.jsonl"))
    print(impact)   # new_checkout: +1,204 accounts (5.0 % -> 25.0 % of 6,021 sampled), estimated

The same preview is behind ``flagware set ... --dry-run --sample FILE``, ``flagware push
--dry-run --sample FILE`` and the admin panel's Preview button (``admin_app(...,
sample_accounts=...)``).
"""

from __future__ import annotations

from flagware.preview._impact import EXACT_TYPES, FlagImpact, Impact, preview_change
from flagware.preview._samples import SampleError, load_accounts

__all__ = ["EXACT_TYPES", "FlagImpact", "Impact", "SampleError", "load_accounts", "preview_change"]
