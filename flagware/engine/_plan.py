"""A ruleset compiled into indexes, so evaluating every flag costs little more than a lookup.

Each strategy entry becomes a *rule* (:mod:`._rules`), and rules are sorted by what they
need:

- no condition at all: the flag is on for every account, precomputed (``always``);
- only a rollout hash: all such hashes run in one C-level ``map`` (``pct_*``);
- indexed conditions on one dimension and nothing else: a dict from the account's value
  to the flags it releases (``by_id``, ``by_digit``, ``by_attribute``), one lookup each;
- indexed conditions on several dimensions and nothing else: the intersection of one
  lookup per dimension, or one lookup of the value tuple (``conjunctions``, ``combined``);
- indexed conditions with further checks: the lookups give candidate rules, whose checks
  then run (``groups``);
- everything else (custom strategies, schedules, ``ne``/``lt``/``regex`` tests) is
  called per account (``loose``), skipped once its flag is already on.

A request that reads only a few flags asks them one at a time instead (``checks``, one
small function per flag: :mod:`._checkers`), and the whole plan runs only if it reads more.

A plan built with ``previous`` (the plan of the ruleset before a change) recompiles only
the flags that changed (a flag is the same object while unchanged: see
``Ruleset.from_dict(previous=...)``) and rebuilds only the indexes they are in; a
one-condition index is patched instead. The plain semantics live in
:mod:`flagware.engine._reference`; the two must agree, however the plan was built.
"""

from __future__ import annotations

from collections.abc import Container, Hashable, Iterable, Mapping
from itertools import chain, compress, repeat
from operator import lt
from typing import TYPE_CHECKING, Any, TypeVar

from mmh3 import mmh3_32_uintdigest

from flagware.engine import _tables
from flagware.engine._checkers import Checkers
from flagware.engine._gates import apply_gates, gates_of
from flagware.engine._rules import ALWAYS, LOOSE, PERCENT, Kind, Rule, compile_flag, kinds_of
from flagware.engine._tables import (
    Combined,
    Conjunction,
    Group,
    conjunctions,
    patched_table,
    single_table,
)
from flagware.strategies.base import DIGIT, ID, Dimension, HashCheck
from flagware.strategies.conditions import index_key

if TYPE_CHECKING:
    from flagware.account import Account
    from flagware.ruleset import Flag, Ruleset

__all__ = ["Plan"]

