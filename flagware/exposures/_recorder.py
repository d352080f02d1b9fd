"""The recorder: a bounded queue of first reads, and the thread that delivers them.

The request appends ``(flags, name, value, at)`` to a deque (one C call) or, when the
queue is full, counts a drop: it never blocks, never raises, and never waits for a hook.
The flusher thread wakes every ``interval`` seconds (sooner when the queue is half full),
turns each entry into an :class:`Exposure` (working out variant and reason there) and
hands it to every hook. :meth:`Recorder.flush` does the same in the caller's thread; it
runs at process exit, and a forked child (a gunicorn worker) starts with an empty queue
and a flusher of its own.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flagware._tally import Tally
from flagware.exposures._event import Callback, Exposure, ExposureHook
from flagware.exposures._flagset import RecordingFlagSet, recording

if TYPE_CHECKING:
    from flagware.engine.flagset import FlagSet
    from flagware.stores.store import Store

__all__ = ["RECORDER", "InlineObserver", "QueueStats", "Recorder"]

logger = logging.getLogger("flagware")

DEFAULT_MAX_QUEUE = 10_000
DEFAULT_INTERVAL = 0.5
BATCH = 1_000  # exposures per delivery, so one slow hook call never holds a huge batch

InlineObserver = Callable[[RecordingFlagSet, str, bool, float], object]
"""Runs in the request, at the first read (the OpenTelemetry span event needs the span)."""
Entry = tuple[RecordingFlagSet, str, bool]


@dataclass(frozen=True)
class QueueStats:
    """The exposure queue's counters since the process started (or forked)."""

    queued: int  # waiting for the flusher now
    dropped: int  # refused because the queue was full
    delivered: int  # exposures handed to the hooks
    hook_errors: int  # hook calls that raised


class _CallbackHook:
    """An :func:`on_exposure` callback as a hook."""

    def __init__(self, callback: Callback) -> None:
        self.callback = callback

    def after_evaluation(self, exposure: Exposure) -> None:
        self.callback(exposure)

    def __repr__(self) -> str:
        return f"on_exposure({self.callback!r})"


