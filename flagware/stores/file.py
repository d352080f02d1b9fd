"""FileStore: a ruleset file (JSON, YAML, TOML) watched for changes.

The store's follower checks the file's size, mtime and inode every ``poll_interval``
seconds and reloads it when they change. A bad edit is rejected with the validation
errors in the log, and the last good ruleset keeps serving. Checking happens off the
request path; ``ruleset()`` only reads memory.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flagware.engine import Clock
from flagware.errors import RulesetError, StoreError, StoreUnavailable
from flagware.ruleset import MAX_DOCUMENT_BYTES, Ruleset, parse_text
from flagware.ruleset.documents import dump_document, format_of
from flagware.stores.audit import Change, LocalHistory
from flagware.stores.backend import BaseBackend, Committed, Latest, Loaded, Served, Unservable
from flagware.stores.store import HISTORY_LENGTH, Store

__all__ = ["FileBackend", "FileStore"]

_Signature = tuple[int, int, int, int]  # device, inode, size, mtime in ns


class FileBackend(BaseBackend):
    """One ruleset file. Versions count the changes this process has seen (a file has
    none of its own); the history of those changes is kept in memory."""

    name = "file"
    label = "the rules file"

    def __init__(self, path: str | os.PathLike[str], *, history_length: int) -> None:
        self.path = Path(path)
        self._format = format_of(self.path)
        self._history = LocalHistory(history_length)
        self._version = 0
        self._document: dict[str, Any] | None = None
        self._signature: _Signature | None = None
        self._digest: bytes | None = None
        self._failing = False  # the file holds an edit we rejected, or cannot be read
        self._lock = threading.Lock()

    def describe(self) -> str:
        return f"FileStore({str(self.path)!r})"

    @property
    def thread_name(self) -> str:
        """The name of the store's follower thread."""
        return f"flagware-filestore-{self.path.name}"

    def load_first(self) -> Loaded:
        """The file at start-up, strictly: unreadable is StoreError, invalid RulesetError."""
        try:
            loaded = self.load(None)
        except Unservable as exc:
            cause = exc.__cause__
            if isinstance(cause, RulesetError):
                raise cause from None
            raise StoreError(f"{self.path}: cannot read the ruleset file: {cause}") from cause
        if loaded is None:  # pragma: no cover - the first load always finds a change
            raise StoreError(f"{self.path}: no ruleset could be loaded")
        return loaded

    def load(self, served: Served | None) -> Loaded | None:
        with self._lock:
            try:
                signature = self._read_signature()
                if signature == self._signature:
                    return None
                with open(self.path, "rb") as f:
                    data = f.read(MAX_DOCUMENT_BYTES + 1)
                if self._read_signature() != signature:  # written to while we read: next time
                    return None
            except OSError as exc:
                self._failing = True
                # The file may stay missing: one state, so the store says so once.
                raise Unservable(
                    f"cannot read {self.path} ({exc})",
                    state=("unreadable", self.path),
                    log=f"cannot read {self.path} ({exc}); keeping the last good ruleset",
                ) from exc
            digest = hashlib.sha256(data).digest()
            self._signature = signature
            if digest == self._digest:  # touched, or back to what we serve
                self._failing = False
                return None
            try:
                ruleset = parse_text(data, self._format, source=str(self.path))
            except RulesetError as exc:
                self._failing = True
                raise Unservable(
                    f"{self.path} is invalid: {exc}",
                    state=("invalid", digest),
                    log=f"rejected an edit of {self.path}; keeping the last good ruleset:\n{exc}",
                ) from exc
            self._digest, self._failing = digest, False
            return self._record(ruleset, "file", "file edit" if self._document else "load")

    def latest(self, served: Served | None) -> Latest:
        with self._lock:
            if served is None or self._document is None:  # pragma: no cover - loaded at start
                raise StoreUnavailable(f"{self.path}: no ruleset loaded")
            # A rejected edit is on disk: any write replaces it, even one changing nothing.
            return Latest(self._version, served.ruleset, self._failing)

    def commit(
        self,
        ruleset: Ruleset,
        token: int | None,
        *,
        actor: str,
        action: str,
        before: Mapping[str, Any] | None,
        served: Served | None = None,
    ) -> Committed | None:
        with self._lock:
            if token is not None and token != self._version:
                return None
            try:
                data = self._write(ruleset)
            except OSError as exc:
                raise StoreUnavailable(
                    f"{self.path}: cannot write the ruleset file: {exc}"
                ) from exc
            # What we wrote is applied by the store; the next poll must not apply it again.
            self._digest = hashlib.sha256(data).digest()
            self._signature = self._read_signature()
            self._failing = False
            loaded = self._record(ruleset, actor, action)
            return Committed(loaded.version)

    def history(self, limit: int | None) -> list[Change]:
        return self._history.newest_first(limit)

    def after_fork(self) -> None:
        self._lock = threading.Lock()  # the parent's may have been held at fork time

    def _record(self, ruleset: Ruleset, actor: str, action: str) -> Loaded:
        new = ruleset.to_dict()
        previous, self._version = self._version, self._version + 1
        self._history.record(
            self._version, previous, actor=actor, action=action, old=self._document, new=new
        )
        self._document = new
        return Loaded(self._version, ruleset)

    def _read_signature(self) -> _Signature:
        st = os.stat(self.path)
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def _write(self, ruleset: Ruleset) -> bytes:
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
        return data


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
        history_length: int = HISTORY_LENGTH,
    ) -> None:
        if poll_interval < 0:
            raise ValueError(f"poll_interval must be >= 0, got {poll_interval}")
        backend = FileBackend(path, history_length=history_length)
        self.path = backend.path
        super().__init__(
            backend,
            clock=clock,
            poll_interval=poll_interval or None,
            initial=backend.load_first(),
        )

    def reload(self) -> bool:
        """Check the file now; returns whether a new ruleset was applied."""
        return self.refresh()


def _mode_of(path: Path) -> int:
    """The permission bits a rewritten file keeps: the old file's, else the umask default."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
