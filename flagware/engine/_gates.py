"""Prerequisites in the plan: a flag whose prerequisites do not hold is taken back out.

The plan first releases every flag by its own strategies, as if no flag had
prerequisites; then, for the flags that have some (*gated* flags), in an order where each
comes after the flags it requires, it removes those whose prerequisites are not on (or on
as another variant). A request pays for the gated flags only, and nothing when there are
none. A single flag's checker does the same for the flags it depends on, each once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from flagware.engine._reference import variant_for

if TYPE_CHECKING:
    from flagware.account import Account
    from flagware.ruleset import Flag

__all__ = ["Gate", "apply_gates", "closure", "gates_of", "requirements_hold", "requirements_of"]

# The flag required, its definition, and the variant it must give (None: any).
Requirement = tuple[str, "Flag | None", str | None]
Gate = tuple[str, tuple[Requirement, ...]]


def requirements_of(flag: Flag, flags: Mapping[str, Flag]) -> tuple[Requirement, ...]:
    """What ``flag`` requires; a flag it names that is not defined (a Ruleset built by
    hand, not validated) is required as ``None``, which never holds."""
    return tuple((p.flag, flags.get(p.flag), p.variant) for p in flag.prerequisites)


def closure(names: list[str], flags: Mapping[str, Flag]) -> list[str]:
    """``names`` and every flag they require, each after the flags it requires (a
    validated ruleset has no cycles, and chains of at most ``MAX_CHAIN`` flags)."""
    order: list[str] = []
    placed: set[str] = set()

    def place(name: str) -> None:
        if name in placed:
            return
        placed.add(name)
        flag = flags.get(name)
        if flag is None:
            return
        for p in flag.prerequisites:
            place(p.flag)
        order.append(name)

    for name in names:
        place(name)
    return order


def gates_of(flags: Mapping[str, Flag]) -> tuple[Gate, ...]:
    """The gated flags with what each requires, in an order where each comes after the
    gated flags it requires."""
    gated = [name for name, flag in flags.items() if flag.prerequisites]
    if not gated:
        return ()
    return tuple(
        (name, requirements_of(flags[name], flags))
        for name in closure(gated, flags)
        if flags[name].prerequisites
    )


def requirements_hold(
    requirements: tuple[Requirement, ...], on: Callable[[str], bool], account: Account | None
) -> bool:
    """Whether every required flag is ``on`` (and gives ``account`` the variant named)."""
    for required, flag, variant in requirements:
        if flag is None or not on(required):
            return False
        if variant is not None and variant_for(flag, account) != variant:
            return False
    return True


def apply_gates(
    gates: tuple[Gate, ...],
    released: set[str],
    rollouts: bytearray,
    positions: Mapping[str, int],
    account: Account | None,
) -> None:
    """Take out of ``released`` (and ``rollouts``, one byte per rollout flag at
    ``positions``) each gated flag whose prerequisites do not hold."""

    def on(name: str) -> bool:
        if name in released:
            return True
        position = positions.get(name)
        return position is not None and rollouts[position] == 1

    for name, requirements in gates:
        if on(name) and not requirements_hold(requirements, on, account):
            released.discard(name)
            position = positions.get(name)
            if position is not None:
                rollouts[position] = 0
