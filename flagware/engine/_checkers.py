"""One flag compiled into one small function: what a lazy FlagSet's first reads cost.

A request that reads two flags should pay for two flags, not for the whole plan. A flag's
*checker* answers "is it on for this account at this instant?" for an account that is
neither anonymous nor a test user (the plan answers those, at no per-flag cost). It is
built from the flag's compiled rules (:mod:`._rules`): the commonest rule shapes get a
closure of their own (an allowlist is one set lookup, a rollout one hash, ``country in
[..] and plan == ..`` two lookups), every other rule its own checks, in the order the plan
runs them. :class:`Checkers` compiles a flag's checker on its first read and keeps it.

The checkers state the plan's meaning flag by flag, so they must agree with it and with
the reference semantics; the property tests compare all three.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import TYPE_CHECKING

from mmh3 import mmh3_32_uintdigest

from flagware.engine._gates import closure, requirements_hold, requirements_of
from flagware.engine._rules import ALWAYS, PERCENT, Kind, Rule
from flagware.strategies.base import DIGIT, ID, HashCheck, IndexedCondition
from flagware.strategies.conditions import index_key

if TYPE_CHECKING:
    from flagware.account import Account
    from flagware.ruleset import Flag

__all__ = ["Check", "Checkers", "flag_check"]

Check = Callable[["Account", float], bool]
"""A flag's checker: ``check(account, at)``, for an account that is not a test user."""
_Kinds = Mapping[str, Mapping[Kind, tuple[Rule, ...]]]


def _on(account: Account, at: float) -> bool:
    return True


def _off(account: Account, at: float) -> bool:
    return False


def _tells_booleans(values: frozenset[Hashable]) -> bool:
    """Whether a boolean must be looked up by its index key among ``values``: they hold a
    boolean's key, or a number a boolean equals (``True == 1``). Otherwise a boolean is
    among them as itself (never), which spares the test on every read."""
    return any(isinstance(v, tuple) or (not isinstance(v, str) and v in {0, 1}) for v in values)


def _id_bytes(account: Account) -> bytes:
    """The account's id as the rollout hashes it (UTF-8, a lone surrogate kept)."""
    try:
        return account.id.encode()  # twice as fast as naming an error handler
    except UnicodeEncodeError:
        return account.id.encode("utf-8", "surrogatepass")


def _attribute_check(name: str, values: frozenset[Hashable]) -> Check:
    if not _tells_booleans(values):

        def plain(account: Account, at: float) -> bool:
            try:
                return account.attributes.get(name) in values  # None is never among them
            except TypeError:  # an unhashable value (a list) equals none of the scalars
                return False

        return plain

    def check(account: Account, at: float) -> bool:
        value = account.attributes.get(name)
        if value.__class__ is bool:
            value = index_key(value)
        try:
            return value in values
        except TypeError:
            return False

    return check


def _condition_check(condition: IndexedCondition) -> Check:
    """The account's id, last digit or attribute is one of the condition's values."""
    values = condition.values
    if condition.dimension == ID:

        def by_id(account: Account, at: float) -> bool:
            return account.id in values

        return by_id
    if condition.dimension == DIGIT:

        def by_digit(account: Account, at: float) -> bool:
            number = account.number
            return number is not None and abs(number) % 10 in values

        return by_digit
    return _attribute_check(condition.dimension[1], values)


def _two_attributes_check(first: IndexedCondition, second: IndexedCondition) -> Check:
    """``country in [..] and plan == ..``: two lookups, unrolled."""
    name_1, values_1 = first.dimension[1], first.values
    name_2, values_2 = second.dimension[1], second.values
    if not _tells_booleans(values_1) and not _tells_booleans(values_2):

        def plain(account: Account, at: float) -> bool:
            attributes = account.attributes
            try:
                return attributes.get(name_1) in values_1 and attributes.get(name_2) in values_2
            except TypeError:  # an unhashable value equals none of the scalars
                return False

        return plain

    def check(account: Account, at: float) -> bool:
        attributes = account.attributes
        value_1 = attributes.get(name_1)
        if value_1.__class__ is bool:
            value_1 = index_key(value_1)
        value_2 = attributes.get(name_2)
        if value_2.__class__ is bool:
            value_2 = index_key(value_2)
        try:
            return value_1 in values_1 and value_2 in values_2
        except TypeError:  # an unhashable value equals none of the scalars
            return False

    return check


def _all_of(checks: tuple[Check, ...]) -> Check:
    if len(checks) == 1:
        return checks[0]

    def check(account: Account, at: float) -> bool:
        for one in checks:  # noqa: SIM110 - all() over a generator costs twice as much
            if not one(account, at):
                return False
        return True

    return check


