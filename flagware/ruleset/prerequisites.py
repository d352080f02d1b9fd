"""Prerequisites: a flag that is on only where other flags are (optionally as one variant).

``prerequisites: [{flag: new_checkout}, {flag: pricing, variant: annual}]`` keeps a flag
off for an account unless every listed flag is on for it (and gives it that variant).
Test users are the exception, as everywhere: they see every flag that is not killed.
Whether the flags named exist, have the variant, and form no cycle is a question about
the whole ruleset, checked by :func:`prerequisite_problems` once the flags are valid.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from flagware.ruleset.documents import FLAG_NAME, VARIANT_NAME

if TYPE_CHECKING:
    from flagware.ruleset.flag import Flag

__all__ = [
    "MAX_CHAIN",
    "MAX_PREREQUISITES",
    "Prerequisite",
    "PrerequisiteModel",
    "prerequisite_problems",
]

MAX_PREREQUISITES = 10
"""Prerequisites one flag may list."""
MAX_CHAIN = 8
"""Flags in the longest chain of prerequisites (a flag, what it requires, what that
requires...): each link is one more flag evaluated before the one read."""


class PrerequisiteModel(BaseModel):
    """One entry of a flag's ``prerequisites`` list."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    flag: Annotated[StrictStr, Field(pattern=FLAG_NAME, description="The flag required on.")]
    variant: (
        Annotated[StrictStr, Field(pattern=VARIANT_NAME, description="The variant required.")]
        | None
    ) = None


@dataclass(frozen=True, slots=True)
class Prerequisite:
    """The flag ``flag`` must be on for the account (as ``variant``, if one is named)."""

    flag: str
    variant: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The document form: ``{"flag": ..., "variant": ...}``, variant left out if None."""
        if self.variant is None:
            return {"flag": self.flag}
        return {"flag": self.flag, "variant": self.variant}

    def describe(self) -> str:
        """``pricing`` or ``pricing = annual``, as the panel and the CLI show it."""
        return self.flag if self.variant is None else f"{self.flag} = {self.variant}"


def _unknown(
    flags: Mapping[str, Flag], named: Set[Any], name: str, i: int, p: Prerequisite
) -> str | None:
    """What is wrong with one entry on its own, or None (also when it names a flag the
    document defines but that was refused: that flag's own problems say why)."""
    path = f"flags.{name}.prerequisites[{i}]"
    if p in flags[name].prerequisites[:i]:
        return f"{path}: listed twice"
    if p.flag == name:
        return f"{path}.flag: a flag cannot require itself"
    required = flags.get(p.flag)
    if required is None:
        if p.flag in named:
            return None
        return f"{path}.flag: unknown flag {p.flag!r} (a prerequisite must be defined)"
    if p.variant is not None and p.variant not in dict(required.variants):
        have = ", ".join(v for v, _ in required.variants) or "none"
        return f"{path}.variant: flag {p.flag!r} has no variant {p.variant!r} (it has: {have})"
    return None


def prerequisite_problems(flags: Mapping[str, Flag], named: Set[Any] | None = None) -> list[str]:
    """Every prerequisite naming a missing flag or variant, every cycle, and every chain
    longer than :data:`MAX_CHAIN`, as ``path: message`` lines.

    ``named``: every flag name in the document, ``flags`` being those that are valid; a
    prerequisite on a refused flag is not reported again (default: ``flags``' names)."""
    named = flags.keys() if named is None else named
    gated = {name: flag.prerequisites for name, flag in flags.items() if flag.prerequisites}
    if not gated:
        return []
    problems = [
        line
        for name, prerequisites in gated.items()
        for i, p in enumerate(prerequisites)
        if (line := _unknown(flags, named, name, i, p)) is not None
    ]
    if problems:
        return problems
    # Depth-first, remembering each flag's longest chain; a flag met again while still on
    # the path closes a cycle. The flags of a walk that found a problem are not walked
    # again: a cycle, or a chain too long, is reported once.
    chain: dict[str, int] = {}
    bad: set[str] = set()
    for start in gated:
        path: list[str] = []
        problem = _walk(start, gated, chain, path, bad)
        bad.update(path)
        if problem:
            problems.append(problem)
    return problems


def _walk(
    name: str,
    gated: Mapping[str, tuple[Prerequisite, ...]],
    chain: dict[str, int],
    path: list[str],
    bad: set[str],
) -> str | None:
    """Fill ``chain[name]`` (the flags in its longest chain), or say what is wrong (``""``
    if it was said already); never deeper than :data:`MAX_CHAIN`, so a hostile chain of
    50,000 flags costs no recursion."""
    if name in bad:
        return ""
    if name in path:
        cycle = [*path[path.index(name) :], name]
        first = cycle[0]
        i = next(i for i, p in enumerate(gated[first]) if p.flag == cycle[1])
        return f"flags.{first}.prerequisites[{i}].flag: prerequisites form a cycle: " + (
            " -> ".join(cycle)
        )
    known = chain.get(name)
    if known is None and len(path) < MAX_CHAIN:
        path.append(name)
        longest = 0
        for p in gated.get(name, ()):
            problem = _walk(p.flag, gated, chain, path, bad)
            if problem is not None:
                return problem
            longest = max(longest, chain[p.flag])
        path.pop()
        known = chain[name] = longest + 1
    if known is None or len(path) + known > MAX_CHAIN:
        return (
            f"flags.{path[0] if path else name}.prerequisites: a chain of prerequisites may "
            f"hold at most {MAX_CHAIN} flags ({' -> '.join([*path, name])} -> ...)"
        )
    return None
