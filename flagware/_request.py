"""What both middlewares do for a request, framework-free: evaluate, then maybe override.

The WSGI and ASGI middlewares differ only in how they read a request and send a
response; deciding *which* flags a request gets, and whether its override is honoured,
lives here once.
"""

from __future__ import annotations

import contextvars
import inspect
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, NamedTuple

from flagware._tally import Tally
from flagware.engine.flagset import FlagSet
from flagware.exposures._recorder import RECORDER
from flagware.overrides import (
    Overrides,
    RateLimitedLog,
    Secret,
    parse_override_header,
    read_override_token,
    sanitize,
)

if TYPE_CHECKING:
    from flagware.account import Account
    from flagware.stores.store import Store

__all__ = [
    "DEFAULT_OVERRIDE_HEADER",
    "DEFAULT_TOKEN_COOKIE",
    "OVERRIDE_DECISIONS",
    "InContext",
    "Outcome",
    "RequestEvaluator",
    "merge_headers",
]

logger = logging.getLogger("flagware")

DEFAULT_OVERRIDE_HEADER = "X-Flagware-Override"
DEFAULT_TOKEN_COOKIE = "flagware_override"
APPLIED_HEADER = "X-Flagware-Overrides-Applied"
# Every flag off: what a request gets if evaluation itself fails (it never should).
_FAIL_CLOSED = FlagSet.from_mapping({}, unknown="hidden")
OVERRIDE_DECISIONS: Tally[str] = Tally()
"""Override requests per decision: "honoured", or "refused" (not a test user, anonymous,
malformed, or a token that did not verify). Read by :mod:`flagware.prometheus`."""


class Outcome(NamedTuple):
    """The flags for one request, and the overrides applied to them (None: not overridden)."""

    flags: FlagSet
    applied: Overrides | None = None
    via_token: bool = False

    def response_headers(self, header_name: str, echo: bool) -> list[tuple[str, str]]:
        """Headers an overridden response must carry, so no cache shares it."""
        if self.applied is None:
            return []
        vary = header_name + (", Cookie" if self.via_token else "")
        headers = [("Cache-Control", "private, no-store"), ("Vary", vary)]
        if echo:
            shown = ", ".join(
                f"{k}={'on' if v is True else 'off' if v is False else v}"
                for k, v in self.applied.items()
            )
            headers.append((APPLIED_HEADER, shown))
        return headers


def _without(overrides: Overrides, killed: frozenset[str]) -> Overrides:
    """Overrides minus kill-switched flags: the kill switch is off for everyone."""
    if not killed or killed.isdisjoint(overrides):
        return overrides
    return {name: value for name, value in overrides.items() if name not in killed}


