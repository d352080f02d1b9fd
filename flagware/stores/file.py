"""FileStore: a ruleset file (JSON, YAML, TOML) watched for changes.

A background thread checks the file's size, mtime and inode every ``poll_interval``
seconds and reloads it when they change. A bad edit is rejected with the validation
errors in the log, and the last good ruleset keeps serving. Checking happens off the
request path; ``ruleset()`` only reads memory.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from flagware.engine import Clock
from flagware.errors import RulesetError, StoreError
from flagware.ruleset import Ruleset
from flagware.ruleset.documents import MAX_DOCUMENT_BYTES, decode_document, dump_document, format_of
from flagware.stores.store import Store

__all__ = ["FileStore"]

logger = logging.getLogger("flagware")
_live_stores: weakref.WeakSet[FileStore] = weakref.WeakSet()

_Signature = tuple[int, int, int, int]  # device, inode, size, mtime in ns


class FileStore(Store):
    """A store backed by one ruleset file, reloaded when the file changes.

    :param path: a ``.json``, ``.yaml``, ``.yml`` or ``.toml`` file. It must exist and be
        valid when the store is created (fail loudly at start-up, not per request).
    :param poll_interval: seconds between checks of the file; ``0`` disables the watcher
        (call :meth:`reload` yourself).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        poll_interval: float = 1.0,
        clock: Clock = time.time,
        history_length: int = 1000,
    ) -> None:
        super().__init__(clock=clock, history_length=history_length)
        if poll_interval < 0:
            raise ValueError(f"poll_interval must be >= 0, got {poll_interval}")
        self.path = Path(path)
        self._format = format_of(self.path)
        self._poll_interval = poll_interval
        self._signature: _Signature | None = None
        self._digest: bytes | None = None
        self._failing = False
        self._stop = threading.Event()
        self._reload_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        if not self._reload(strict=True):
            raise StoreError(f"{self.path}: no ruleset could be loaded")
        _live_stores.add(self)
        self._start_watcher()

    def describe(self) -> str:
        return f"FileStore({str(self.path)!r})"

    def reload(self) -> bool:
        """Check the file now; returns whether a new ruleset was applied."""
        return self._reload(strict=False)

    def _latest(self) -> tuple[int, dict[str, Any]]:
        # Pick up an edit of the file made since the last poll, so a write builds on it
        # instead of overwriting it. (The write lock is held: see Store.update.)
        self._reload_locked(strict=False)
        return super()._latest()

    def _stored_unservable(self) -> bool:
        return self._failing  # the file holds an edit that was rejected

    def _persist(self, ruleset: Ruleset) -> None:
        """Atomically rewrite the file (keeping its permissions, through a symlink)."""
        data = dump_document(ruleset.to_dict(), self._format).encode("utf-8")
        target = Path(os.path.realpath(self.path))
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                os.fchmod(f.fileno(), _mode_of(target))
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        # What we wrote is applied by the caller; the watcher must not apply it again.
        self._digest = hashlib.sha256(data).digest()
        self._signature = self._read_signature()

    def close(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        self._thread = None

    def _read_signature(self) -> _Signature:
        st = os.stat(self.path)
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def _reload(self, *, strict: bool) -> bool:
        """Load the file if it changed. ``strict`` raises errors instead of logging them."""
        # One reload at a time: the watcher must not apply what it read before a save()
        # after the save applied the newer file.
        # The write lock too: a save() between our read and our apply would otherwise be
        # applied twice (once by save, once here as an "edit").
        with self._reload_lock, self._write_lock:
            return self._reload_locked(strict=strict)

    def _reload_locked(self, *, strict: bool) -> bool:
        try:
            signature = self._read_signature()
            if signature == self._signature:
                return False
            with open(self.path, "rb") as f:
                data = f.read(MAX_DOCUMENT_BYTES + 1)
            if self._read_signature() != signature:  # written to while we read: next time
                return False
        except OSError as exc:
            if strict:
                raise StoreError(f"{self.path}: cannot read the ruleset file: {exc}") from exc
            if not self._failing:  # the file may stay missing: say so once, not every poll
                self._report_failure("cannot read %s (%s); keeping the last good ruleset", exc)
            return False
        digest = hashlib.sha256(data).digest()
        self._signature = signature
        if digest == self._digest:
            return False
        try:
            doc = decode_document(data, self._format, source=str(self.path))
            ruleset = Ruleset.from_dict(doc, source=str(self.path))
        except RulesetError as exc:
            if strict:
                raise
            self._report_failure("rejected an edit of %s; keeping the last good ruleset:\n%s", exc)
            return False
        current = self._current
        version = current.version if current else 0
        old = current.ruleset.to_dict() if current else None
        self._digest = digest
        self._apply(ruleset, version + 1)
        action = "file edit" if current else "load"
        self._record(
            version + 1, version, actor="file", action=action, old=old, new=ruleset.to_dict()
        )
        if self._failing:
            logger.info("flagware: %s is valid again; applied it", self.path)
        self._failing = False
        return True

    def _report_failure(self, message: str, exc: Exception) -> None:
        self._failing = True
        logger.error("flagware: " + message, self.path, exc)

    def _start_watcher(self) -> None:
        if self._poll_interval == 0 or self._stop.is_set():
            return
        self._thread = threading.Thread(
            target=self._watch, name=f"flagware-filestore-{self.path.name}", daemon=True
        )
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(self._poll_interval):
            try:
                self._reload(strict=False)
            except Exception:  # never let the watcher die; the next poll tries again
                logger.exception("flagware: unexpected error while watching %s", self.path)


def _mode_of(path: Path) -> int:
    """The permission bits a rewritten file keeps: the old file's, else the umask default."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _restart_watchers_in_child() -> None:
    """Threads do not survive fork(): give each FileStore in a forked worker its watcher."""
    for store in list(_live_stores):
        store._thread = None
        store._reload_lock = threading.Lock()  # the parent's may have been held at fork time
        store._write_lock = threading.RLock()
        store._apply_lock = threading.Lock()
        store._start_watcher()


os.register_at_fork(after_in_child=_restart_watchers_in_child)
