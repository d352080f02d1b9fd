"""The interface between a :class:`~flagware.Store` and where its ruleset lives.

A backend stores documents and versions; it knows nothing of engines, listeners or
threads. The :class:`~flagware.Store` facade owns those for every backend, and the
reusable parts in this package (the follower, the snapshot, the fail-safe start) compose
with any of them. A new backend (Postgres, etcd) is a class with these methods; run
:class:`flagware.testing.StoreContract` against a store built on it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from flagware.ruleset import Ruleset
from flagware.ruleset.documents import copy_document
from flagware.stores.audit import Change

__all__ = [
    "Backend",
    "Commit",
    "Committed",
    "Latest",
    "Listen",
    "Loaded",
    "Served",
    "Unservable",
]

Listen = Callable[[float], object]
"""Waits up to the given seconds for a change notification; returns the announcement
(a version, as the backend publishes it) or None when none came."""


@dataclass(frozen=True)
class Served:
    """What the store serves now, as a backend needs to know it to read or write."""

    version: int
    ruleset: Ruleset
    source: str  # the backend's name, or "snapshot", "bootstrap", "fail-closed"
    stamp: object = None  # the backend's identity of the stored state it came from


@dataclass(frozen=True)
class Loaded:
    """A ruleset a backend read (or wrote back), to serve as ``version``."""

    version: int
    ruleset: Ruleset
    stamp: object = None


@dataclass(frozen=True)
class Latest:
    """What a write edits: the compare-and-set ``token``, the document (or the ruleset it is
    the document of: an edit then copies only what it touches), and whether what is stored
    cannot be served (then any edit must be written, to replace it).

    The token is the version (0: nothing stored yet); a backend may use others (Redis: -1
    for a hash whose version is unreadable). The store never mutates ``document``.
    """

    token: int
    document: dict[str, Any] | Ruleset
    unservable: bool = False

    @property
    def ruleset(self) -> Ruleset | None:
        """The ruleset of the document, if the backend gave it."""
        return self.document if isinstance(self.document, Ruleset) else None

    def copy(self) -> dict[str, Any]:
        """A copy of the document, to edit."""
        if isinstance(self.document, Ruleset):
            return self.document.to_dict()
        return copy_document(self.document)


@dataclass(frozen=True)
class Committed:
    """A write the backend accepted. ``warning`` is raised once the version is applied: it
    was written, but not as safely as asked (too few replicas confirmed it)."""

    version: int
    stamp: object = None
    warning: Exception | None = None


class Commit:
    """What a write did: the ``version`` now current, whether anything ``changed`` (an edit
    that leaves the ruleset as it was writes and records nothing), and the document
    ``before`` it (None for the first ruleset of a new store; copied when first read)."""

    __slots__ = ("_before", "changed", "version")

    def __init__(
        self, version: int, changed: bool, before: dict[str, Any] | Ruleset | None = None
    ) -> None:
        self.version = version
        self.changed = changed
        self._before = before

    @property
    def before(self) -> dict[str, Any] | None:
        before = self._before
        if isinstance(before, Ruleset):
            before = self._before = before.to_dict()
        return before

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Commit):
            return NotImplemented
        return (self.version, self.changed, self.before) == (
            other.version,
            other.changed,
            other.before,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Commit(version={self.version}, changed={self.changed})"


class Unservable(Exception):
    """The backend holds a document that must not be served; the message says why.

    ``state`` identifies what was refused, so the store logs it once and not every poll;
    ``log`` is the longer message for the log (defaults to the problem).
    """

    def __init__(self, problem: str, *, state: object = None, log: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.state = state if state is not None else problem
        self.log = log or problem


class Backend(Protocol):
    """Where a ruleset lives. Every method may raise
    :class:`~flagware.StoreUnavailable` when the backend cannot be reached."""

    name: str
    """Short name, reported as ``Health.source`` for what it serves ("redis", "file")."""

    label: str
    """What it is called in messages ("Redis", "the rules file")."""

    shared: bool
    """Whether other processes write it too (then a store follows it, and keeps a
    snapshot and a fail-safe start)."""

    def describe(self) -> str:
        """One line for logs: what and where."""
        ...

    def load(self, served: Served | None) -> Loaded | None:
        """What the backend holds if it is not what ``served`` is: None when nothing newer.

        Raises :class:`Unservable` for a stored document that must not be served.
        """
        ...

    def latest(self, served: Served | None) -> Latest:
        """The document a write edits and the token to compare-and-set against."""
        ...

    def commit(
        self, ruleset: Ruleset, token: int | None, *, actor: str, action: str,
        before: Mapping[str, Any] | None,
        served: Served | None = None,
    ) -> Committed | None:  # fmt: skip
        """Write ``ruleset`` if the stored token is still ``token`` (None: whatever is
        stored), recording ``actor``, ``action`` and the change from ``before`` (a
        document to read, never to keep or mutate). None: the token no longer matches,
        nothing written."""
        ...

    def history(self, limit: int | None) -> list[Change]:
        """Recorded changes, newest first (at most ``limit``)."""
        ...

    def writers_turn(self) -> contextlib.AbstractContextManager[object]:
        """Held around an edit, so writers in other processes take turns (if it can)."""
        ...

    def listen(self) -> contextlib.AbstractContextManager[Listen] | None:
        """A subscription to change notifications, or None if the backend has none (it is
        then polled)."""
        ...

    def after_fork(self) -> None:
        """Make what the parent process opened safe to use in a forked child."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...


class BaseBackend:
    """Defaults for the optional parts of :class:`Backend`."""

    name = "backend"
    label = "its backend"
    shared = False

    def describe(self) -> str:
        return type(self).__name__

    def writers_turn(self) -> contextlib.AbstractContextManager[object]:
        return contextlib.nullcontext()

    def listen(self) -> contextlib.AbstractContextManager[Listen] | None:
        return None

    def after_fork(self) -> None:
        """Nothing to redo by default."""

    def close(self) -> None:
        """Nothing to release by default."""
