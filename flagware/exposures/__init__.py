"""Exposures: which flag values the code was actually shown, once per flag per request.

A request's FlagSet evaluates every flag, but only the flags the code *reads* were
exposed. With a hook registered, the middlewares record the first read of each flag in
each request and deliver it, off the request path, as an :class:`Exposure` (flag, value,
variant, reason, account id, ruleset version, time)::

    import flagware.exposures

    @flagware.exposures.on_exposure
    def seen(exposure: flagware.exposures.Exposure) -> None:
        print(exposure.flag, exposure.value)

Built-in hooks: :class:`JsonLinesHook` (structured JSON lines) and
:class:`RedisStreamHook` (a bounded Redis stream, for an analytics pipeline). See
docs/observability.md.
"""

from __future__ import annotations

import importlib
import typing

from flagware.exposures._event import Callback, Exposure, ExposureHook
from flagware.exposures._flagset import RecordingFlagSet
from flagware.exposures._recorder import RECORDER, QueueStats, Recorder
from flagware.exposures.jsonl import JsonLinesHook

if typing.TYPE_CHECKING:
    from flagware.engine.flagset import FlagSet
    from flagware.exposures.redis_stream import RedisStreamHook
    from flagware.stores.store import Store

__all__ = [
    "RECORDER",
    "Callback",
    "Exposure",
    "ExposureHook",
    "JsonLinesHook",
    "QueueStats",
    "Recorder",
    "RecordingFlagSet",
    "RedisStreamHook",
    "add_hook",
    "configure",
    "flush",
    "on_exposure",
    "record_exposures",
    "remove_hook",
    "stats",
]


def on_exposure(callback: Callback) -> Callback:
    """Call ``callback(exposure)`` for every exposure, on the flusher's thread.

    Returns ``callback`` unchanged, so it works as a decorator; undo with
    :func:`remove_hook`.
    """
    RECORDER.add_hook(callback)
    return callback


def add_hook(hook: ExposureHook | Callback) -> ExposureHook:
    """Register a hook object (``after_evaluation(exposure)``, optional ``flush``/``close``)."""
    return RECORDER.add_hook(hook)


def remove_hook(hook: ExposureHook | Callback) -> None:
    """Unregister a hook or callback (its ``close()`` is called, if it has one)."""
    RECORDER.remove_hook(hook)


def flush() -> int:
    """Deliver every queued exposure now, in this thread; returns how many.

    The flusher does this every half second, and the process at exit; tests and jobs
    that end abruptly call it themselves.
    """
    return RECORDER.flush()


def stats() -> QueueStats:
    """The exposure queue's counters: queued, dropped (queue full), delivered, hook errors."""
    return RECORDER.stats()


def configure(*, max_queue: int | None = None, interval: float | None = None) -> None:
    """Bound the queue (default 10,000 exposures) and set the flush interval (0.5 s)."""
    RECORDER.configure(max_queue=max_queue, interval=interval)


def record_exposures(flags: FlagSet, store: Store | None = None) -> FlagSet:
    """``flags`` recording its first reads, outside a middleware (a job, a worker).

    ``flags`` itself is turned into a :class:`RecordingFlagSet` (no copy) and returned;
    without a registered hook it is returned unchanged: nothing to record.
    """
    if not RECORDER.active or isinstance(flags, RecordingFlagSet):
        return flags
    return RECORDER.wrap(flags, store)


def __getattr__(name: str) -> typing.Any:
    if name == "RedisStreamHook":  # imports redis-py only when asked for
        return importlib.import_module("flagware.exposures.redis_stream").RedisStreamHook
    raise AttributeError(f"module 'flagware.exposures' has no attribute {name!r}")
