"""How a store is doing: the :class:`Health` it reports, and the state behind it.

A store tells its :class:`Tracker` what happened (the backend answered, refused what it
holds, could not be reached); the tracker logs each change of state once, not on every
poll, and answers ``health()``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from flagware.stores.backend import Unservable

__all__ = ["Health", "Tracker"]

logger = logging.getLogger("flagware")


@dataclass(frozen=True)
class Health:
    """How a store is doing, for health endpoints and dashboards.

    ``source`` is where the served ruleset came from: the backend's name ("redis",
    "file", "memory"), or "snapshot", "bootstrap", "fail-closed". ``problem`` says why
    what the backend holds is not what is served (corrupt, invalid, changed in place);
    None when they agree.

    The last three are for monitoring (:mod:`flagware.prometheus`) and take no part in
    ``==``: ``synced_at``, when the backend last answered (epoch seconds; None: never);
    ``failed_syncs``, how many looks at the backend failed since the store started;
    ``applied_at``, when the served version was applied in this process.
    """

    connected: bool
    version: int
    source: str
    stale_since: float | None  # epoch seconds since when it may be out of date; None: in sync
    last_error: str | None
    problem: str | None = None
    synced_at: float | None = field(default=None, compare=False)
    failed_syncs: int = field(default=0, compare=False)
    applied_at: float | None = field(default=None, compare=False)


class Tracker:
    """The connection and sync state of one store; ``describe`` and ``label`` name the
    store and its backend in the log."""

    def __init__(self, describe: str, label: str) -> None:
        self.describe = describe
        self.label = label
        self.connected = False
        self.stale_since: float | None = time.time()
        self.last_error: str | None = None
        self.problem: str | None = None
        self._refused: object = None  # the state last refused (logged once)
        self.synced_at: float | None = None
        self.failed_syncs = 0

    def health(self, version: int, source: str, applied_at: float | None = None) -> Health:
        return Health(
            self.connected,
            version,
            source,
            self.stale_since,
            self.last_error,
            self.problem,
            self.synced_at,
            self.failed_syncs,
            applied_at,
        )

    def refused(self, exc: Unservable) -> None:
        """The backend holds something we must not serve: log it once, report why in
        health(); the store keeps serving its own."""
        self.connected = True
        self.failed_syncs += 1
        if exc.state != self._refused:
            logger.error("flagware: %s %s", self.describe, exc.log)
        self._refused = exc.state
        self.problem = exc.problem
        if self.stale_since is None:
            self.stale_since = time.time()

    def in_sync(self, version: int | None) -> None:
        """The backend answered, and holds what the store serves (or nothing newer)."""
        if self.last_error is not None:
            logger.warning("flagware: %s is connected again", self.describe)
        if self.problem is not None:
            logger.warning(
                "flagware: %s: what %s holds is valid again; serving version %s",
                self.describe,
                self.label,
                version if version is not None else "none",
            )
        self.connected = True
        self.synced_at = time.time()
        self.stale_since = None
        self.last_error = None
        self.problem = None
        self._refused = None

    def disconnected(self, exc: BaseException, version: int | None) -> None:
        """The backend could not be reached; the store keeps serving ``version``."""
        cause = exc.__cause__ or exc  # the backend's own error says most
        if self.connected or self.last_error is None:
            logger.warning(
                "flagware: %s lost %s (%s); serving version %s until it is back",
                self.describe,
                self.label,
                cause,
                version if version is not None else "none",
            )
        self.connected = False
        self.failed_syncs += 1
        self.last_error = f"{type(cause).__name__}: {cause}"
        if self.stale_since is None:
            self.stale_since = time.time()
