"""Opening the chosen store for one command, and showing the library's log records.

A command opens its store once and the group closes it when the command ends. Redis is
pinged first, so an unreachable server is one error line and exit 3 within the socket
timeout, instead of a store failing closed in the background. The CLI never reads or
writes RedisStore's on-disk snapshot: it must act on what Redis holds, nothing older.

A one-shot command's store has no follower thread: every edit reads the latest document
from Redis anyway (compare-and-set), and closing a follower would wait for its blocking
pub/sub read. redis-py is imported only when a command opens a Redis store.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import click

from flagware.cli.errors import ConfigError, Unavailable
from flagware.cli.output import printable
from flagware.cli.settings import Settings, get_settings
from flagware.errors import RulesetError, StoreError, StoreUnavailable

if TYPE_CHECKING:
    from flagware.stores.store import Store

__all__ = [
    "NO_STORE",
    "REDIS_TIMEOUT",
    "SERVER_POLL",
    "install_log_handler",
    "is_placeholder",
    "keeps_history",
    "open_store",
]

REDIS_TIMEOUT = 2.0  # seconds for connecting to Redis and for each call
# A server (``admin``, ``demo``) follows Redis like any app: pub/sub first, and a poll this
# often besides. A one-shot command follows nothing (see the module docstring).
SERVER_POLL = 5.0
NO_STORE = (
    "no store chosen: pass --redis-url URL (or set FLAGWARE_REDIS_URL) for the ruleset in "
    "Redis, or --rules FILE (or FLAGWARE_RULES) for a rules file"
)
_LOGGER = logging.getLogger("flagware")


class _StderrLog(logging.Handler):
    """Prints the library's log records on stderr, or holds them while a store opens."""

    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.held: list[logging.LogRecord] | None = None
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if self.held is not None:
            self.held.append(record)
        else:
            click.echo(printable(self.format(record), keep_newlines=True), err=True)


def install_log_handler(ctx: click.Context, verbose: bool) -> None:
    """Route the ``flagware`` logger to stderr for this command; undone when it ends."""
    handler = _StderrLog(logging.INFO if verbose else logging.WARNING)
    level, propagate = _LOGGER.level, _LOGGER.propagate
    _LOGGER.addHandler(handler)
    _LOGGER.setLevel(logging.INFO if verbose else logging.WARNING)
    _LOGGER.propagate = False

    def restore() -> None:
        _LOGGER.removeHandler(handler)
        _LOGGER.setLevel(level)
        _LOGGER.propagate = propagate

    ctx.call_on_close(restore)


@contextmanager
def _held_logs() -> Iterator[list[logging.LogRecord]]:
    """Hold back log records: opening a store logs states the CLI reports in its own words."""
    handlers = [h for h in _LOGGER.handlers if isinstance(h, _StderrLog)]
    records: list[logging.LogRecord] = []
    for handler in handlers:
        handler.held = records
    try:
        yield records
    finally:
        for handler in handlers:
            handler.held = None


def _replay(records: list[logging.LogRecord], level: int = logging.WARNING) -> None:
    for record in records:
        if record.levelno >= level:
            _LOGGER.handle(record)


def open_store(*, need_ruleset: bool = True, serving: bool = False) -> Store:
    """The store the global options choose, closed when the command ends.

    ``need_ruleset=False`` also accepts a Redis namespace without a ruleset (``push``),
    whose store then serves the fail-closed placeholder (see :func:`is_placeholder`).
    ``serving`` is for the long-running commands (``admin``, ``demo``).
    """
    ctx = click.get_current_context()
    settings = get_settings()
    if settings.redis_url is not None:
        poll = SERVER_POLL if serving else None
        return _open_redis(ctx, settings, settings.redis_url, need_ruleset, poll)
    if settings.rules is not None:
        return _open_file(ctx, settings.rules)
    raise ConfigError(NO_STORE)


def _open_file(ctx: click.Context, path: Path) -> Store:
    from flagware.stores.file import FileStore  # noqa: PLC0415 - only the commands that use it

    if not path.exists():
        raise ConfigError(
            f"the rules file {path} does not exist; write one, or pull one from Redis with "
            f"`flagware --redis-url URL pull -o {path}`"
        )
    try:
        store = FileStore(path, poll_interval=0)  # one command: no watcher thread
    except ValueError as exc:
        if not isinstance(exc, RulesetError):  # an unknown file suffix
            raise ConfigError(str(exc)) from None
        raise Unavailable(f"the rules file cannot be used: {exc}") from None
    except StoreError as exc:
        raise Unavailable(str(exc)) from None
    return ctx.find_root().with_resource(store)


def redact(url: str) -> str:
    """A Redis URL without its password, for messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + netloc))


def _open_redis(
    ctx: click.Context, settings: Settings, url: str, need_ruleset: bool, poll: float | None
) -> Store:
    try:
        from flagware.stores.redis import RedisStore  # noqa: PLC0415 - optional extra
    except ImportError:
        raise ConfigError("--redis-url needs redis-py: pip install 'flagware[redis]'") from None
    where = redact(url)
    with _held_logs() as records:
        try:
            store = RedisStore.from_url(
                url,
                namespace=settings.namespace,
                socket_timeout=REDIS_TIMEOUT,
                socket_connect_timeout=REDIS_TIMEOUT,
                poll_interval=poll,
                snapshot_path=False,
            )
        except StoreUnavailable as exc:  # a cluster client connects as it is made
            raise Unavailable(f"cannot reach Redis at {where}: {exc.__cause__ or exc}") from None
        except ValueError as exc:  # the URL or the namespace
            message = str(exc) if "namespace" in str(exc) else f"invalid Redis URL {where}: {exc}"
            raise ConfigError(message) from None
    ctx.find_root().with_resource(store)
    health = store.health()
    if not health.connected:  # nothing logged: the one line says it all
        error = (health.last_error or "").partition(": ")[2]  # "TimeoutError: <what>"
        raise Unavailable(f"cannot reach Redis at {where}: {error}")
    if health.source != "fail-closed":
        _replay(records, logging.INFO if settings.verbose else logging.WARNING)
        return store
    # Redis answered but the store found nothing it can serve: nothing there, or something
    # it refused (say why, in the store's own words).
    problem = health.problem
    if need_ruleset and problem is not None:
        summary, _, details = problem.partition("\n")
        raise Unavailable(
            f"the ruleset in Redis namespace {settings.namespace!r} cannot be used: {summary}; "
            "push a valid one with `flagware push FILE`" + (f"\n{details}" if details else "")
        )
    if need_ruleset:
        raise Unavailable(
            f"no ruleset in Redis namespace {settings.namespace!r} (a new namespace, or Redis "
            "lost its data: running apps put back what they serve as soon as they notice); "
            "push one with `flagware push FILE`"
        )
    if settings.verbose:
        _replay(records, logging.INFO)
    return store


def is_placeholder(store: Store) -> bool:
    """Whether ``store`` found no ruleset and serves the fail-closed placeholder."""
    return store.health().source == "fail-closed"


def keeps_history(store: Store) -> bool:
    """Whether the store's audit history outlives a command (Redis: yes; a file: no)."""
    return store.backend.shared
