"""A hook that appends exposures to a Redis stream, for an analytics pipeline to consume.

Each batch the flusher delivers goes out in one pipeline: an ``XADD <stream> MAXLEN ~ N``
per exposure (the stream stays bounded: Redis trims whole nodes, so it holds about ``N``
entries, never much more) and one ``HSET`` of the last-seen hash, flag -> the latest
exposure's Unix time in whole seconds (what ``flagware stale`` reads to find flags no
code reads any more). Both keys carry the namespace's hash tag, so on Redis Cluster they
live in the ruleset's slot. A consumer reads the stream with ``XREAD`` or a consumer
group (``XREADGROUP``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flagware.exposures._event import Exposure
from flagware.stores.redis._layout import exposures_key, last_seen_key

if TYPE_CHECKING:
    from flagware.stores.redis import RedisStore

__all__ = ["DEFAULT_MAXLEN", "RedisStreamHook", "read_last_seen", "stream_fields"]

DEFAULT_MAXLEN = 100_000


def stream_fields(exposure: Exposure) -> dict[str, str]:
    """An exposure as stream entry fields: text; an absent variant/account/version is ""."""
    return {
        "flag": exposure.flag,
        "value": "true" if exposure.value else "false",
        "variant": exposure.variant or "",
        "reason": exposure.reason,
        "account_id": exposure.account_id or "",
        "ruleset_version": ""
        if exposure.ruleset_version is None
        else str(exposure.ruleset_version),
        "at": repr(exposure.at),
    }


class RedisStreamHook:
    """Writes exposures to ``{flagware:<namespace>}:exposures`` (and the last-seen hash).

    :param client: a redis-py client (``redis.Redis``, or a cluster client), or a callable
        returning one (so a store's client, renewed after a fork, is used).
    :param namespace: the RedisStore namespace the keys belong to.
    :param maxlen: the stream's approximate bound (``MAXLEN ~``).
    :param last_seen: also maintain the last-seen hash.
    """

    def __init__(
        self,
        client: Any,
        *,
        namespace: str = "default",
        maxlen: int = DEFAULT_MAXLEN,
        last_seen: bool = True,
    ) -> None:
        if maxlen < 1:
            raise ValueError(f"maxlen must be at least 1, got {maxlen}")
        self._client = client
        self.namespace = namespace
        self.stream = exposures_key(namespace)
        self.last_seen = last_seen_key(namespace) if last_seen else None
        self.maxlen = maxlen
        self._pending: list[Exposure] = []

    @classmethod
    def for_store(cls, store: RedisStore, **kwargs: Any) -> RedisStreamHook:
        """A hook writing next to ``store``'s ruleset, through the store's own client."""
        backend = store.backend
        return cls(lambda: backend.client, namespace=store.namespace, **kwargs)  # type: ignore[attr-defined]

    def after_evaluation(self, exposure: Exposure) -> None:
        self._pending.append(exposure)  # written by flush(), once per batch

    def flush(self) -> None:
        batch, self._pending = self._pending, []
        if not batch:
            return
        client = self._client if hasattr(self._client, "pipeline") else self._client()
        pipe = client.pipeline(transaction=False)
        latest: dict[str, int] = {}
        for exposure in batch:
            pipe.xadd(self.stream, stream_fields(exposure), maxlen=self.maxlen, approximate=True)
            seconds = int(exposure.at)
            if seconds > latest.get(exposure.flag, -1):
                latest[exposure.flag] = seconds
        if self.last_seen is not None:
            pipe.hset(self.last_seen, mapping=latest)
        pipe.execute()

    def __repr__(self) -> str:
        return f"RedisStreamHook({self.stream!r}, maxlen={self.maxlen})"


def read_last_seen(store: RedisStore) -> dict[str, float]:
    """The last-seen hash of ``store``'s namespace: flag -> its latest exposure (Unix
    seconds). Empty when no hook has written it; a damaged field is left out."""
    raw = store.backend.client.hgetall(last_seen_key(store.namespace))  # type: ignore[attr-defined]
    seen: dict[str, float] = {}
    for key, value in raw.items():
        try:
            name = key.decode() if isinstance(key, bytes) else str(key)
            seen[name] = float(value)
        except (UnicodeDecodeError, ValueError):
            continue
    return seen