class Recorder:
    """Collects first reads from :class:`RecordingFlagSet` and delivers them to hooks."""

    def __init__(
        self, *, max_queue: int = DEFAULT_MAX_QUEUE, interval: float = DEFAULT_INTERVAL
    ) -> None:
        self.configure(max_queue=max_queue, interval=interval)
        self.active = False
        """Whether requests get a RecordingFlagSet (a hook, observer or counter is set)."""
        self.reads: Tally[tuple[str, bool]] | None = None
        """Every read of a recorded FlagSet per (flag, value), once counting is on."""
        self.exposures: Tally[tuple[str, bool]] = Tally()
        """Delivered exposures per (flag, value)."""
        self._hooks: tuple[ExposureHook, ...] = ()
        self.observers: tuple[InlineObserver, ...] = ()
        self._reset()

    def configure(self, *, max_queue: int | None = None, interval: float | None = None) -> None:
        """Change the queue bound and the flush interval (seconds)."""
        if max_queue is not None:
            if max_queue < 1:
                raise ValueError(f"max_queue must be at least 1, got {max_queue}")
            self.max_queue = max_queue
        if interval is not None:
            if interval <= 0:
                raise ValueError(f"interval must be positive, got {interval}")
            self._interval = interval

    def _reset(self) -> None:
        """Fresh queue, counters, locks and no thread: at start and in a forked child."""
        self.queue: deque[Entry] = deque()
        self._dropped: Tally[None] = Tally()
        self._delivered = 0
        self._hook_errors = 0
        self._wake = threading.Event()
        self._deliver_lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    # --- registration ---------------------------------------------------------------------

    def add_hook(self, hook: ExposureHook | Callback) -> ExposureHook:
        """Register a hook object, or a plain callback; returns the hook registered."""
        if not isinstance(hook, ExposureHook):
            if not callable(hook):
                raise TypeError(
                    "an exposure hook must have after_evaluation(exposure) or be callable"
                )
            hook = _CallbackHook(hook)
        self._hooks = (*self._hooks, hook)
        self._update()
        return hook

    def remove_hook(self, hook: ExposureHook | Callback) -> None:
        """Unregister a hook (or a callback given to :meth:`add_hook`); closes it."""
        kept = tuple(
            h for h in self._hooks if h is not hook and getattr(h, "callback", None) is not hook
        )
        removed = [h for h in self._hooks if h not in kept]
        self._hooks = kept
        self._update()
        for gone in removed:
            close = getattr(gone, "close", None)
            if close is not None:
                close()

    def add_observer(self, observer: InlineObserver) -> None:
        """Run ``observer(flags, name, value, at)`` in the request, at each first read."""
        self.observers = (*self.observers, observer)
        self._update()

    def remove_observer(self, observer: InlineObserver) -> None:
        self.observers = tuple(o for o in self.observers if o is not observer)
        self._update()

    def count_reads(self, on: bool = True) -> None:
        """Count every read per (flag, value) in :attr:`reads` (the metrics collector's)."""
        if on and self.reads is None:
            self.reads = Tally()
        elif not on:
            self.reads = None
        self._update()

    def _update(self) -> None:
        self.active = bool(self._hooks or self.observers or self.reads is not None)

    # --- the request side -----------------------------------------------------------------

    def wrap(self, flags: FlagSet, store: Store | None) -> RecordingFlagSet:
        """``flags`` (itself, its class swapped) recording, tagged with the ruleset version."""
        try:
            version = store.version if store is not None else None
        except Exception:
            version = None
        if self._thread is None:
            self._start()
        elif len(self.queue) * 2 > self.max_queue:  # half full: flush before it drops
            self._wake.set()
        return recording(flags, self, version)

    def record(self, flags: RecordingFlagSet, name: str, on: bool, at: float) -> None:
        """A first read with an observer to run or a full queue (the request's side: never
        blocks, never raises); RecordingFlagSet appends to :attr:`queue` itself otherwise."""
        for observe in self.observers:
            try:
                observe(flags, name, on, at)
            except Exception:
                logger.exception("flagware: an exposure observer raised; the request goes on")
        if len(self.queue) >= self.max_queue:
            self._dropped.add(None)
            return
        self.queue.append((flags, name, on))

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="flagware-exposures", daemon=True)
                thread.start()
                self._thread = thread

    # --- the flusher side -----------------------------------------------------------------

    def _run(self) -> None:
        wake = self._wake
        while True:
            wake.wait(self._interval)
            wake.clear()
            try:
                self.flush()
            except Exception:  # never let the flusher die
                logger.exception("flagware: delivering exposures failed; retrying")

    def flush(self) -> int:
        """Deliver everything queued now, in this thread; how many exposures it delivered."""
        done = 0
        with self._deliver_lock:
            queue = self.queue
            while queue:
                batch: list[Exposure] = []
                while queue and len(batch) < BATCH:
                    exposure = _exposure(*queue.popleft())
                    if exposure is not None:
                        batch.append(exposure)
                self._deliver(batch)
                done += len(batch)
        return done

    def _deliver(self, batch: list[Exposure]) -> None:
        for exposure in batch:
            self.exposures.add((exposure.flag, exposure.value))
        for hook in self._hooks:
            for exposure in batch:
                self._call(hook, hook.after_evaluation, exposure)
            flush = getattr(hook, "flush", None)
            if flush is not None:
                self._call(hook, flush)
        self._delivered += len(batch)

    def _call(self, hook: object, method: Callable[..., object], *args: Any) -> None:
        try:
            method(*args)
        except Exception as exc:
            self._hook_errors += 1
            if self._hook_errors in (1, 10, 100) or self._hook_errors % 1000 == 0:
                logger.warning(
                    "flagware: exposure hook %r raised (%s errors so far): %s: %s",
                    hook,
                    self._hook_errors,
                    type(exc).__name__,
                    exc,
                )

    def stats(self) -> QueueStats:
        """The queue's counters (for metrics and tests)."""
        return QueueStats(
            len(self.queue),
            self._dropped.snapshot().get(None, 0),
            self._delivered,
            self._hook_errors,
        )


def _exposure(flags: RecordingFlagSet, name: str, on: bool) -> Exposure | None:
    """The full exposure of one first read; None (logged) if explaining it fails."""
    try:
        account = flags.account
        return Exposure(
            name,
            on,
            flags.variant_of(name, on),
            flags.reason_of(name, on),
            account.id if account is not None else None,
            flags.ruleset_version,
            flags.exposed_at,
        )
    except Exception:
        logger.exception("flagware: explaining the exposure of flag %r failed; dropped", name)
        return None


RECORDER = Recorder()
"""The process's recorder: the middlewares report to it, ``on_exposure`` registers on it."""


def _flush_at_exit() -> None:
    try:
        RECORDER.flush()
    except Exception:  # pragma: no cover - the interpreter is going away
        logger.exception("flagware: flushing exposures at exit failed")


atexit.register(_flush_at_exit)
os.register_at_fork(after_in_child=RECORDER._reset)
