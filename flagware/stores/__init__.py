"""Stores: where the ruleset lives (memory, a file, Redis), behind one interface."""

from __future__ import annotations

from flagware.stores.base import RulesetLike, Store
from flagware.stores.file import FileStore
from flagware.stores.memory import MemoryStore

__all__ = ["FileStore", "MemoryStore", "RulesetLike", "Store"]
