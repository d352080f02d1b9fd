"""The Store: a backend's ruleset, compiled in memory, with one write API for all backends.

A store owns the current ruleset *and* its compiled :class:`~flagware.Engine`, swapped
together as one object, so a request always evaluates a consistent pair and never waits
for I/O. Where the ruleset lives is the :class:`~flagware.stores.backend.Backend`'s job;
a shared backend is followed by a :class:`~flagware.stores._follow.Follower`, snapshotted
to disk and started fail-safe by this facade, whichever backend it is.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
import weakref
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from flagware.engine import Clock, Engine
from flagware.errors import (
    RulesetError,
    StoreUnavailable,
    VersionConflict,
    WriteContention,
)
from flagware.ruleset import MAX_DOCUMENT_BYTES, Ruleset, canonical_json
from flagware.ruleset.load import RulesetLike, coerce_ruleset
from flagware.stores._edits import ChangeFunction, Edits
from flagware.stores._failsafe import cold_start
from flagware.stores._follow import Follower
from flagware.stores._health import Health, Tracker
from flagware.stores._snapshot import Snapshot
from flagware.stores.audit import Change
from flagware.stores.backend import Backend, Commit, Loaded, Served, Unservable

__all__ = ["DEFAULT_ACTOR", "Health", "RulesetLike", "Store", "coerce_ruleset"]

logger = logging.getLogger("flagware")
DEFAULT_ACTOR = "api"
HISTORY_LENGTH = 1000  # each entry holds a whole document: lower it for huge rulesets
_live_stores: weakref.WeakSet[Store] = weakref.WeakSet()

Listener = Callable[[Ruleset], None]


@dataclass(frozen=True, slots=True)
class _Current:
    ruleset: Ruleset
    engine: Engine
    version: int
    source: str
    stamp: object
    applied_at: float = field(default_factory=time.time)


class Store(Edits):
    """Where a ruleset lives, with an in-memory compiled copy for the hot path.

    ``ruleset()`` and ``engine()`` never do I/O. Every write (``save``, ``update``,
    ``set_flag``, ...) validates before anything is written, so an invalid document never
    replaces a good one; edits are compare-and-set, so two writers never lose each other's
    changes; each write is recorded in ``history()`` and returns a :class:`Commit`.
    ``subscribe()`` registers a callback run after each change is applied.

    :param backend: where the ruleset lives.
    :param poll_interval: seconds between checks of the backend by a background follower;
        None: no follower (a memory store, or call :meth:`refresh` yourself).
    :param snapshot: where a shared backend's last good ruleset is kept for cold starts.
    :param bootstrap: what a cold start serves with nothing loaded and no snapshot.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        clock: Clock = time.time,
        poll_interval: float | None = None,
        snapshot: Snapshot | None = None,
        bootstrap: Ruleset | None = None,
        initial: Loaded | None = None,
    ) -> None:
        self._backend = backend
        self._clock = clock
        self._snapshot = snapshot
        self._bootstrap = bootstrap
        self._current: _Current | None = None
        self._listeners: list[Listener] = []
        self._new_locks()
        self._tracker = Tracker(backend.describe(), backend.label)
        self._follower: Follower | None = None
        if initial is not None:
            self._apply_if_newer(initial, backend.name)
            self._tracker.in_sync(initial.version)
        else:
            self._start()
        if poll_interval is not None:
            self._follower = Follower(
                getattr(backend, "thread_name", f"flagware-{backend.name}"),
                self._sync,
                poll_interval=poll_interval,
                listen=backend.listen,
                on_notification=self._on_notification,
                on_error=self._note_disconnected,
                describe=self.describe,
            )
            self._follower.start()
        _live_stores.add(self)

    def _new_locks(self) -> None:
        self._swap_lock = threading.RLock()  # the swap of _current (a listener may write)
        self._sync_lock = threading.Lock()  # one look at the backend at a time
        self._write_lock = threading.RLock()  # one edit at a time in this process

    # --- reading ----------------------------------------------------------------------------

    def ruleset(self) -> Ruleset:
        """The current ruleset, from memory."""
        return self._get().ruleset

    def engine(self) -> Engine:
        """The current ruleset, compiled; what the middleware evaluates against."""
        return self._get().engine

    @property
    def version(self) -> int:
        """The version of the ruleset served: it goes up with every applied change."""
        return self._get().version

    @property
    def backend(self) -> Backend:
        """Where the ruleset lives."""
        return self._backend

    def health(self) -> Health:
        """Connection state, the version served, where it came from, and since when stale."""
        current = self._get()
        return self._tracker.health(current.version, current.source, current.applied_at)

    def refresh(self) -> bool:
        """Look at the backend now (the follower does it in the background); returns
        whether a newer ruleset was applied. Never raises for an unreachable backend:
        ``health()`` says so."""
        try:
            return self._sync()
        except StoreUnavailable as exc:
            self._note_disconnected(exc)
            return False

    def history(self, flag: str | None = None, limit: int = 50) -> list[Change]:
        """The most recent changes, newest first (only those touching ``flag``, if given)."""
        changes = self._backend.history(limit if flag is None else None)
        if flag is not None:
            changes = [c for c in changes if c.touches(flag)]
        return changes[:limit]

    # --- the write API: validated, compare-and-set, audited --------------------------------

    def save(
        self,
        ruleset: RulesetLike,
        *,
        actor: str | None = None,
        expected_version: int | None = None,
        action: str = "save",
    ) -> Commit:
        """Validate, then replace the whole ruleset.

        Raises :class:`RulesetError` if invalid (nothing is written), and
        :class:`VersionConflict` if ``expected_version`` is given and no longer current.
        """
        validated = coerce_ruleset(ruleset)
        if expected_version is None:  # replace whatever is there, recording what changed
            return self.update(lambda doc: validated, actor=actor, action=action, touching=())
        before = self._current.ruleset if self._current is not None else None
        commit = self._commit(validated, expected_version, actor, action, before)
        if commit is None:
            raise VersionConflict(
                f"the ruleset changed since version {expected_version}; reload and retry"
            )
        return commit

    def update(
        self, change: ChangeFunction, *, actor: str | None = None, action: str = "update",
        attempts: int = 50, touching: Collection[str] | None = None,
    ) -> Commit:  # fmt: skip
        """Apply ``change`` to a copy of the latest document and save it.

        ``change`` edits the document in place, or returns a new document or Ruleset. It
        runs again on a fresh copy if another writer saved in between (compare-and-set), so
        it must only depend on the document it is given. Raises RulesetError if the result
        is invalid, and nothing is written; :class:`WriteContention` if other writers kept
        winning.

        ``touching`` names the flags the edit changes in place: only those are copied into
        the document, and the others are read-only there. The edit may still add, replace
        or delete any flag, or change the top level; then only the flags it changed are
        validated again, so a one-flag edit costs that flag, not the ruleset.
        """
        touched = frozenset(touching) if touching is not None else None
        with self._write_lock, self._backend.writers_turn():
            for attempt in range(attempts):
                if not self._backend.shared:
                    self.refresh()  # build on an edit of the file made since the last poll
                latest = self._backend.latest(self._served())
                base = latest.ruleset if touched is not None else None
                if base is not None and touched is not None:
                    draft, views = base._draft(touched)
                else:
                    draft, views = latest.copy(), {}
                # An edit of a stored ruleset that cannot be served is written even if it
                # leaves the draft as it was: it repairs what is stored.
                before = None
                if latest.token > 0 and not latest.unservable:
                    before = (
                        base._canonical.data if base is not None else canonical_json(draft).encode()
                    )
                result = change(draft)
                if isinstance(result, Ruleset):
                    pass
                elif result is None and base is not None:
                    result = base._edited(draft, Ruleset._edit_of(draft, views))
                else:
                    result = Ruleset.from_dict(draft if result is None else result)
                if result._canonical.data == before:
                    return Commit(latest.token, False, latest.document)
                _check_size(result)
                commit = self._commit(result, latest.token, actor, action, latest.document)
                if commit is not None:
                    return commit
                time.sleep(random.uniform(0, min(0.2, 0.002 * 2**attempt)))
        raise WriteContention(
            f"{self.describe()}: gave up after {attempts} attempts: the ruleset kept changing; "
            "try again"
        )

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(ruleset)`` after every applied change; returns an unsubscribe."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def close(self) -> None:
        """Stop following the backend and release it; the last ruleset stays readable."""
        if self._follower is not None:
            self._follower.stop()
        self._backend.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def describe(self) -> str:
        """One line saying what this store is, for logs and ``repr``."""
        return self._backend.describe()

    def __repr__(self) -> str:
        current = self._current
        state = (
            f"version {current.version}, {len(current.ruleset.flags)} flags" if current else "empty"
        )
        return f"<{self.describe()} ({state})>"

    # --- following the backend --------------------------------------------------------------

    def _start(self) -> None:
        """Load from the backend if possible, else (shared) start fail-safe."""
        try:
            self._sync()
        except StoreUnavailable as exc:
            self._note_disconnected(exc)
        if self._current is None:
            version, ruleset, source = cold_start(
                self._snapshot, self._bootstrap, self.describe(), self._backend.label
            )
            self._apply_if_newer(Loaded(version, ruleset), source)

    def _served(self) -> Served | None:
        current = self._current
        if current is None:
            return None
        return Served(current.version, current.ruleset, current.source, current.stamp)

    def _sync(self) -> bool:
        """Apply what the backend holds if it is newer; StoreUnavailable if unreachable."""
        with self._sync_lock:
            try:
                loaded = self._backend.load(self._served())
            except Unservable as exc:
                self._tracker.refused(exc)
                return False
            applied = loaded is not None and self._apply_if_newer(loaded, self._backend.name)
            self._mark_in_sync()
            return applied

    def _mark_in_sync(self) -> None:
        current = self._current
        self._tracker.in_sync(current.version if current is not None else None)

    def _note_disconnected(self, exc: BaseException) -> None:
        current = self._current
        self._tracker.disconnected(exc, current.version if current is not None else None)

    def _recorded(self) -> list[Change]:
        return self._backend.history(None)

    def _on_notification(self, announced: object) -> None:
        """A write was published: sync, unless we already serve that version (our own). A
        lower version than ours is news too: the backend went back, and was written to."""
        current = self._current
        if (
            isinstance(announced, int)
            and current is not None
            and current.source == self._backend.name
            and announced == current.version
            and self._tracker.problem is None
        ):
            return
        self._sync()

    # --- applying ---------------------------------------------------------------------------

    def _get(self) -> _Current:
        current = self._current
        if current is None:  # pragma: no cover - every store loads something at construction
            raise StoreUnavailable(f"{self.describe()} has no ruleset loaded yet")
        return current

    def _commit(
        self,
        ruleset: Ruleset,
        token: int | None,
        actor: str | None,
        action: str,
        before: dict[str, Any] | Ruleset | None,
    ) -> Commit | None:
        """Write through the backend, then apply what was written."""
        with self._write_lock:
            committed = self._backend.commit(
                ruleset,
                token,
                actor=actor or DEFAULT_ACTOR,
                action=action,
                before=before._shared_document() if isinstance(before, Ruleset) else before,
                served=self._served(),
            )
            if committed is None:
                return None
            loaded = Loaded(committed.version, ruleset, committed.stamp)
            self._apply_if_newer(loaded, self._backend.name)
            self._mark_in_sync()  # whatever the backend held that we refused, we replaced
            if committed.warning is not None:
                raise committed.warning
            return Commit(committed.version, True, before)

    def _apply_if_newer(self, loaded: Loaded, source: str) -> bool:
        """Compile and swap in ``loaded`` unless we serve a newer version (never go back),
        then tell the listeners.

        A version equal to ours replaces a ruleset that did not come from the backend (a
        snapshot or bootstrap of the same version): the backend is the authority. Takes
        only the swap lock: the follower calls this holding the sync lock, and a writer
        holding the write lock may wait for the sync lock.
        """
        backend = self._backend.name
        current = self._current
        if current is not None and loaded.version < current.version:
            return False  # never compile what cannot be applied
        # The flags unchanged since what we serve keep their compiled form.
        engine = Engine(
            loaded.ruleset, clock=self._clock, previous=current.engine if current else None
        )
        with self._swap_lock:
            current = self._current
            if current is not None and (
                loaded.version < current.version
                or (
                    loaded.version == current.version
                    and (current.source == backend or source != backend)
                )
            ):
                return False
            self._current = _Current(loaded.ruleset, engine, loaded.version, source, loaded.stamp)
            if source == backend and self._snapshot is not None:
                self._snapshot.write(loaded.version, loaded.ruleset)
            # Still holding the lock: a write that races the follower to apply the same
            # version returns only once the listeners have heard of it.
            for listener in list(self._listeners):
                try:
                    listener(loaded.ruleset)
                except Exception:
                    logger.exception("flagware: a store listener raised; the change stays applied")
        return True


def _check_size(ruleset: Ruleset) -> None:
    """Refuse to write what no store would load back (the document size limit)."""
    size = len(ruleset._canonical.data)
    if size > MAX_DOCUMENT_BYTES:
        raise RulesetError(
            [f"<document>: {size:,} bytes as JSON; the limit is {MAX_DOCUMENT_BYTES:,}"]
        )


def _after_fork_in_child() -> None:
    """Threads and locks do not survive fork(): give each store in a worker its own.

    The parent's threads may have held a lock (or a connection pool's) at the moment of
    the fork, and that copy would stay locked forever.
    """
    for store in list(_live_stores):
        store._new_locks()
        store._backend.after_fork()
        if store._follower is not None:
            store._follower.restart_in_child()


os.register_at_fork(after_in_child=_after_fork_in_child)
