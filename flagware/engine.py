"""The engine: a ruleset compiled once, evaluated for any number of accounts.

The engine is pure: no I/O, and the clock (used only by ``schedule`` strategies) is a
function you pass in, so tests can pin time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from flagware import reference
from flagware.flagset import Evaluation, FlagSet
from flagware.plan import Plan

if TYPE_CHECKING:
    from flagware.model import Account
    from flagware.ruleset import Ruleset

__all__ = ["Clock", "Engine"]

Clock = Callable[[], float]
"""Returns the current time as seconds since the epoch, like :func:`time.time`."""


def _timestamp(now: float | datetime | None) -> float | None:
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware, e.g. datetime.now(timezone.utc)")
        return now.timestamp()
    return now


class _Explainer:
    """Reasons and variants of one evaluation, computed on demand at the same instant."""

    __slots__ = ("_account", "_at", "_clock", "_ruleset")

    def __init__(
        self, ruleset: Ruleset, account: Account | None, clock: Clock, at: float | None
    ) -> None:
        self._ruleset = ruleset
        self._account = account
        self._clock = clock
        self._at = at

    def now(self) -> float:
        if self._at is None:
            self._at = self._clock()
        return self._at

    def reason(self, name: str, enabled: bool) -> str:
        return reference.decide(self._ruleset, name, self._account, self.now())[1]

    def variant(self, name: str, enabled: bool) -> str | None:
        flag = self._ruleset.flags.get(name)
        if not enabled or flag is None:
            return None
        return reference.variant_for(flag, self._account)


class Engine:
    """Evaluates a :class:`~flagware.Ruleset` for accounts.

    Compiling happens once, here; ``evaluate_all`` then costs a few microseconds plus a
    fraction of a microsecond per percentage rollout (see BENCHMARKS.md).

    :param ruleset: the validated ruleset.
    :param clock: current time in epoch seconds; default :func:`time.time`.
    """

    def __init__(self, ruleset: Ruleset, *, clock: Clock = time.time) -> None:
        self._ruleset = ruleset
        self._clock = clock
        self._plan = Plan(ruleset)
        self._names = tuple(ruleset.flags)

    @property
    def ruleset(self) -> Ruleset:
        """The ruleset this engine was compiled from."""
        return self._ruleset

    def evaluate_all(
        self, account: Account | None, *, now: float | datetime | None = None
    ) -> FlagSet:
        """Every flag for ``account`` (None: an anonymous request), evaluated once."""
        explainer = _Explainer(self._ruleset, account, self._clock, _timestamp(now))
        return FlagSet(
            self._plan.released(account, explainer.now),
            self._names,
            defined=self._plan.defined,
            unknown=self._ruleset.unknown,
            account=account,
            explainer=explainer,
        )

    def is_released_to(
        self, flag: str, account: Account | None, *, now: float | datetime | None = None
    ) -> bool:
        """Whether one flag is on for ``account``; cheaper than ``evaluate_all`` for one flag."""
        return self.explain(flag, account, now=now).enabled

    def explain(
        self, flag: str, account: Account | None, *, now: float | datetime | None = None
    ) -> Evaluation:
        """Value, variant and reason of one flag for ``account``."""
        at = _timestamp(now)
        explainer = _Explainer(self._ruleset, account, self._clock, at)
        enabled, why = reference.decide(self._ruleset, flag, account, explainer.now())
        return Evaluation(flag, enabled, explainer.variant(flag, enabled), why)

    def __repr__(self) -> str:
        return f"<Engine {self._ruleset!r}>"
