"""Edits through the store's compare-and-set ``update``, skipping ones that change nothing.

A command that would write the same ruleset again records nothing: the audit history
lists changes, not attempts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flagware.cli.settings import get_settings
from flagware.ruleset import Ruleset
from flagware.stores.store import Store

__all__ = ["Unchanged", "canonical", "edit"]


class Unchanged(Exception):
    """Raised by an edit that leaves the document as it was: nothing is written."""


def canonical(doc: Any) -> str:
    """A document as canonical JSON, to compare documents (``1`` and ``True`` differ)."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


def edit(
    store: Store,
    change: Callable[[dict[str, Any]], dict[str, Any] | Ruleset | None],
    *,
    action: str,
) -> int | None:
    """Apply ``change`` as the acting operator; the new version, or None if nothing changed.

    ``change`` edits the latest document in place (or returns a new one) like
    :meth:`Store.update`, and may run more than once.
    """

    def guarded(doc: dict[str, Any]) -> Ruleset:
        before = canonical(doc)  # the store hands out canonical documents
        result = change(doc)
        if not isinstance(result, Ruleset):  # validated here, so 25 and 25.0 compare equal
            result = Ruleset.from_dict(doc if result is None else result)
        if canonical(result.to_dict()) == before:
            raise Unchanged
        return result

    try:
        return store.update(guarded, actor=get_settings().actor, action=action)
    except Unchanged:
        return None
