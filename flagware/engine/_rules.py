"""One strategy entry of one flag compiled into a rule, and the part of the plan it goes in.

A rule is what must hold for its flag to be on: indexed conditions (the account's id, last
digit or an attribute is one of a set of values), rollout hash checks, and residual checks
only a call can decide. Where a rule goes in the plan depends on that mix alone
(:func:`kind_of`), so each flag's rules are compiled once and kept while the flag is
unchanged.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mmh3 import mmh3_32_uintdigest

from flagware.strategies.base import Dimension, HashCheck, IndexedCondition, Piece, Residual
from flagware.strategies.calling import alternatives_of

if TYPE_CHECKING:
    from flagware.account import Account
    from flagware.ruleset import Flag, StrategySpec

__all__ = ["ALWAYS", "LOOSE", "PERCENT", "Kind", "Rule", "compile_flag", "kinds_of"]

# Where a rule goes in the plan: a constant (the flag is on for everyone), one rollout
# hash, indexed conditions on one dimension, on several, indexed conditions with further
# checks, or anything else (called per account).
Kind = tuple[Any, ...]  # ("single", dimension), ("group", dimensions), ALWAYS, ...
ALWAYS: Kind = ("always",)
PERCENT: Kind = ("percent",)
LOOSE: Kind = ("loose",)


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

    @property
    def kind(self) -> Kind:
        """The part of the plan this rule goes in (a constant rule is ``ALWAYS``)."""
        if self.conditions:
            dims = tuple(c.dimension for c in self.conditions)
            if self.hashes or self.residuals:
                return ("group", dims)
            return ("single", dims[0]) if len(dims) == 1 else ("conjunction", dims)
        if not self.residuals:
            if not self.hashes:
                return ALWAYS
            if len(self.hashes) == 1:
                return PERCENT
        return LOOSE


def _rule(flag: Flag, pieces: tuple[Piece, ...]) -> Rule | None:
    """Compile one alternative of an entry into a rule, or None if it can never match."""
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


def _rules_of(flag: Flag, spec: StrategySpec) -> Iterator[Rule]:
    """The rules of one strategy entry: one, or one per strategy of a segment."""
    for pieces in alternatives_of(spec, flag.rollout_salt):
        rule = _rule(flag, pieces)
        if rule is not None:
            yield rule


def compile_flag(flag: Flag) -> tuple[Rule, ...]:
    """The rules of a flag that is on (a killed flag has none)."""
    if not flag.enabled:
        return ()
    return tuple(rule for spec in flag.strategies for rule in _rules_of(flag, spec))


def kinds_of(rules: tuple[Rule, ...]) -> dict[Kind, tuple[Rule, ...]]:
    """A flag's rules by the part of the plan each goes in; a constant rule makes the
    others moot (the flag is on for everyone).

    The rollout index keeps one hash per flag, the widest, which is right for rollouts
    that share a salt: a rollout salted otherwise (a segment's) goes with the loose rules.
    """
    by_kind: dict[Kind, list[Rule]] = {}
    for rule in rules:
        kind = rule.kind
        if kind == ALWAYS:
            return {ALWAYS: (rule,)}
        by_kind.setdefault(kind, []).append(rule)
    rollouts = by_kind.get(PERCENT)
    if rollouts and len({r.hashes[0].seed for r in rollouts}) > 1:
        seed = rollouts[0].hashes[0].seed
        by_kind[PERCENT] = [r for r in rollouts if r.hashes[0].seed == seed]
        by_kind.setdefault(LOOSE, []).extend(r for r in rollouts if r.hashes[0].seed != seed)
    return {kind: tuple(members) for kind, members in by_kind.items()}
