"""Stores: where the ruleset lives (memory, a file, Redis), behind one facade.

``store`` is the facade every backend shares (the compiled-engine swap, the write API,
subscriptions, health); ``backend`` the protocol a backend implements; ``memory``,
``file`` and ``redis`` the backends; ``follow``, ``snapshot`` and ``failsafe`` the parts a
shared backend composes; ``audit`` the recorded history.
"""

from __future__ import annotations

from flagware.stores.backend import Backend, BaseBackend, Commit
from flagware.stores.file import FileStore
from flagware.stores.memory import MemoryStore
from flagware.stores.store import Health, Store

__all__ = ["Backend", "BaseBackend", "Commit", "FileStore", "Health", "MemoryStore", "Store"]
