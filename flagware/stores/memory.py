"""MemoryStore: a ruleset held in this process only (tests, single-process apps, demos)."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from flagware.engine import Clock
from flagware.ruleset import Ruleset
from flagware.ruleset.load import RulesetLike, coerce_ruleset
from flagware.stores.audit import Change, LocalHistory
from flagware.stores.backend import BaseBackend, Committed, Latest, Loaded, Served
from flagware.stores.store import HISTORY_LENGTH, Store

__all__ = ["MemoryBackend", "MemoryStore"]


class MemoryBackend(BaseBackend):
    """Versions and history in a dict and a deque; a commit is a swap."""

    name = "memory"
    label = "memory"

    def __init__(self, first: Ruleset, *, history_length: int = HISTORY_LENGTH) -> None:
        self._version = 1
        self._ruleset = first
        self._history = LocalHistory(history_length)
        self._history.record(1, 0, actor="MemoryStore", action="load", old=None, new=first)
        self._lock = threading.Lock()

    def describe(self) -> str:
        return "MemoryStore"

    def load(self, served: Served | None) -> Loaded | None:
        return None  # nobody else writes it: the store applies every commit itself

    def latest(self, served: Served | None) -> Latest:
        with self._lock:
            return Latest(self._version, self._ruleset)

    def commit(
        self,
        ruleset: Ruleset,
        token: int | None,
        *,
        actor: str,
        action: str,
        before: Mapping[str, Any] | None,
        served: Served | None = None,
    ) -> Committed | None:
        with self._lock:
            if token is not None and token != self._version:
                return None
            previous, self._version = self._version, self._version + 1
            self._ruleset = ruleset
            self._history.record(
                self._version, previous, actor=actor, action=action, old=before, new=ruleset
            )
            return Committed(self._version)

    def history(self, limit: int | None) -> list[Change]:
        return self._history.newest_first(limit)

    def after_fork(self) -> None:
        self._lock = threading.Lock()  # the parent's may have been held at fork time


class MemoryStore(Store):
    """A store that keeps its ruleset in memory; ``save`` swaps it at once.

    >>> store = MemoryStore({"flags": {"beta": {"strategies": [{"type": "everyone"}]}}})
    """

    def __init__(
        self,
        ruleset: RulesetLike,
        *,
        clock: Clock = time.time,
        history_length: int = HISTORY_LENGTH,
    ) -> None:
        first = coerce_ruleset(ruleset)
        backend = MemoryBackend(first, history_length=history_length)
        super().__init__(backend, clock=clock, initial=Loaded(1, first))
