"""The engine: a ruleset compiled once, evaluated for any number of accounts.

The engine is pure: no I/O, and the clock (used only by ``schedule`` strategies) is a
function you pass in, so tests can pin time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Container, Mapping
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from flagware.engine import _reference as reference
from flagware.engine._plan import Plan
from flagware.engine.flagset import Evaluation, FlagSet, deferred

if TYPE_CHECKING:
    from flagware.account import Account
    from flagware.ruleset import Ruleset

__all__ = ["Clock", "Engine"]

logger = logging.getLogger("flagware")

Clock = Callable[[], float]
"""Returns the current time as seconds since the epoch, like :func:`time.time`."""


def _timestamp(now: float | datetime | None) -> float | None:
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware, e.g. datetime.now(timezone.utc)")
        return now.timestamp()
    return now


def _released_or_none(
    plan: Plan,
    account: Account | None,
    at: float,
    test_user: bool,
    known: Mapping[str, bool] | None = None,
) -> Container[str]:
    """A deferred evaluation runs inside the app's code: it must not raise there.

    ``known``: the flags the FlagSet already answered one at a time, which keep their
    answers (on failure too: every other defined flag is then off).
    """
    try:
        return plan.released(account, at, test_user, known)
    except Exception:
        logger.exception("flagware: evaluating flags failed; every defined flag is off")
        return frozenset(name for name, on in known.items() if on) if known else frozenset()


def _variant_names(
    ruleset: Ruleset,
    names: tuple[str, ...],
    changed: list[str] | None,
    previous: Engine | None,
) -> tuple[str, ...]:
    """The flags with variants, in ruleset order: ``previous``'s when none of the flags
    ``changed`` since it has or had variants (and the order is the same), as after most
    one-flag edits."""
    flags = ruleset.flags
    if previous is not None and changed is not None and previous._names == names:
        before = previous._ruleset.flags
        if not any(
            ((flag := flags.get(name)) is not None and flag.variants)
            or ((flag := before.get(name)) is not None and flag.variants)
            for name in changed
        ):
            return previous._variant_names
    return tuple(name for name, flag in flags.items() if flag.variants)


class _AsTestUser:
    """Explains a FlagSet evaluated with ``test_user=True``."""

    __slots__ = ("_engine",)

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def reason(self, name: str, enabled: bool, account: Account | None, at: float | None) -> str:
        now = self._engine._now(at)
        return reference.decide(self._engine.ruleset, name, account, now, test_user=True)[1]

    def variant(self, name: str, enabled: bool, account: Account | None) -> str | None:
        return self._engine.variant(name, enabled, account)


class Engine:
    """Evaluates a :class:`~flagware.Ruleset` for accounts.

    Compiling happens once, here; ``evaluate_all`` then costs a few microseconds plus a
    fraction of a microsecond per percentage rollout (see BENCHMARKS.md).

    :param ruleset: the validated ruleset.
    :param clock: current time in epoch seconds; default :func:`time.time`.
    :param previous: the engine of the ruleset this one was edited from: the flags both
        share (the same objects, as stores and ``Ruleset.from_dict(previous=...)`` keep
        them) are not compiled again, so applying a one-flag change costs that flag.
    """

    def __init__(
        self, ruleset: Ruleset, *, clock: Clock = time.time, previous: Engine | None = None
    ) -> None:
        self._ruleset = ruleset
        self._clock = clock
        self._plan: Plan = Plan(ruleset, previous._plan if previous is not None else None)
        self._names = tuple(ruleset.flags)
        self._unknown = ruleset.unknown
        self._unknown_released = ruleset.unknown == "released"
        self._variant_names = _variant_names(ruleset, self._names, self._plan.changed, previous)
        self.killed = self._plan.defined - self._plan.live
        """The kill-switched flags: off for everyone, overrides included."""
        self.test_users = ruleset.test_users
        """The ruleset's test users."""
        self.client_flags = tuple(name for name, flag in ruleset.flags.items() if flag.client)
        """The flags marked ``client: true``: the only ones a browser is told about."""

    @property
    def ruleset(self) -> Ruleset:
        """The ruleset this engine was compiled from."""
        return self._ruleset

    def evaluate_all(
        self,
        account: Account | None,
        *,
        now: float | datetime | None = None,
        test_user: bool = False,
        lazy: bool = False,
    ) -> FlagSet:
        """Every flag for ``account`` (None: an anonymous request), evaluated once.

        ``test_user=True`` gives the account a test user's view (every flag that is not
        kill-switched) even if the ruleset's ``test_users`` does not list it.
        ``lazy=True`` defers the evaluation to the first read of the FlagSet, with this
        ruleset and this instant, so the result is the same; the middleware uses it so that
        a request that reads no flag pays nothing for them, and one that reads a few pays
        for those few (the first reads ask one flag each; see :class:`FlagSet`).
        """
        plan = self._plan
        at = None if now is None else _timestamp(now)
        if at is None and plan.needs_clock:
            at = self._clock()
        test_user = test_user and account is not None
        when = -1.0 if at is None else at
        explainer = _AsTestUser(self) if test_user else self
        if lazy:
            # Anonymous requests and test users cost the whole plan no more than one flag.
            single = account is not None and not test_user and account.id not in plan.test_users
            return deferred(
                partial(_released_or_none, plan, account, when, test_user),
                self._names,
                plan.defined,
                self._unknown_released,
                account,
                explainer,
                at,
                self._variant_names,
                plan.checks if single else None,
            )
        return FlagSet(
            plan.released(account, when, test_user),
            self._names,
            defined=plan.defined,
            unknown=self._unknown,
            account=account,
            explainer=explainer,
            at=at,
            variant_names=self._variant_names,
        )

    def is_released_to(
        self, flag: str, account: Account | None, *, now: float | datetime | None = None
    ) -> bool:
        """Whether one flag is on for ``account``: that flag's cost, not the ruleset's.

        The same answer as ``evaluate_all(account, now=now)[flag]``.
        """
        plan = self._plan
        at = _timestamp(now)
        if flag not in plan.defined:
            return self._unknown_released
        if at is None:
            at = self._clock() if plan.needs_clock else -1.0
        return plan.is_released(flag, account, at)

    def explain(
        self, flag: str, account: Account | None, *, now: float | datetime | None = None
    ) -> Evaluation:
        """Value, variant and reason of one flag for ``account``, unindexed."""
        at = _timestamp(now)
        enabled, why = reference.decide(self._ruleset, flag, account, self._now(at))
        return Evaluation(flag, enabled, self.variant(flag, enabled, account), why)

    # The Explainer protocol: what a FlagSet asks for only when someone reads it.

    def reason(self, name: str, enabled: bool, account: Account | None, at: float | None) -> str:
        """Why ``name`` came out as it did (recomputed by the reference semantics)."""
        return reference.decide(self._ruleset, name, account, self._now(at))[1]

    def variant(self, name: str, enabled: bool, account: Account | None) -> str | None:
        """The variant of a flag that is on, or None."""
        flag = self._ruleset.flags.get(name)
        if not enabled or flag is None:
            return None
        return reference.variant_for(flag, account)

    def _now(self, at: float | None) -> float:
        return self._clock() if at is None else at

    def __repr__(self) -> str:
        return f"<Engine {self._ruleset!r}>"
