"""Counters that many threads bump without a lock, and one thread reads.

``next()`` on an :class:`itertools.count` is one C call, so no increment is lost between
threads (a ``dict[key] += 1`` can lose one); reading the value back goes through its
``repr``, which is all ``count`` offers.
"""

from __future__ import annotations

from collections.abc import Hashable
from itertools import count
from typing import Generic, TypeVar

__all__ = ["Tally"]

K = TypeVar("K", bound=Hashable)


class Tally(Generic[K]):
    """A count per key; ``add`` is safe from any thread, ``snapshot`` reads them all."""

    __slots__ = ("_counts",)

    def __init__(self) -> None:
        self._counts: dict[K, count[int]] = {}

    def add(self, key: K) -> None:
        counter = self._counts.get(key)
        if counter is None:
            counter = self._counts.setdefault(key, count(1))
        next(counter)

    def snapshot(self) -> dict[K, int]:
        """``{key: count}`` of every key seen so far."""
        return {key: _value(counter) - 1 for key, counter in list(self._counts.items())}

    def clear(self) -> None:
        self._counts.clear()


def _value(counter: count[int]) -> int:
    return int(repr(counter)[6:-1])  # "count(7)"