def _conditions_check(conditions: tuple[IndexedCondition, ...]) -> Check:
    if len(conditions) == 2 and all(c.dimension[0] == "attr" for c in conditions):
        return _two_attributes_check(*conditions)
    return _all_of(tuple(_condition_check(c) for c in conditions))


def _rollout_check(rollout: HashCheck) -> Check:
    """Inside one percentage rollout: one hash of the account's id."""
    seed, threshold = rollout.seed, rollout.threshold

    def check(account: Account, at: float) -> bool:
        try:
            id_bytes = account.id.encode()  # twice as fast as naming an error handler
        except UnicodeEncodeError:
            id_bytes = account.id.encode("utf-8", "surrogatepass")
        return mmh3_32_uintdigest(id_bytes, seed) < threshold

    return check


def _rule_check(rule: Rule) -> Check:
    """One rule: its indexed conditions, then its hashes, then its residual checks."""
    conditions, hashes, residuals = rule.conditions, rule.hashes, rule.residuals
    if not hashes and not residuals:
        return _conditions_check(conditions) if conditions else _on
    if not conditions and not residuals and len(hashes) == 1:
        return _rollout_check(hashes[0])
    if not conditions and not hashes and len(residuals) == 1:
        return residuals[0].check  # a schedule, a custom strategy, one `ne` condition
    indexed = _conditions_check(conditions) if conditions else None
    seeds = tuple((h.seed, h.threshold) for h in hashes)
    calls = tuple(r.check for r in residuals)

    def check(account: Account, at: float) -> bool:
        if indexed is not None and not indexed(account, at):
            return False
        if seeds:
            id_bytes = _id_bytes(account)
            for seed, threshold in seeds:
                if mmh3_32_uintdigest(id_bytes, seed) >= threshold:
                    return False
        for call in calls:  # noqa: SIM110 - all() over a generator costs twice as much
            if not call(account, at):
                return False
        return True

    return check


# Cheap rules first: lookups, then a hash, then rules with further checks.
_ORDER = {"single": 0, "conjunction": 1, "percent": 2, "group": 3, "loose": 4}


def flag_check(kinds: Mapping[Kind, tuple[Rule, ...]]) -> Check:
    """The checker of a flag, from its rules by kind (``kinds_of``): on if any rule holds."""
    if ALWAYS in kinds:
        return _on
    checks: list[Check] = []
    for kind in sorted(kinds, key=lambda k: _ORDER[k[0]]):
        rules = kinds[kind]
        if kind == PERCENT:  # a flag's rollouts all hash with its salt: the widest counts
            widest = max((r.hashes[0] for r in rules), key=lambda h: h.threshold)
            checks.append(_rollout_check(widest))
        else:
            checks.extend(_rule_check(rule) for rule in rules)
    if not checks:
        return _off  # kill-switched, or no strategies: test users only
    if len(checks) == 1:
        return checks[0]
    alternatives = tuple(checks)

    def any_rule(account: Account, at: float) -> bool:
        for one in alternatives:  # noqa: SIM110 - any() over a generator costs twice as much
            if one(account, at):
                return True
        return False

    return any_rule


class Checkers(dict[str, Check]):
    """Flag name -> its checker, compiled on the first read of the flag and then kept.

    A name the ruleset does not define gets the ruleset's ``unknown`` policy (on for
    ``released``), not kept, so names read from anywhere cost no memory. A race between
    threads compiles a flag twice, to the same checker.
    """

    __slots__ = ("_flags", "_kinds", "_unknown")

    def __init__(
        self, kinds: _Kinds, unknown_released: bool, flags: Mapping[str, Flag] | None = None
    ) -> None:
        super().__init__()
        self._kinds = kinds
        self._unknown = _on if unknown_released else _off
        self._flags = flags or {}

    def __missing__(self, name: str) -> Check:
        kinds = self._kinds.get(name)
        if kinds is None:
            return self._unknown
        flag = self._flags.get(name)
        if flag is not None and flag.prerequisites:
            check = self[name] = self._gated(name)
        else:
            check = self[name] = flag_check(kinds)
        return check

    def _gated(self, name: str) -> Check:
        """A flag with prerequisites: the flags it depends on, each once and before the
        flags requiring it, then its own rules, unless a prerequisite failed."""
        flags, kinds = self._flags, self._kinds
        steps = tuple(
            (each, flag_check(kinds.get(each, {})), requirements_of(flags[each], flags))
            for each in closure([name], flags)
        )

        def check(account: Account, at: float) -> bool:
            on: dict[str, bool] = {}
            lookup = on.__getitem__
            for each, own, requirements in steps:
                on[each] = (
                    not requirements or requirements_hold(requirements, lookup, account)
                ) and own(account, at)
            return on[name]

        return check
