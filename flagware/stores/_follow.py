"""The follower: one background thread that keeps a store current with its backend.

It listens for change notifications where the backend has them and polls every
``poll_interval`` seconds besides (notifications are lost while disconnected). When the
backend is unreachable it retries with a short, capped backoff, so a store is current
again within about half a second of the backend coming back. It never dies of an
exception, stops on :meth:`Follower.stop`, and is started anew in a forked child (threads
do not survive ``fork()``).
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable

from flagware.errors import StoreUnavailable
from flagware.stores.backend import Listen

__all__ = ["RECONNECT_FIRST", "RECONNECT_MAX", "Follower"]

logger = logging.getLogger("flagware")

# Reconnecting: the first retry soon, then doubling up to this many seconds, so a
# follower is back within about half a second of the backend (measured in BENCHMARKS.md).
RECONNECT_FIRST = 0.05
RECONNECT_MAX = 0.5
_TICK = 0.5  # the longest a wait lasts, so stop() is noticed soon


class Follower:
    """Calls ``sync()`` on every notification and every ``poll_interval`` seconds.

    :param sync: brings the store up to date; raises :class:`StoreUnavailable` when the
        backend cannot be reached (the follower then reconnects with backoff).
    :param listen: opens a notification subscription (a context manager yielding a
        ``wait(timeout) -> announcement | None``), or None to poll only.
    :param on_notification: called with each announcement instead of ``sync`` (it may
        skip a sync it knows is needless).
    :param on_error: told of each failure to reach the backend.
    """

    def __init__(
        self,
        name: str,
        sync: Callable[[], object],
        *,
        poll_interval: float,
        listen: Callable[[], contextlib.AbstractContextManager[Listen] | None] | None = None,
        on_notification: Callable[[object], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        describe: Callable[[], str] = lambda: "flagware store",
    ) -> None:
        self.name = name
        self._sync = sync
        self._poll_interval = poll_interval
        self._listen = listen
        self._on_notification = on_notification or (lambda _: sync())
        self._on_error = on_error or (lambda exc: None)
        self._describe = describe
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (again, after a fork); a stopped follower stays stopped."""
        if self._stop.is_set():
            return
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def restart_in_child(self) -> None:
        """In a forked child: the parent's thread is gone; start this process's own."""
        self._thread = None
        self.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop and wait for the thread (at most ``timeout`` seconds)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=timeout)
        self._thread = None

    def _run(self) -> None:
        backoff = RECONNECT_FIRST
        while not self._stop.is_set():
            try:
                subscription = self._listen() if self._listen is not None else None
                with subscription or contextlib.nullcontext() as wait:
                    self._sync()  # whatever happened while we were not listening
                    backoff = RECONNECT_FIRST
                    self._follow(wait)
            except StoreUnavailable as exc:
                self._on_error(exc)
                # A backend that answered with an error (rather than not at all) says how
                # long to leave it alone; otherwise back off, doubling.
                retry_after = getattr(exc, "retry_after", None)
                if retry_after is not None:
                    self._stop.wait(retry_after)
                else:
                    self._stop.wait(backoff * random.uniform(0.5, 1.0))
                    backoff = min(backoff * 2, RECONNECT_MAX)
            except Exception:  # never let the follower die
                logger.exception("flagware: %s: unexpected error; retrying", self._describe())
                self._stop.wait(1.0)

    def _follow(self, wait: Listen | None) -> None:
        next_poll = time.monotonic() + self._poll_interval
        while not self._stop.is_set():
            timeout = min(max(next_poll - time.monotonic(), 0.0), _TICK)
            if wait is None:
                self._stop.wait(timeout)
            else:
                announced = wait(timeout)
                if announced is not None:
                    self._on_notification(announced)
            if time.monotonic() >= next_poll:
                self._sync()
                next_poll = time.monotonic() + self._poll_interval
