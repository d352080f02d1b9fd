"""The Redis store: one ruleset per namespace, shared by every process (extra ``redis``).

``store`` is the RedisStore facade and its constructors; ``backend`` the Backend on one
namespace. Private: ``_recovery`` (what a process makes of bad or lost data), ``_layout``
and ``_scripts`` (the keys, and the Lua that changes them), ``_clients`` (one server,
Sentinel and Cluster clients from URLs).
"""

from __future__ import annotations

try:
    import redis  # noqa: F401 - only to say what is missing
except ImportError:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "flagware's RedisStore needs redis-py: pip install 'flagware[redis]'"
    ) from None

from flagware.stores.redis.store import Health, RedisStore

__all__ = ["Health", "RedisStore"]
