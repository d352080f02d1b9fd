"""The plain, unindexed meaning of a ruleset, one flag at a time.

This is the specification the indexed :mod:`flagware.engine._plan` must agree with: it answers
single-flag questions (:meth:`Engine.is_released_to`), explains decisions (reasons), and
serves as the oracle in the property tests that compare it with the plan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flagware.strategies import hashing
from flagware.strategies.calling import call_custom, entry_matches

if TYPE_CHECKING:
    from flagware.account import Account
    from flagware.ruleset import Flag, Ruleset, StrategySpec

__all__ = ["call_custom", "decide", "spec_matches", "variant_for"]


def spec_matches(spec: StrategySpec, flag: Flag, account: Account | None, now: float) -> bool:
    """Whether one strategy entry (with its ``when`` conditions) matches."""
    return entry_matches(spec, account, now, flag.rollout_salt)


def decide(
    ruleset: Ruleset, name: str, account: Account | None, now: float, *, test_user: bool = False
) -> tuple[bool, str]:
    """Whether flag ``name`` is on for ``account`` at ``now``, and the reason why.

    ``test_user`` treats the account as a test user even if the ruleset does not list it
    (the application identified it as one).
    """
    return _decide(ruleset, name, account, now, test_user, {})


def _decide(  # noqa: PLR0917 - decide's arguments, and what the prerequisites found
    ruleset: Ruleset,
    name: str,
    account: Account | None,
    now: float,
    test_user: bool,
    seen: dict[str, bool],
) -> tuple[bool, str]:
    flag = ruleset.flags.get(name)
    if flag is None:
        return ruleset.unknown == "released", f"not in ruleset: unknown={ruleset.unknown}"
    if not flag.enabled:
        return False, "kill switch: enabled is false"
    if account is not None and (test_user or account.id in ruleset.test_users):
        return True, "test user"
    for i, required in enumerate(flag.prerequisites):
        if required.flag not in ruleset.flags:  # only in a Ruleset built by hand
            return False, f"prerequisite {required.flag} is not defined (prerequisites[{i}])"
        on = seen.get(required.flag)
        if on is None:  # each flag once, however many flags require it
            on = seen[required.flag] = _decide(ruleset, required.flag, account, now, False, seen)[0]
        if not on:
            return False, f"prerequisite {required.flag} is off (prerequisites[{i}])"
        if required.variant is not None:
            variant = variant_for(ruleset.flags[required.flag], account)
            if variant != required.variant:
                return False, (
                    f"prerequisite {required.flag} is variant {variant}, not "
                    f"{required.variant} (prerequisites[{i}])"
                )
    for i, spec in enumerate(flag.strategies):
        if spec_matches(spec, flag, account, now):
            return True, f"strategy {spec.type} matched (strategies[{i}])"
    if not flag.strategies:
        return False, "no strategies: test users only"
    if account is None:
        return False, "no strategy matched an anonymous request"
    return False, "no strategy matched"


def variant_for(flag: Flag, account: Account | None) -> str | None:
    """The variant of a *released* flag: a stable weighted pick, or None without variants.

    Variants are in name order. An anonymous request has no id to bucket, so it gets the
    first.
    """
    if not flag.variants:
        return None
    if account is None:
        return flag.variants[0][0]
    point = hashing.bucket(hashing.variant_salt(flag.rollout_salt), account.id)
    cumulative = 0.0
    for name, weight in flag.variants:
        cumulative += weight
        if point < round(cumulative * 100):
            return name
    return flag.variants[-1][0]
