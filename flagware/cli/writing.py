"""Edits through the store's compare-and-set ``update`` as the acting operator.

An edit that would write the same ruleset again records nothing (the store sees to it):
the audit history lists changes, not attempts.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

from flagware.cli.settings import get_settings

if TYPE_CHECKING:
    from flagware.ruleset import Ruleset
    from flagware.stores.store import Store

__all__ = ["edit"]


def edit(
    store: Store,
    change: Callable[[dict[str, Any]], dict[str, Any] | Ruleset | None],
    *,
    action: str,
    touching: Collection[str] | None = None,
) -> int | None:
    """Apply ``change`` as the acting operator; the new version, or None if nothing changed.

    ``change`` edits the latest document in place (or returns a new one) like
    :meth:`Store.update`, and may run more than once; ``touching`` names the flags it
    edits in place (the others are read-only), so only they are validated again.
    """
    commit = store.update(change, actor=get_settings().actor, action=action, touching=touching)
    return commit.version if commit.changed else None
