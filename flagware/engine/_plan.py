"""A ruleset compiled into indexes, so evaluating every flag costs little more than a lookup.

Each strategy entry becomes a *rule*: indexed conditions (the account's id, last digit or
an attribute must be one of a set of values), rollout hash checks, and residual checks
only a call can decide. Rules are then sorted by what they need:

- no condition at all: the flag is on for every account, precomputed (``always``);
- only a rollout hash: all such hashes run in one C-level ``map`` (``pct_*``);
- indexed conditions on one dimension and nothing else: a dict from the account's value
  to the flags it releases (``by_id``, ``by_digit``, ``by_attribute``), one lookup each;
- indexed conditions on several dimensions and nothing else: per set of dimensions, one
  dict per dimension; the intersection of the lookups is the released flags
  (``conjunctions``);
- indexed conditions with further checks: the lookups give candidate rules, whose checks
  then run (``groups``);
- everything else (custom strategies, schedules, ``ne``/``lt``/``regex`` tests) is
  called per account (``loose``), skipped once its flag is already on.

The plain semantics live in :mod:`flagware.engine._reference`; the two must agree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Container, Hashable, Iterable
from dataclasses import dataclass
from itertools import chain, compress, repeat
from operator import lt
from typing import TYPE_CHECKING, TypeVar

from mmh3 import mmh3_32_uintdigest

from flagware.engine._reference import call_custom
from flagware.strategies.base import (
    DIGIT,
    ID,
    BuiltinStrategy,
    Dimension,
    HashCheck,
    IndexedCondition,
    Residual,
)
from flagware.strategies.conditions import index_key

if TYPE_CHECKING:
    from flagware.account import Account
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
class Conjunction:
    """Rules without further checks that look up the same dimensions, at most one per flag.

    Each table maps a value to the flags whose rule accepts it; the flags whose rule
    accepts all of the account's values are the intersection of one lookup per table.
    """

    dimensions: tuple[Dimension, ...]
    tables: tuple[dict[Hashable, frozenset[str]], ...]


@dataclass(frozen=True, slots=True)
class Combined:
    """Conjunctions over string-valued attributes, as one dict keyed by the value tuple.

    ``country in [NL, DE] and plan == pro`` becomes ``{("NL", "pro"): ..., ("DE", "pro"):
    ...}``: one lookup per account instead of one per attribute plus an intersection. Built
    only while the product of the value sets stays small.
    """

    attributes: tuple[str, ...]
    table: dict[tuple[Hashable, ...], frozenset[str]]


@dataclass(frozen=True, slots=True)
class Group:
    """Rules with further checks that look up the same dimensions; tables give positions."""

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
    return index_key(value) if value.__class__ is bool else value


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
        plain_indexed: list[Rule] = []
        checked: list[Rule] = []
        loose: list[Rule] = []
        for r in rules:
            if r.flag in self.always:
                continue
            if r.conditions:
                (checked if r.hashes or r.residuals else plain_indexed).append(r)
            elif not r.residuals and len(r.hashes) == 1:
                plain_hash.append(r)
            else:
                loose.append(r)
        # One rollout per flag: all of a flag's rollouts hash with its salt, so the widest wins.
        widest: dict[str, HashCheck] = {}
        for r in plain_hash:
            check = r.hashes[0]
            if r.flag not in widest or check.threshold > widest[r.flag].threshold:
                widest[r.flag] = check
        self.pct_flags = tuple(widest)
        self.pct_seeds = tuple(c.seed for c in widest.values())
        self.pct_thresholds = tuple(c.threshold for c in widest.values())
        self.pct_positions = {name: i for i, name in enumerate(self.pct_flags)}
        single = [r for r in plain_indexed if len(r.conditions) == 1]
        tables = _single_tables(single)
        self.by_id = tables.pop(ID, None)
        self.by_digit = tables.pop(DIGIT, None)
        self.by_attribute = tuple((d[1], table) for d, table in sorted(tables.items()))
        combined: list[Combined] = []
        intersected: list[Conjunction] = []
        for conjunction in _conjunctions(r for r in plain_indexed if len(r.conditions) > 1):
            table = _combine(conjunction)
            if table is None:
                intersected.append(conjunction)
            else:
                combined.append(table)
        self.combined = tuple(combined)
        self.conjunctions = tuple(intersected)
        self.by_attribute_name = dict(self.by_attribute)
        self.groups = _groups(checked)
        # Most loose rules are one call (a schedule, a custom strategy, one `ne` condition):
        # those are called directly, the per-rule cost of the loop being most of theirs.
        self.single_checks = tuple(
            (r.flag, r.residuals[0].check) for r in loose if not r.hashes and len(r.residuals) == 1
        )
        self.loose = tuple(r for r in loose if r.hashes or len(r.residuals) != 1)
        self.anonymous = tuple(
            r for r in loose if not r.hashes and all(x.anonymous for x in r.residuals)
        )
        self.needs_clock = any(x.timed for r in (*checked, *loose) for x in r.residuals)

    def released(
        self, account: Account | None, at: float, test_user: bool = False
    ) -> Container[str]:
        """The names of the flags on for ``account`` at ``at`` (undefined flags excluded)."""
        if account is None:
            return self._released_anonymous(at)
        if test_user or account.id in self.test_users:
            return self.live
        released = set(self.always)
        id_bytes = account.id.encode("utf-8", "surrogatepass")
        rollouts = b""
        if self.pct_flags:
            hashes = map(mmh3_32_uintdigest, repeat(id_bytes), self.pct_seeds)
            rollouts = bytes(map(lt, hashes, self.pct_thresholds))
        if self.by_id is not None and (hit := self.by_id.get(account.id)):
            released.update(hit)
        number = account.number
        if self.by_digit is not None and number is not None:
            released.update(self.by_digit.get(abs(number) % 10, ()))
        attributes = account.attributes
        # One lookup per attribute the rules test, or per attribute the account has if fewer.
        if len(attributes) < len(self.by_attribute):
            by_name = self.by_attribute_name
            pairs = [(name, table) for name in attributes if (table := by_name.get(name))]
        else:
            pairs = list(self.by_attribute)
        for name, table in pairs:
            value = attributes.get(name)
            if value.__class__ is bool:
                value = index_key(value)
            if value is not None and (hit := _lookup(table, value)):
                released.update(hit)
        for combined in self.combined:
            if attributes.get(combined.attributes[0]) is None:  # no table has None in its keys
                continue
            try:
                hit = combined.table.get(tuple(map(attributes.get, combined.attributes)))
            except TypeError:  # an unhashable attribute value matches no string
                hit = None
            if hit:
                released.update(hit)
        for conjunction in self.conjunctions:
            released.update(_intersect(conjunction.dimensions, conjunction.tables, account))
        for group in self.groups:
            for position in _intersect(group.dimensions, group.tables, account):
                rule = group.rules[position]
                if rule.flag not in released and rule.checks_pass(account, id_bytes, at):
                    released.add(rule.flag)
        for flag, check in self.single_checks:
            if flag not in released and check(account, at):
                released.add(flag)
        for rule in self.loose:
            if rule.flag not in released and rule.checks_pass(account, id_bytes, at):
                released.add(rule.flag)
        if rollouts:
            return Released(released, rollouts, self.pct_positions, self.pct_flags)
        return released

    def _released_anonymous(self, at: float) -> Container[str]:
        if not self.anonymous:
            return self.always
        released = set(self.always)
        for rule in self.anonymous:
            if all(r.check(None, at) for r in rule.residuals):
                released.add(rule.flag)
        return released


class Released:
    """The flags on for one account: a set, and one byte per rollout (1: inside).

    Turning 300 rollout results into set members costs more than computing them, so they
    stay bytes and membership looks them up by position; ``names`` lists them all at C
    speed (``compress``) for whoever wants every value.
    """

    __slots__ = ("_flags", "_names", "_positions", "_rollouts")

    def __init__(
        self,
        names: set[str],
        rollouts: bytes,
        positions: dict[str, int],
        flags: tuple[str, ...],
    ) -> None:
        self._names = names
        self._rollouts = rollouts
        self._positions = positions
        self._flags = flags  # the rollout flags, in the order of ``rollouts``

    def names(self) -> Iterable[str]:
        """Every released name (one may come twice: from the set and from a rollout)."""
        return chain(self._names, compress(self._flags, self._rollouts))

    def __contains__(self, name: object) -> bool:
        if name in self._names:
            return True
        position = self._positions.get(name)  # type: ignore[call-overload]
        return position is not None and self._rollouts[position] == 1


def _intersect(
    dimensions: tuple[Dimension, ...],
    tables: tuple[dict[Hashable, frozenset[T]], ...],
    account: Account,
) -> frozenset[T]:
    """What every table returns for the account's values along its dimension."""
    hits: frozenset[T] | None = None
    for dimension, table in zip(dimensions, tables, strict=True):
        value = _value_of(dimension, account)
        found = None if value is None else _lookup(table, value)
        if not found:
            return frozenset()
        hits = found if hits is None else hits & found
        if not hits:
            return frozenset()
    return hits or frozenset()