def merge_headers(
    headers: list[tuple[str, str]], extra: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """Response headers with ``extra`` added: ``Vary`` values appended, others replacing."""
    replaced = {name.lower() for name, _ in extra if name.lower() != "vary"}
    merged = [(k, v) for k, v in headers if k.lower() not in replaced]
    for name, value in extra:
        if name.lower() == "vary":
            existing = [v for k, v in merged if k.lower() == "vary"]
            merged = [(k, v) for k, v in merged if k.lower() != "vary"]
            merged.append((name, ", ".join([*existing, value])))
        else:
            merged.append((name, value))
    return merged


class RequestEvaluator:
    """Evaluates a request's flags against a store and applies authorised overrides.

    :param store: where the compiled ruleset comes from (memory only, no I/O).
    :param is_test_user: extra test-user check besides the ruleset's ``test_users``.
    :param token_secret: enables signed override tokens (see
        :func:`flagware.overrides.issue_override_token`); None disables them.
    """

    def __init__(
        self,
        store: Store,
        *,
        is_test_user: Callable[[Account], bool] | None = None,
        token_secret: Secret | None = None,
    ) -> None:
        if is_test_user is not None and (
            inspect.iscoroutinefunction(is_test_user)
            or inspect.iscoroutinefunction(getattr(is_test_user, "__call__", None))  # noqa: B004
        ):
            raise TypeError("is_test_user must be a plain function returning a bool, not async")
        self.store = store
        self.is_test_user = is_test_user
        self.token_secret = token_secret
        self._refused = RateLimitedLog()
        self._malformed = RateLimitedLog()

    def evaluate(
        self,
        account: Account | None,
        override: str | bytes | None = None,
        token: str | None = None,
    ) -> Outcome:
        """The request's flags; never raises (a failure is logged and fails closed)."""
        if not override and not token:
            return Outcome(self.flags(account))
        outcome = self._decide(account, override, token)
        OVERRIDE_DECISIONS.add("refused" if outcome.applied is None else "honoured")
        if RECORDER.active and outcome.flags is not _FAIL_CLOSED:
            return outcome._replace(flags=RECORDER.wrap(outcome.flags, self.store))
        return outcome

    def _decide(
        self, account: Account | None, override: str | bytes | None, token: str | None
    ) -> Outcome:
        """:meth:`evaluate` for a request that asks for an override."""
        try:
            engine = self.store.engine()
            tester = account is not None and (
                account.id in engine.test_users
                or (self.is_test_user is not None and self._approved(account))
            )
            flags = engine.evaluate_all(account, test_user=tester, lazy=True)
            if account is None:
                self._refused.warning(
                    "flagware: ignored an override from an anonymous request: %s",
                    sanitize(override or "<token>"),
                )
                return Outcome(flags)
            killed = engine.killed
            if token and self.token_secret:
                granted = read_override_token(self.token_secret, token, account.id)
                if granted:
                    granted = _without(granted, killed)
                    return Outcome(flags.with_overrides(granted), granted, via_token=True)
            if not override:
                return Outcome(flags)
            if not tester:
                self._refused.warning(
                    "flagware: ignored an override from account %s, which is not a test user: %s",
                    sanitize(account.id),
                    sanitize(override),
                )
                return Outcome(flags)
            requested = parse_override_header(override)
            if requested is None:
                self._malformed.warning(
                    "flagware: ignored a malformed override header from test user %s: %s",
                    sanitize(account.id),
                    sanitize(override),
                )
                return Outcome(flags)
            requested = _without(requested, killed)
            return Outcome(flags.with_overrides(requested), requested)
        except Exception:
            logger.exception("flagware: evaluating flags failed; this request gets every flag off")
            return Outcome(_FAIL_CLOSED)

    def flags(self, account: Account | None) -> FlagSet:
        """The flags of a request that asks for no override: what :meth:`evaluate` gives
        it, without the :class:`Outcome` (most requests; the middlewares' hot path)."""
        try:
            engine = self.store.engine()
            tester = account is not None and (
                account.id in engine.test_users
                or (self.is_test_user is not None and self._approved(account))
            )
            flags = engine.evaluate_all(account, test_user=tester, lazy=True)
        except Exception:
            logger.exception("flagware: evaluating flags failed; this request gets every flag off")
            return _FAIL_CLOSED  # shared: never turned into a recording one
        if RECORDER.active:  # a hook wants this request's first reads
            return RECORDER.wrap(flags, self.store)
        return flags

    def _approved(self, account: Account) -> bool:
        """Whether the application's ``is_test_user`` says this account is a test user."""
        if self.is_test_user is None:
            return False
        try:
            # Only a real True grants (a coroutine or other truthy object must not).
            return self.is_test_user(account) is True
        except Exception:
            logger.exception("flagware: is_test_user raised; treating the account as ordinary")
            return False


class InContext:
    """The app's response body, iterated and closed inside the request's context.

    The server iterates the body after the app returned; without this a generator would
    run in whatever context the worker thread has, and see no flags or someone else's.
    """

    def __init__(self, body: Iterable[bytes], context: contextvars.Context) -> None:
        self._body = body
        self._context = context
        self._iterator: Iterator[bytes] | None = None
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self._iterator is None:
            self._iterator = self._context.run(iter, self._body)
        return self._context.run(next, self._iterator)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        close = getattr(self._body, "close", None)
        if close is not None:
            self._context.run(close)