T = TypeVar("T")
Members = dict[str, tuple[Rule, ...]]  # flag -> its rules of one kind
# Past this share of changed flags, building the plan afresh is as cheap as patching it.
REBUILD_SHARE = 0.25


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
    """The compiled, indexed form of a ruleset; ``released`` is the hot path.

    :param previous: the plan of an earlier ruleset, whose unchanged flags keep their
        compiled rules and whose untouched indexes are shared.
    """

    def __init__(self, ruleset: Ruleset, previous: Plan | None = None) -> None:
        self.ruleset = ruleset
        flags = ruleset.flags
        self.defined = frozenset(flags)
        self.test_users = ruleset.test_users
        self._flags: Mapping[str, Flag] = flags
        changed = None if previous is None else _changed(previous._flags, flags)
        self.changed = changed
        """The flags that differ from ``previous``'s (None without one)."""
        self.live: frozenset[str] = (
            frozenset(name for name, flag in flags.items() if flag.enabled)
            if previous is None or changed is None
            else _live_after(previous.live, changed, flags)
        )
        """The flags that are not kill-switched."""
        if previous is None or changed is None or len(changed) > REBUILD_SHARE * len(flags) + 4:
            self._kinds = {name: kinds_of(compile_flag(flag)) for name, flag in flags.items()}
            self._members: dict[Kind, Members] = {}
            for name, kinds in self._kinds.items():
                for kind, rules in kinds.items():
                    self._members.setdefault(kind, {})[name] = rules
            self._parts: dict[Kind, Any] = {
                kind: _build(kind, members) for kind, members in self._members.items()
            }
        else:
            self._update(previous, changed)
        self._publish()
        self.gates = gates_of(flags)
        """The flags with prerequisites, each after those it requires (``_gates``)."""
        self.checks = Checkers(self._kinds, ruleset.unknown == "released", flags)
        """Flag name -> its checker, for reading one flag (compiled on first use)."""
        if previous is not None and changed is not None:  # unchanged flags keep theirs
            self.checks.update(previous.checks)
            for name in chain(changed, (name for name, _ in self.gates)):
                self.checks.pop(name, None)  # a gated flag's checker reads other flags

    def _update(self, previous: Plan, changed: list[str]) -> None:
        """Recompile the changed flags; rebuild (or patch) only the indexes they are in."""
        self._kinds = dict(previous._kinds)
        self._members = dict(previous._members)
        self._parts = dict(previous._parts)
        touched: dict[Kind, dict[str, tuple[tuple[Rule, ...], tuple[Rule, ...]]]] = {}
        for name in changed:
            before = self._kinds.pop(name, {})
            flag = self._flags.get(name)
            after = kinds_of(compile_flag(flag)) if flag is not None else {}
            if flag is not None:
                self._kinds[name] = after
            for kind in before.keys() | after.keys():
                touched.setdefault(kind, {})[name] = (before.get(kind, ()), after.get(kind, ()))
        for kind, edits in touched.items():
            members = dict(self._members.get(kind, {}))
            for name, (_, rules) in edits.items():
                members.pop(name, None)
                if rules:
                    members[name] = rules
            if not members:
                self._members.pop(kind, None)
                self._parts.pop(kind, None)
                continue
            self._members[kind] = members
            old = self._parts.get(kind)
            if kind[0] == "single" and old is not None:
                for name, (was, now) in edits.items():
                    old = patched_table(old, name, was, now)
                self._parts[kind] = old
            elif kind == PERCENT and old is not None:
                widest = dict(old)
                for name, (_, rules) in edits.items():
                    widest.pop(name, None)
                    if rules:
                        widest[name] = _widest(rules)
                self._parts[kind] = widest
            else:
                self._parts[kind] = _build(kind, members)

    def _publish(self) -> None:
        """The attributes ``released`` reads, from the parts."""
        parts = self._parts
        self.always: frozenset[str] = parts.get(ALWAYS, frozenset())
        widest: dict[str, HashCheck] = parts.get(PERCENT, {})
        self.pct_flags = tuple(widest)
        self.pct_seeds = tuple(c.seed for c in widest.values())
        self.pct_thresholds = tuple(c.threshold for c in widest.values())
        self.pct_positions = {name: i for i, name in enumerate(self.pct_flags)}
        singles = sorted(k for k in parts if k[0] == "single")
        self.by_id: dict[Hashable, frozenset[str]] | None = parts.get(("single", ID))
        self.by_digit: dict[Hashable, frozenset[str]] | None = parts.get(("single", DIGIT))
        self.by_attribute = tuple(
            (dim[1], parts[(kind, dim)]) for kind, dim in singles if dim not in (ID, DIGIT)
        )
        self.by_attribute_name = dict(self.by_attribute)
        multi = [parts[k] for k in sorted(k for k in parts if k[0] == "conjunction")]
        self.combined: tuple[Combined, ...] = tuple(chain.from_iterable(c for c, _ in multi))
        self.conjunctions: tuple[Conjunction, ...] = tuple(chain.from_iterable(i for _, i in multi))
        self.groups: tuple[Group, ...] = tuple(
            parts[k] for k in sorted(k for k in parts if k[0] == "group")
        )
        loose: tuple[Rule, ...] = parts.get(LOOSE, ())
        # Most loose rules are one call (a schedule, a custom strategy, one `ne` condition):
        # those are called directly, the per-rule cost of the loop being most of theirs.
        self.single_checks = tuple(
            (r.flag, r.residuals[0].check) for r in loose if not r.hashes and len(r.residuals) == 1
        )
        self.loose = tuple(r for r in loose if r.hashes or len(r.residuals) != 1)
        self.anonymous = tuple(
            r for r in loose if not r.hashes and all(x.anonymous for x in r.residuals)
        )
        checked = chain(loose, *(g.rules for g in self.groups))
        self.needs_clock = any(x.timed for r in checked for x in r.residuals)

    def released(
        self,
        account: Account | None,
        at: float,
        test_user: bool = False,
        known: Mapping[str, bool] | None = None,
    ) -> Container[str]:
        """The names of the flags on for ``account`` at ``at`` (undefined flags excluded).

        ``known``: names already answered one at a time (``checks``) for this account and
        instant; they keep their answers, and their rules are not run again (a custom
        strategy is called once per flag per request).
        """
        if account is None:
            return self._released_anonymous(at)
        if test_user or account.id in self.test_users:
            return self.live
        released = set(self.always)
        if known:
            released.update(known)  # the loops below skip a flag already in ``released``
        id_bytes = account.id.encode("utf-8", "surrogatepass")
        rollouts: bytes | bytearray = b""
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
        if known:
            rollouts = self._keep_known(released, rollouts, known)
        if self.gates:
            rollouts = self._gate(released, rollouts, account, known)
        if rollouts:
            return Released(released, rollouts, self.pct_positions, self.pct_flags)
        return released

    def _keep_known(
        self, released: set[str], rollouts: bytes | bytearray, known: Mapping[str, bool]
    ) -> bytes | bytearray:
        """Take the flags already answered "off" (or undefined) out of ``released`` and
        the rollout bytes (a gated flag's rollout may hold while its prerequisites do not)."""
        defined = self.defined
        off = [n for n, on in known.items() if not on or n not in defined]
        released.difference_update(off)
        positions = self.pct_positions
        hits = [p for n in off if (p := positions.get(n)) is not None and rollouts[p]]
        if not hits:
            return rollouts
        mutable = bytearray(rollouts)
        for position in hits:
            mutable[position] = 0
        return mutable

    def _gate(
        self,
        released: set[str],
        rollouts: bytes | bytearray,
        account: Account,
        known: Mapping[str, bool] | None,
    ) -> bytearray:
        """Take out the flags whose prerequisites do not hold (a flag already answered one
        at a time keeps its answer); the rollout bytes, as a copy with theirs cleared."""
        gates = self.gates if not known else tuple(g for g in self.gates if g[0] not in known)
        mutable = bytearray(rollouts)
        apply_gates(gates, released, mutable, self.pct_positions, account)
        return mutable

    def is_released(
        self, name: str, account: Account | None, at: float, test_user: bool = False
    ) -> bool:
        """Whether the defined flag ``name`` is on for ``account`` at ``at``: its cost only."""
        if account is None:
            return name in self._released_anonymous(at)
        if test_user or account.id in self.test_users:
            return name in self.live
        return self.checks[name](account, at)

    def _released_anonymous(self, at: float) -> Container[str]:
        if not self.anonymous and not self.gates:
            return self.always
        released = set(self.always)
        for rule in self.anonymous:
            if all(r.check(None, at) for r in rule.residuals):
                released.add(rule.flag)
        if self.gates:
            apply_gates(self.gates, released, bytearray(), {}, None)
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
        rollouts: bytes | bytearray,
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