def _is_constant(rule: Rule) -> bool:
    return not (rule.conditions or rule.hashes or rule.residuals)


def _inverted(entries: Iterable[tuple[frozenset[Hashable], T]]) -> dict[Hashable, frozenset[T]]:
    """value -> the members whose values include it, from (values, member) entries.

    A value of one member (an id in one allowlist: nearly all of them) shares that member's
    one-element set, and whole value sets go in with C-level dict updates: 1.3 million ids
    compiled in 7.5 s and 340 MiB with a set per value.
    """
    table: dict[Hashable, frozenset[T]] = {}
    shared: dict[Hashable, set[T]] = {}
    for values, member in entries:
        common = table.keys() & values
        for value in common:
            members = shared.get(value)
            if members is None:
                members = shared[value] = set(table[value])
            members.add(member)
        table.update(dict.fromkeys(values - common if common else values, frozenset((member,))))
    for value, members in shared.items():
        table[value] = frozenset(members)
    return table


def _single_tables(rules: Iterable[Rule]) -> dict[Dimension, dict[Hashable, frozenset[str]]]:
    """For one-condition rules: per dimension, value -> flags released by it."""
    by_dimension: defaultdict[Dimension, list[tuple[frozenset[Hashable], str]]] = defaultdict(list)
    for rule in rules:
        condition = rule.conditions[0]
        by_dimension[condition.dimension].append((condition.values, rule.flag))
    return {dimension: _inverted(entries) for dimension, entries in by_dimension.items()}


