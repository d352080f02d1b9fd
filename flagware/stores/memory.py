"""MemoryStore: a ruleset held in this process only (tests, single-process apps, demos)."""

from __future__ import annotations

import time

from flagware.engine import Clock
from flagware.stores.store import RulesetLike, Store, coerce_ruleset

__all__ = ["MemoryStore"]


class MemoryStore(Store):
    """A store that keeps its ruleset in memory; ``save`` swaps it at once.

    >>> store = MemoryStore({"flags": {"beta": {"strategies": [{"type": "everyone"}]}}})
    """

    def __init__(
        self, ruleset: RulesetLike, *, clock: Clock = time.time, history_length: int = 1000
    ) -> None:
        super().__init__(clock=clock, history_length=history_length)
        self.save(coerce_ruleset(ruleset), actor="MemoryStore", action="load")
