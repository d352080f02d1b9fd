"""How many accounts a change to a ruleset turns on or off, counted over a sample.

Both rulesets are compiled and every sampled account is evaluated against each, at one
instant, for each flag the change touches: the counts are what the engine will answer for
those accounts. Whether they hold for the population the sample stands for depends on what
changed, which :attr:`FlagImpact.exact` tells.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from flagware.account import Account
from flagware.engine import Engine
from flagware.ruleset import Ruleset
from flagware.ruleset.dependencies import affected_flags
from flagware.ruleset.documents import canonical_json

__all__ = ["EXACT_TYPES", "FlagImpact", "Impact", "preview_change"]

EXACT_TYPES = frozenset({"accounts", "last_digit", "everyone"})
"""Strategy types decided by an account's id or number alone: a change made only of these
(and of the kill switch) gives counts that are exact for the accounts sampled and do not
depend on the sample's attributes or on the hash of a percentage bucket."""

Status = Literal["changed", "added", "removed"]


def _percent(part: int, whole: int) -> str:
    if not whole:
        return "- %"
    share = 100 * part / whole
    return "<0.1 %" if 0 < share < 0.05 else f"{share:.1f} %"


@dataclass(frozen=True)
class FlagImpact:
    """One flag's change, over the sampled accounts (test users left out)."""

    flag: str
    status: Status
    sampled: int
    on_before: int
    on_after: int
    turned_on: int
    turned_off: int
    exact: bool

    @property
    def net(self) -> int:
        """Accounts on after minus on before."""
        return self.on_after - self.on_before

    def __str__(self) -> str:
        """``new_checkout: +1,204 accounts (5.0 % -> 25.0 % of 6,021 sampled), estimated``."""
        if self.turned_on and self.turned_off:
            moved = f"+{self.turned_on:,} / -{self.turned_off:,} accounts"
        elif self.turned_off:
            moved = f"-{self.turned_off:,} accounts"
        else:
            moved = f"+{self.turned_on:,} accounts"
        shares = (
            f"{_percent(self.on_before, self.sampled)} -> "
            f"{_percent(self.on_after, self.sampled)} of {self.sampled:,} sampled"
        )
        label = "" if self.status == "changed" else f" ({self.status})"
        return f"{self.flag}{label}: {moved} ({shares}), {'exact' if self.exact else 'estimated'}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return {
            "flag": self.flag,
            "status": self.status,
            "sampled": self.sampled,
            "on_before": self.on_before,
            "on_after": self.on_after,
            "turned_on": self.turned_on,
            "turned_off": self.turned_off,
            "net": self.net,
            "exact": self.exact,
        }


@dataclass(frozen=True)
class Impact:
    """Every changed flag's :class:`FlagImpact`, by name."""

    flags: Mapping[str, FlagImpact]
    sampled: int  # accounts counted (test users left out)
    test_users: int  # sampled accounts that are test users: they see every flag anyway
    at: float  # the instant both rulesets were evaluated at

    def __str__(self) -> str:
        if not self.flags:
            return "no flag changes"
        lines = [str(impact) for impact in self.flags.values()]
        if self.test_users:
            lines.append(f"({self.test_users:,} test users in the sample not counted)")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return {
            "sampled": self.sampled,
            "test_users": self.test_users,
            "flags": [impact.to_dict() for impact in self.flags.values()],
        }


def _strategy_docs(ruleset: Ruleset, name: str) -> list[dict[str, Any]]:
    flag = ruleset.flags.get(name)
    return [] if flag is None else [s._shared_dict() for s in flag.strategies]


def _is_exact(before: Ruleset, after: Ruleset, name: str) -> bool:
    """Whether every strategy the change adds or removes is decided by id or number (a
    flag reached through a segment or a prerequisite is estimated)."""
    if (
        name in before.flags
        and name in after.flags
        and (before.flags[name]._canonical == after.flags[name]._canonical)
    ):
        return False
    old = {canonical_json(s): s for s in _strategy_docs(before, name)}
    new = {canonical_json(s): s for s in _strategy_docs(after, name)}
    differing = [old[k] for k in old.keys() - new.keys()] + [new[k] for k in new.keys() - old]
    return all(s.get("type") in EXACT_TYPES and not s.get("when") for s in differing)


def changed_flags(before: Ruleset, after: Ruleset) -> dict[str, Status]:
    """The flags whose documents differ between the two rulesets, in the after's order."""
    found: dict[str, Status] = {}
    for name, flag in after.flags.items():
        old = before.flags.get(name)
        if old is None:
            found[name] = "added"
        elif old is not flag and old._canonical != flag._canonical:
            found[name] = "changed"
    for name in before.flags:
        if name not in after.flags:
            found[name] = "removed"
    # A flag whose document is the same can still change: through a segment or a prerequisite.
    for name in affected_flags(before._shared_document(), after._shared_document(), found):
        found[name] = "changed"
    return {name: found[name] for name in [*after.flags, *before.flags] if name in found}


def preview_change(
    before: Ruleset,
    after: Ruleset | Mapping[str, Any],
    accounts: Iterable[Account],
    *,
    flags: Iterable[str] | None = None,
    now: float | datetime | None = None,
) -> Impact:
    """What saving ``after`` over ``before`` would do to the ``accounts`` sampled.

    ``after`` may be a document, validated here (a :class:`flagware.RulesetError` if it is
    invalid). ``flags`` limits the preview to those names (default: every flag whose
    document differs). Accounts either ruleset lists as test users are not counted: they
    see every flag that is not kill-switched whatever the change. A removed flag counts as
    what the code would then read, the ``unknown`` policy's answer. Nothing is written.
    """
    new = after if isinstance(after, Ruleset) else Ruleset.from_dict(after)
    statuses = changed_flags(before, new)
    if flags is not None:
        wanted = list(flags)
        statuses = {n: statuses.get(n, "changed") for n in wanted}
    at = time.time() if now is None else now.timestamp() if isinstance(now, datetime) else now
    old_engine, new_engine = Engine(before), Engine(new)
    testers = before.test_users | new.test_users
    names = list(statuses)
    counts = {name: [0, 0, 0, 0] for name in names}  # on before, on after, turned on, off
    sampled = skipped = 0
    for account in accounts:
        if account.id in testers:
            skipped += 1
            continue
        sampled += 1
        for name in names:
            was = old_engine.is_released_to(name, account, now=at)
            will = new_engine.is_released_to(name, account, now=at)
            tally = counts[name]
            tally[0] += was
            tally[1] += will
            if was != will:
                tally[2 if will else 3] += 1
    return Impact(
        {
            name: FlagImpact(
                name,
                statuses[name],
                sampled,
                on_before=counts[name][0],
                on_after=counts[name][1],
                turned_on=counts[name][2],
                turned_off=counts[name][3],
                exact=_is_exact(before, new, name),
            )
            for name in names
        },
        sampled,
        skipped,
        at,
    )
