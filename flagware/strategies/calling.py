"""Calling a strategy entry for an account: the one place that knows how each kind is asked.

A built-in answers ``matches_at`` with the salt of whatever it rolls out (a flag, or a
segment); an application's strategy is called through :func:`call_custom`, which turns an
exception or a non-bool into "no match", so a bad strategy never fails a request.
"""

from __future__ import annotations

import inspect
import logging
import weakref
from typing import TYPE_CHECKING

from flagware.strategies.base import BuiltinStrategy, Piece, Residual, Strategy

if TYPE_CHECKING:
    from flagware.account import Account
    from flagware.ruleset.flag import StrategySpec

__all__ = ["alternatives_of", "call_custom", "entry_matches"]

logger = logging.getLogger("flagware")
_failed: weakref.WeakSet[Strategy] = weakref.WeakSet()


def call_custom(strategy: Strategy, account: Account) -> bool:
    """Call an application strategy; an exception counts as no match and is logged."""
    try:
        result = strategy.matches(account)
    except Exception:
        # Log the first failure of each strategy loudly, then quietly: this runs per request.
        try:
            first = strategy not in _failed
            _failed.add(strategy)
        except TypeError:  # a class with __slots__ and no __weakref__: always log loudly
            first = True
        logger.log(
            logging.ERROR if first else logging.DEBUG,
            "flagware: strategy %r raised; treating it as no match",
            strategy.type_name,
            exc_info=True,
        )
        return False
    if result is True or result is False:
        return result
    # Anything else (a coroutine from an async matches, a truthy object) must not release.
    if inspect.iscoroutine(result):
        result.close()
    logger.error(
        "flagware: strategy %r returned %s, not a bool; treating it as no match",
        strategy.type_name,
        type(result).__name__,
    )
    return False


def entry_matches(spec: StrategySpec, account: Account | None, now: float, salt: str) -> bool:
    """Whether one strategy entry (with its ``when`` conditions) matches; its percentage
    buckets are salted with ``salt``."""
    if not all(c.holds(account) for c in spec.when):
        return False
    strategy = spec.strategy
    if isinstance(strategy, BuiltinStrategy):
        return strategy.matches_at(account, now, salt)
    return account is not None and call_custom(strategy, account)


def _custom_residual(strategy: Strategy) -> Residual:
    def check(account: Account | None, now: float) -> bool:
        return account is not None and call_custom(strategy, account)

    return Residual(check)


def alternatives_of(spec: StrategySpec, salt: str) -> tuple[tuple[Piece, ...], ...]:
    """One strategy entry as the engine compiles it: alternatives (it holds where any
    does), each the pieces that must all hold, the entry's ``when`` conditions included.
    Every strategy is one alternative but a segment, which is one per strategy it holds."""
    when = tuple(c.compile() for c in spec.when)
    strategy = spec.strategy
    if isinstance(strategy, BuiltinStrategy):
        return tuple((*pieces, *when) for pieces in strategy.alternatives(salt))
    return ((_custom_residual(strategy), *when),)
