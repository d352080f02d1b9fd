"""The store interface every backend implements, and the in-process cache they share.

A store owns the current ruleset *and* its compiled :class:`~flagware.Engine`, swapped
together as one object, so a request always evaluates a consistent pair and never waits
for I/O: backends load and compile in the background, then swap.
"""

from __future__ import annotations

import abc
import contextlib
import copy
import json
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flagware.engine import Clock, Engine
from flagware.errors import RulesetError, StoreError, VersionConflict
from flagware.ruleset import Ruleset
from flagware.ruleset.documents import MAX_DOCUMENT_BYTES
from flagware.stores.audit import Change, summarize

__all__ = ["DEFAULT_ACTOR", "RulesetLike", "Store", "VersionConflict", "coerce_ruleset"]

logger = logging.getLogger("flagware")
DEFAULT_ACTOR = "api"
HISTORY_LENGTH = 1000  # each entry holds a whole document: lower it for huge rulesets

RulesetLike = Ruleset | Mapping[str, Any]
Listener = Callable[[Ruleset], None]


def coerce_ruleset(value: RulesetLike, *, source: str | None = None) -> Ruleset:
    """A Ruleset as is, or a document validated into one (raises RulesetError)."""
    if isinstance(value, Ruleset):
        return value
    if isinstance(value, Mapping):
        return Ruleset.from_dict(value, source=source)
    raise TypeError(f"expected a Ruleset or a ruleset document (dict), got {type(value).__name__}")