def _conjunctions(rules: Iterable[Rule]) -> tuple[Conjunction, ...]:
    """Multi-condition rules by dimensions, split so no flag has two rules in one table set."""
    layers: defaultdict[tuple[Dimension, ...], list[tuple[list[Rule], set[str]]]] = defaultdict(
        list
    )
    for rule in rules:
        dims = tuple(c.dimension for c in rule.conditions)
        for layer, flags in layers[dims]:
            if rule.flag not in flags:
                layer.append(rule)
                flags.add(rule.flag)
                break
        else:
            layers[dims].append(([rule], {rule.flag}))
    out = []
    for dims, stack in sorted(layers.items()):
        for layer, _ in stack:
            tables = tuple(
                _inverted((rule.conditions[i].values, rule.flag) for rule in layer)
                for i in range(len(dims))
            )
            out.append(Conjunction(dims, tables))
    return tuple(out)


MAX_COMBINED = 4096


def _combine(conjunction: Conjunction) -> Combined | None:
    """The conjunction as one table, if it is over string attributes and small enough."""
    if any(d[0] != "attr" for d in conjunction.dimensions):
        return None
    if any(not isinstance(v, str) for t in conjunction.tables for v in t):
        return None
    size = 1
    for t in conjunction.tables:
        size *= len(t)
    if size > MAX_COMBINED:
        return None
    table: dict[tuple[Hashable, ...], frozenset[str]] = {(): frozenset()}
    for t in conjunction.tables:
        table = {
            (*key, value): both
            for key, flags in table.items()
            for value, more in t.items()
            if (both := (flags & more) if key else more)
        }
    return Combined(tuple(d[1] for d in conjunction.dimensions), table)


def _groups(rules: Iterable[Rule]) -> tuple[Group, ...]:
    by_dimensions: defaultdict[tuple[Dimension, ...], list[Rule]] = defaultdict(list)
    for rule in rules:
        by_dimensions[tuple(c.dimension for c in rule.conditions)].append(rule)
    groups = []
    for dimensions, members in sorted(by_dimensions.items()):
        tables = tuple(
            _inverted(
                (rule.conditions[i].values, position) for position, rule in enumerate(members)
            )
            for i in range(len(dimensions))
        )
        groups.append(Group(dimensions, tables, tuple(members)))
    return tuple(groups)