def _changed(before: Mapping[str, Flag], after: Mapping[str, Flag]) -> list[str]:
    """The names whose flag is not the same object in both (added and removed included).

    Flags compare by identity, so the set difference of the items runs at C speed.
    """
    return list({name for name, _ in before.items() ^ after.items()})


def _live_after(
    before: frozenset[str], changed: Iterable[str], flags: Mapping[str, Flag]
) -> frozenset[str]:
    """The enabled flags of ``flags``, from ``before`` (those of a ruleset that differs
    only in the ``changed`` flags): the cost of those flags, not of the ruleset."""
    on = {name for name in changed if (flag := flags.get(name)) is not None and flag.enabled}
    return (before - set(changed)) | on


def _widest(rules: Iterable[Rule]) -> HashCheck:
    """A flag's rollouts all hash with its salt, so the widest one is the one that counts."""
    return max((rule.hashes[0] for rule in rules), key=lambda check: check.threshold)


def _build(kind: Kind, members: Members) -> Any:
    """The index of one kind of rule, from every flag's rules of that kind."""
    if kind == ALWAYS:
        return frozenset(members)
    if kind == PERCENT:
        return {name: _widest(rules) for name, rules in members.items()}
    if kind == LOOSE:
        return tuple(chain.from_iterable(members.values()))
    family, dimensions = kind
    if family == "single":
        return single_table(members)
    if family == "conjunction":
        return conjunctions(dimensions, members)
    return _tables.group(dimensions, members)