def _canonical(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


def _check_size(ruleset: Ruleset) -> None:
    """Refuse to write what no store would load back (the document size limit)."""
    size = len(json.dumps(ruleset.to_dict(), separators=(",", ":")).encode("utf-8"))
    if size > MAX_DOCUMENT_BYTES:
        raise RulesetError(
            [f"<document>: {size:,} bytes as JSON; the limit is {MAX_DOCUMENT_BYTES:,}"]
        )


@dataclass(frozen=True, slots=True)
class _Current:
    ruleset: Ruleset
    engine: Engine
    version: int


class Store(abc.ABC):  # noqa: B024 - abstract in spirit: use MemoryStore, FileStore, RedisStore
    """Where a ruleset lives, with an in-memory compiled copy for the hot path.

    ``ruleset()`` and ``engine()`` never do I/O. Every write (``save``, ``update``,
    ``set_flag``, ...) validates before anything is written, so an invalid document never
    replaces a good one; edits are compare-and-set, so two writers never lose each other's
    changes; and each write is recorded in ``history()``. ``subscribe()`` registers a
    callback run after each change is applied (in the thread that applied it).
    """

    def __init__(self, *, clock: Clock = time.time, history_length: int = HISTORY_LENGTH) -> None:
        self._clock = clock
        self._current: _Current | None = None
        self._listeners: list[Listener] = []
        self._apply_lock = threading.Lock()
        self._write_lock = threading.RLock()
        self._history: deque[Change] = deque(maxlen=history_length)

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

    # --- The write API: validated, compare-and-set, audited. -------------------------------

    def save(
        self,
        ruleset: RulesetLike,
        *,
        actor: str | None = None,
        expected_version: int | None = None,
        action: str = "save",
    ) -> int:
        """Validate, then replace the whole ruleset; returns the new version.

        Raises :class:`RulesetError` if invalid (nothing is written), and
        :class:`VersionConflict` if ``expected_version`` is given and no longer current.
        """
        validated = coerce_ruleset(ruleset)
        if expected_version is None:  # replace whatever is there, recording what changed
            return self.update(lambda doc: validated, actor=actor, action=action)
        version = self._try_commit(validated, expected_version, actor or DEFAULT_ACTOR, action)
        if version is None:
            raise VersionConflict(
                f"the ruleset changed since version {expected_version}; reload and retry"
            )
        return version

    def update(
        self,
        change: Callable[[dict[str, Any]], dict[str, Any] | Ruleset | None],
        *,
        actor: str | None = None,
        action: str = "update",
        attempts: int = 50,
    ) -> int:
        """Apply ``change`` to a copy of the latest document and save it; returns the version.

        ``change`` edits the document in place, or returns a new document or Ruleset. It
        runs again on a fresh copy if another writer saved in between (compare-and-set), so
        it must only depend on the document it is given. Raises RulesetError if the result
        is invalid, and nothing is written.
        """
        # Writers take turns (in this process, and across processes where the backend can
        # arrange it); compare-and-set still guards every commit, retrying with backoff.
        with self._write_lock, self._writers_turn():
            for attempt in range(attempts):
                # A fresh copy (change may edit it) and the version to compare-and-set
                # against (0: no ruleset yet). An edit of a stored ruleset that cannot be
                # served is written even if it leaves the draft as it was: it repairs it.
                version, draft = self._latest()
                unchanged = version > 0 and not self._stored_unservable()
                before = _canonical(draft) if unchanged else None
                result = change(draft)
                if not isinstance(result, Ruleset):
                    result = Ruleset.from_dict(draft if result is None else result)
                ruleset = result
                if _canonical(ruleset.to_dict()) == before:
                    return version
                _check_size(ruleset)
                committed = self._try_commit(ruleset, version, actor or DEFAULT_ACTOR, action)
                if committed is not None:
                    return committed
                time.sleep(random.uniform(0, min(0.2, 0.002 * 2**attempt)))
        raise StoreError(f"gave up after {attempts} attempts: the ruleset kept changing")

    def set_flag(self, name: str, flag: Mapping[str, Any], *, actor: str | None = None) -> int:
        """Add or replace one flag (its document form, e.g. ``{"strategies": [...]}``)."""

        def change(doc: dict[str, Any]) -> None:
            doc["flags"][name] = copy.deepcopy(dict(flag))

        return self.update(change, actor=actor, action="set_flag")

    def delete_flag(self, name: str, *, actor: str | None = None) -> int:
        """Remove one flag (it then follows the ``unknown`` policy); KeyError if absent."""

        def change(doc: dict[str, Any]) -> None:
            if name not in doc["flags"]:
                raise KeyError(f"no flag named {name!r}")
            del doc["flags"][name]

        return self.update(change, actor=actor, action="delete_flag")

    def set_enabled(self, name: str, enabled: bool, *, actor: str | None = None) -> int:
        """Flip a flag's kill switch (``enabled: false`` is off for everyone)."""

        def change(doc: dict[str, Any]) -> None:
            if name not in doc["flags"]:
                raise KeyError(f"no flag named {name!r}")
            if enabled:
                doc["flags"][name].pop("enabled", None)
            else:
                doc["flags"][name]["enabled"] = False

        return self.update(change, actor=actor, action="enable" if enabled else "disable")

    def add_test_user(self, account_id: str, *, actor: str | None = None) -> int:
        """Make an account a test user."""

        def change(doc: dict[str, Any]) -> None:
            doc["test_users"] = sorted({*doc["test_users"], account_id})

        return self.update(change, actor=actor, action="add_test_user")

    def remove_test_user(self, account_id: str, *, actor: str | None = None) -> int:
        """Stop treating an account as a test user."""

        def change(doc: dict[str, Any]) -> None:
            doc["test_users"] = [u for u in doc["test_users"] if u != account_id]

        return self.update(change, actor=actor, action="remove_test_user")

    def history(self, flag: str | None = None, limit: int = 50) -> list[Change]:
        """The most recent changes, newest first (only those touching ``flag``, if given)."""
        changes = self._changes()
        if flag is not None:
            changes = [c for c in changes if c.touches(flag)]
        return changes[:limit]

    def restore(self, version: int, *, actor: str | None = None) -> int:
        """Save the document of a recorded earlier version as a new version (RulesetError if
        the recorded document cannot be read)."""
        for change in self._changes():
            if change.version == version:
                if "document" in change.unreadable:  # its placeholder {} would delete every flag
                    raise RulesetError(
                        [f"<history>: the recorded rules of version {version} are unreadable"]
                    )
                return self.save(dict(change.document), actor=actor, action=f"restore {version}")
        raise KeyError(f"version {version} is not in the recorded history")

    # --- What a backend provides. -----------------------------------------------------------

    def _writers_turn(self) -> contextlib.AbstractContextManager[object]:
        """Held around an edit: lets writers in other processes take turns, if it can."""
        return contextlib.nullcontext()

    def _stored_unservable(self) -> bool:
        """Whether the document ``_latest`` found cannot be served (so its draft is the last
        good ruleset instead, and an edit must be written to replace what is stored)."""
        return False

    def _latest(self) -> tuple[int, dict[str, Any]]:
        """The authoritative version and document, for a compare-and-set edit."""
        current = self._current
        if current is None:  # the first ruleset of a new store
            return 0, Ruleset().to_dict()
        return current.version, current.ruleset.to_dict()

    def _try_commit(
        self, ruleset: Ruleset, expected: int | None, actor: str, action: str
    ) -> int | None:
        """Write ``ruleset`` if the version is still ``expected`` (None: any); record it."""
        with self._write_lock:
            current = self._current
            version = current.version if current else 0
            if expected is not None and expected != version:
                return None
            self._persist(ruleset)
            old = current.ruleset.to_dict() if current else None
            self._apply(ruleset, version + 1)
            self._record(
                version + 1, version, actor=actor, action=action, old=old, new=ruleset.to_dict()
            )
            return version + 1

    def _persist(self, ruleset: Ruleset) -> None:  # noqa: B027 - memory needs nothing
        """Write a committed ruleset to the backend before it is applied."""

    def _changes(self, count: int | None = None) -> list[Change]:
        """Recorded changes, newest first (at most ``count``)."""
        changes = list(reversed(self._history))
        return changes if count is None else changes[:count]

    def _record(
        self,
        version: int,
        previous: int,
        *,
        actor: str,
        action: str,
        old: dict[str, Any] | None,
        new: dict[str, Any],
    ) -> None:
        self._history.append(
            Change(version, previous, actor, time.time(), action, summarize(old, new), new)
        )

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
