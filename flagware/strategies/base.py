"""What a strategy is: the public base class for custom ones, and the compiled pieces.

A strategy answers one question, "does it match this account?". Built-in strategies also
*compile* into pieces the engine can index (an allowlist becomes one dict lookup per
account, whatever the number of flags); custom strategies are called per account.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, TypeAlias

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from flagware.account import Account

__all__ = [
    "DIGIT",
    "ID",
    "BuiltinStrategy",
    "Dimension",
    "HashCheck",
    "IndexedCondition",
    "Piece",
    "Residual",
    "Strategy",
    "attribute_dimension",
]


class Strategy(abc.ABC):
    """Base class for strategies an application registers itself.

    Subclass it, take the strategy's parameters as typed keyword arguments in ``__init__``
    (they are validated against the annotations when a ruleset is loaded) and implement
    :meth:`matches`. Register the class with :func:`flagware.register_strategy`.

    ``matches`` must be fast, pure and thread-safe: it runs on every request for every
    flag using the strategy. It is never called for anonymous requests, and an exception
    it raises counts as "no match" (and is logged) rather than failing the request.
    """

    type_name: ClassVar[str] = ""

    @abc.abstractmethod
    def matches(self, account: Account) -> bool:
        """Whether this strategy releases the flag to ``account``."""


# What an indexed condition looks up on the account: its id, the last digit of its
# number, or one of its attributes.
Dimension: TypeAlias = tuple[str, ...]
ID: Dimension = ("id",)
DIGIT: Dimension = ("digit",)


def attribute_dimension(name: str) -> Dimension:
    """The dimension of an account attribute."""
    return ("attr", name)


@dataclass(frozen=True, slots=True)
class IndexedCondition:
    """Holds when the account's value along ``dimension`` is one of ``values``."""

    dimension: Dimension
    values: frozenset[Hashable]


@dataclass(frozen=True, slots=True)
class HashCheck:
    """Holds when the account's raw rollout hash under ``seed`` is below ``threshold``."""

    seed: int
    threshold: int


@dataclass(frozen=True, slots=True)
class Residual:
    """A condition only a function call can decide, given the account and the time."""

    check: Callable[[Account | None, float], bool]
    anonymous: bool = False  # whether it can hold without an account (schedules only)
    timed: bool = False  # whether it reads the time (the engine then reads the clock)


Piece: TypeAlias = IndexedCondition | HashCheck | Residual


class BuiltinStrategy(BaseModel):
    """Base of the built-in strategies: a validated, immutable pydantic model.

    ``matches_at`` is the reference semantics (used for single-flag checks and reasons);
    ``compile`` states the same rule as pieces for the indexed engine. Both must agree,
    which the test suite checks property by property.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    type_name: ClassVar[str]

    @abc.abstractmethod
    def matches_at(self, account: Account | None, now: float, salt: str) -> bool:
        """Whether the strategy matches ``account`` at ``now`` (epoch seconds)."""

    @abc.abstractmethod
    def compile(self, salt: str) -> tuple[Piece, ...]:
        """The pieces that must all hold; an empty tuple always holds."""
