"""Stores: where the ruleset lives (memory, a file, Redis), behind one facade.

``store`` is the facade every backend shares (the compiled-engine swap, the write API,
subscriptions, health); ``backend`` the protocol a backend implements; ``memory``,
``file`` and ``redis`` the backends; ``audit`` the recorded history. The parts the facade
composes for a shared backend are private: ``_follow`` (the follower thread),
``_snapshot`` (last known good on disk), ``_failsafe`` (the cold start), ``_health`` and
``_edits`` (the named edits).
"""

from __future__ import annotations

from flagware.stores.backend import Backend, BaseBackend, Commit
from flagware.stores.file import FileStore
from flagware.stores.memory import MemoryStore
from flagware.stores.store import Health, Store

__all__ = ["Backend", "BaseBackend", "Commit", "FileStore", "Health", "MemoryStore", "Store"]
