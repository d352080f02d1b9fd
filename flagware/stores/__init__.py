"""Stores: where the ruleset lives (memory, a file, Redis), behind one interface."""

from __future__ import annotations

from flagware.stores.file import FileStore
from flagware.stores.memory import MemoryStore
from flagware.stores.store import RulesetLike, Store

__all__ = ["FileStore", "MemoryStore", "RulesetLike", "Store"]
