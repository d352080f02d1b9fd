"""The store interface every backend implements, and the in-process cache they share.

A store owns the current ruleset *and* its compiled :class:`~flagware.Engine`, swapped
together as one object, so a request always evaluates a consistent pair and never waits
for I/O: backends load and compile in the background, then swap.
"""

from __future__ import annotations

import abc
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flagware.engine import Clock, Engine
from flagware.ruleset import Ruleset

__all__ = ["RulesetLike", "Store", "coerce_ruleset"]

logger = logging.getLogger("flagware")

RulesetLike = Ruleset | Mapping[str, Any]
Listener = Callable[[Ruleset], None]


def coerce_ruleset(value: RulesetLike, *, source: str | None = None) -> Ruleset:
    """A Ruleset as is, or a document validated into one (raises RulesetError)."""
    if isinstance(value, Ruleset):
        return value
    if isinstance(value, Mapping):
        return Ruleset.from_dict(value, source=source)
    raise TypeError(f"expected a Ruleset or a ruleset document (dict), got {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class _Current:
    ruleset: Ruleset
    engine: Engine
    version: int


class Store(abc.ABC):
    """Where a ruleset lives, with an in-memory compiled copy for the hot path.

    ``ruleset()`` and ``engine()`` never do I/O. ``save()`` validates before anything is
    written, so an invalid document never replaces a good one. ``subscribe()`` registers a
    callback run after each change is applied (in the thread that applied it).
    """

    def __init__(self, *, clock: Clock = time.time) -> None:
        self._clock = clock
        self._current: _Current | None = None
        self._listeners: list[Listener] = []
        self._apply_lock = threading.Lock()

    def ruleset(self) -> Ruleset:
        """The current ruleset, from memory."""
        return self._get().ruleset

    def engine(self) -> Engine:
        """The current ruleset, compiled; what the middleware evaluates against."""
        return self._get().engine

    @property
    def version(self) -> int:
        """How many rulesets this store has applied (the Redis store uses Redis's version)."""
        return self._get().version

    @abc.abstractmethod
    def save(self, ruleset: RulesetLike) -> None:
        """Validate, then replace the whole ruleset (raises RulesetError if invalid)."""

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(ruleset)`` after every applied change; returns an unsubscribe."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def close(self) -> None:  # noqa: B027 - stores without resources need not override
        """Release threads and connections; the last ruleset stays readable."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get(self) -> _Current:
        current = self._current
        if current is None:
            raise RuntimeError(f"{type(self).__name__} has no ruleset loaded yet")
        return current

    def _apply(self, ruleset: Ruleset, version: int | None = None) -> None:
        """Compile and swap in ``ruleset``, then tell the listeners."""
        engine = Engine(ruleset, clock=self._clock)
        with self._apply_lock:
            previous = self._current
            if version is None:
                version = previous.version + 1 if previous else 1
            self._current = _Current(ruleset, engine, version)
        for listener in list(self._listeners):
            try:
                listener(ruleset)
            except Exception:
                logger.exception("flagware: a store listener raised; the change stays applied")

    def describe(self) -> str:
        """One line saying what this store is, for logs and ``repr``."""
        return type(self).__name__

    def __repr__(self) -> str:
        current = self._current
        state = (
            f"version {current.version}, {len(current.ruleset.flags)} flags" if current else "empty"
        )
        return f"<{self.describe()} ({state})>"
