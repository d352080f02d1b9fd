"""A ruleset compiled into indexes, so evaluating every flag costs little more than a lookup.

Each strategy entry becomes a *rule*: indexed conditions (the account's id, last digit or
an attribute must be one of a set of values), rollout hash checks, and residual checks
only a call can decide. Rules are then sorted by what they need:

- no condition at all: the flag is on for every account, precomputed (``always``);
- only a rollout hash: all such hashes run in one C-level ``map`` (``pct_*``);
- indexed conditions on one dimension and nothing else: a dict from the account's value
  to the flags it releases (``direct``), one lookup per dimension;
- indexed conditions on several dimensions, or with further checks: grouped by the
  dimensions they use; a group intersects the rule sets its lookups return (``groups``);
- everything else (custom strategies, schedules, ``ne``/``lt``/``regex`` tests) is
  called per account (``loose``), skipped once its flag is already on.

The plain semantics live in :mod:`flagware.reference`; the two must agree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from itertools import compress, repeat
from operator import lt
from typing import TYPE_CHECKING, TypeVar

from mmh3 import mmh3_32_uintdigest

from flagware.reference import call_custom
from flagware.strategies.base import (
    DIGIT,
    ID,
    BuiltinStrategy,
    Dimension,
    HashCheck,
    IndexedCondition,
    Residual,
)

if TYPE_CHECKING:
    from flagware.model import Account
    from flagware.ruleset import Flag, Ruleset, StrategySpec

__all__ = ["Plan"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Rule:
    """One strategy entry of one flag, as what must hold for the flag to be on."""

    flag: str
    conditions: tuple[IndexedCondition, ...]
    hashes: tuple[HashCheck, ...]
    residuals: tuple[Residual, ...]

    def checks_pass(self, account: Account | None, id_bytes: bytes, now: float) -> bool:
        """Whether the hash and residual checks hold (indexed conditions already did)."""
        for h in self.hashes:
            if mmh3_32_uintdigest(id_bytes, h.seed) >= h.threshold:
                return False
        return all(r.check(account, now) for r in self.residuals)


@dataclass(frozen=True, slots=True)
class Group:
    """Rules that look up the same dimensions; each table maps a value to rule positions."""

    dimensions: tuple[Dimension, ...]
    tables: tuple[dict[Hashable, frozenset[int]], ...]
    rules: tuple[Rule, ...]


def _custom_residual(strategy: object) -> Residual:
    def check(account: Account | None, now: float) -> bool:
        return account is not None and call_custom(strategy, account)  # type: ignore[arg-type]

    return Residual(check)


def _rule(flag: Flag, spec: StrategySpec) -> Rule | None:
    """Compile one entry into a rule, or None if it can never match."""
    strategy = spec.strategy
    if isinstance(strategy, BuiltinStrategy):
        pieces = list(strategy.compile(flag.rollout_salt))
    else:
        pieces = [_custom_residual(strategy)]
    pieces.extend(c.compile() for c in spec.when)
    by_dimension: dict[Dimension, frozenset[Hashable]] = {}
    hashes: list[HashCheck] = []
    residuals: list[Residual] = []
    for piece in pieces:
        if isinstance(piece, IndexedCondition):
            seen = by_dimension.get(piece.dimension)
            by_dimension[piece.dimension] = piece.values if seen is None else seen & piece.values
        elif isinstance(piece, HashCheck):
            hashes.append(piece)
        else:
            residuals.append(piece)
    if any(not values for values in by_dimension.values()):
        return None
    if any(h.threshold == 0 for h in hashes):
        return None
    conditions = tuple(IndexedCondition(d, v) for d, v in sorted(by_dimension.items()))
    return Rule(flag.name, conditions, tuple(hashes), tuple(residuals))


def _value_of(dimension: Dimension, account: Account) -> Hashable | None:
    if dimension == ID:
        return account.id
    if dimension == DIGIT:
        return account.last_digit
    value: Hashable | None = account.attributes.get(dimension[1])
    return value


def _lookup(table: dict[Hashable, T], value: Hashable) -> T | None:
    try:
        return table.get(value)
    except TypeError:  # an unhashable attribute value (a list) equals none of the scalars
        return None


class Plan:
    """The compiled, indexed form of a ruleset; ``released`` is the hot path."""

    def __init__(self, ruleset: Ruleset) -> None:
        self.ruleset = ruleset
        flags = ruleset.flags
        self.defined = frozenset(flags)
        self.live = frozenset(name for name, flag in flags.items() if flag.enabled)
        self.test_users = ruleset.test_users
        rules = [
            rule
            for flag in flags.values()
            if flag.enabled
            for spec in flag.strategies
            if (rule := _rule(flag, spec)) is not None
        ]
        self.always = frozenset(r.flag for r in rules if _is_constant(r))
        plain_hash: list[Rule] = []
        direct: list[Rule] = []
        grouped: list[Rule] = []
        loose: list[Rule] = []
        for r in rules:
            if r.flag in self.always:
                continue
            if r.conditions:
                (direct if _is_direct(r) else grouped).append(r)
            elif not r.residuals and len(r.hashes) == 1:
                plain_hash.append(r)
            else:
                loose.append(r)
        self.pct_flags = tuple(r.flag for r in plain_hash)
        self.pct_seeds = tuple(r.hashes[0].seed for r in plain_hash)
        self.pct_thresholds = tuple(r.hashes[0].threshold for r in plain_hash)
        self.direct = _direct_tables(direct)
        self.groups = _groups(grouped)
        self.loose = tuple(loose)
        self.anonymous = tuple(
            r for r in self.loose if not r.hashes and all(x.anonymous for x in r.residuals)
        )

    def released(
        self, account: Account | None, now: Callable[[], float]
    ) -> frozenset[str] | set[str]:
        """The names of the flags on for ``account`` (flags not in the ruleset excluded)."""
        if account is None:
            return self._released_anonymous(now)
        if account.id in self.test_users:
            return self.live
        released = set(self.always)
        id_bytes = account.id.encode("utf-8")
        if self.pct_flags:
            hashes = map(mmh3_32_uintdigest, repeat(id_bytes), self.pct_seeds)
            released.update(compress(self.pct_flags, map(lt, hashes, self.pct_thresholds)))
        for dimension, table in self.direct:
            value = _value_of(dimension, account)
            if value is not None and (hit := _lookup(table, value)):
                released.update(hit)
        at = -1.0
        if self.groups or self.loose:
            at = now()
        for group in self.groups:
            positions = self._group_hits(group, account)
            for position in positions:
                rule = group.rules[position]
                if rule.flag not in released and rule.checks_pass(account, id_bytes, at):
                    released.add(rule.flag)
        for rule in self.loose:
            if rule.flag not in released and rule.checks_pass(account, id_bytes, at):
                released.add(rule.flag)
        return released

    def _released_anonymous(self, now: Callable[[], float]) -> frozenset[str] | set[str]:
        if not self.anonymous:
            return self.always
        at = now()
        released = set(self.always)
        for rule in self.anonymous:
            if all(r.check(None, at) for r in rule.residuals):
                released.add(rule.flag)
        return released

    @staticmethod
    def _group_hits(group: Group, account: Account) -> Iterable[int]:
        hits: frozenset[int] | None = None
        for dimension, table in zip(group.dimensions, group.tables, strict=True):
            value = _value_of(dimension, account)
            found = None if value is None else _lookup(table, value)
            if not found:
                return ()
            hits = found if hits is None else hits & found
            if not hits:
                return ()
        return hits or ()


def _is_constant(rule: Rule) -> bool:
    return not (rule.conditions or rule.hashes or rule.residuals)


def _is_direct(rule: Rule) -> bool:
    return len(rule.conditions) == 1 and not rule.hashes and not rule.residuals


def _direct_tables(
    rules: Iterable[Rule],
) -> tuple[tuple[Dimension, dict[Hashable, frozenset[str]]], ...]:
    tables: dict[Dimension, defaultdict[Hashable, set[str]]] = defaultdict(lambda: defaultdict(set))
    for rule in rules:
        condition = rule.conditions[0]
        for value in condition.values:
            tables[condition.dimension][value].add(rule.flag)
    return tuple(
        (dimension, {value: frozenset(names) for value, names in table.items()})
        for dimension, table in sorted(tables.items())
    )


def _groups(rules: Iterable[Rule]) -> tuple[Group, ...]:
    by_dimensions: defaultdict[tuple[Dimension, ...], list[Rule]] = defaultdict(list)
    for rule in rules:
        by_dimensions[tuple(c.dimension for c in rule.conditions)].append(rule)
    groups = []
    for dimensions, members in sorted(by_dimensions.items()):
        tables: list[defaultdict[Hashable, set[int]]] = [defaultdict(set) for _ in dimensions]
        for position, rule in enumerate(members):
            for table, condition in zip(tables, rule.conditions, strict=True):
                for value in condition.values:
                    table[value].add(position)
        frozen = tuple({v: frozenset(p) for v, p in t.items()} for t in tables)
        groups.append(Group(dimensions, frozen, tuple(members)))
    return tuple(groups)
