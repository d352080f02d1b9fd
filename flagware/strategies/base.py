"""What a strategy is: the public base class for custom ones, and the compiled pieces.

A strategy answers one question, "does it match this account?". Built-in strategies also
*compile* into pieces the engine can index (an allowlist becomes one dict lookup per
account, whatever the number of flags); custom strategies are called per account.

Every strategy also describes itself to people (:class:`Describes`): its rollout in a few
words, and the fields a form or the command line asks for. The admin panel and the CLI read
that description instead of knowing the types, so a new strategy is one module.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from flagware.account import Account

__all__ = [
    "DIGIT",
    "ID",
    "MAX_LISTED",
    "BuiltinStrategy",
    "Describes",
    "Dimension",
    "FieldKind",
    "HashCheck",
    "IndexedCondition",
    "Piece",
    "Residual",
    "Strategy",
    "StrategyField",
    "attribute_dimension",
    "listed",
    "parameters_text",
]

MAX_LISTED = 3  # values a summary names before it says "+N more"

# How a form shows a field and reads it back: one line of text, a number, a list of typed
# values (comma separated), account ids (one per line), the digits 0-9 (checkboxes), one of
# ``choices``, or an ISO 8601 timestamp.
FieldKind: TypeAlias = Literal["text", "number", "values", "ids", "digits", "choice", "datetime"]


@dataclass(frozen=True, slots=True)
class StrategyField:
    """One parameter of a strategy as people fill it in: the admin panel builds its editor
    from these, so a strategy that declares them needs no template of its own.

    ``name`` is the document key; ``label`` and ``help`` are what the form says; an empty
    field that is not ``required`` is left out of the document (a schedule's ``before``).
    """

    name: str
    label: str
    kind: FieldKind = "text"
    required: bool = True
    help: str = ""
    choices: tuple[str, ...] = ()  # for kind "choice"
    default: str = ""  # what a new strategy's form shows
    placeholder: str = ""
    unit: str = ""  # shown after the input, e.g. "%"


def listed(values: Iterable[Any]) -> str:
    """Values in a summary: ``a, b, c +2 more`` (the first :data:`MAX_LISTED`)."""
    items = [str(v) for v in values]
    shown = ", ".join(items[:MAX_LISTED])
    return shown if len(items) <= MAX_LISTED else f"{shown} +{len(items) - MAX_LISTED} more"


def parameters_text(type_name: str, params: Mapping[str, Any]) -> str:
    """A strategy as its type and parameters: ``region(regions=['EU'])``."""
    return f"{type_name}({', '.join(f'{k}={v!r}' for k, v in params.items())})"


class Describes:
    """What every strategy says about itself to people; the defaults suit a custom one.

    ``fields`` describes the parameters for forms; ``None`` (the default) means "not
    declared", and the panel edits the parameters as JSON. ``()`` declares that there are
    none. ``note`` is a sentence a form shows instead of fields.
    """

    type_name: ClassVar[str] = ""
    fields: ClassVar[tuple[StrategyField, ...] | None] = None
    note: ClassVar[str] = ""

    @classmethod
    def summary(cls, params: Mapping[str, Any]) -> str:
        """The strategy with these parameters in a few words, e.g. ``25% of accounts``.

        The default names the type and its parameters: ``region(regions=['EU'])``.
        """
        return parameters_text(cls.type_name, params)


class Strategy(Describes, abc.ABC):
    """Base class for strategies an application registers itself.

    Subclass it, take the strategy's parameters as typed keyword arguments in ``__init__``
    (they are validated against the annotations when a ruleset is loaded) and implement
    :meth:`matches`. Register the class with :func:`flagware.register_strategy`.

    ``matches`` must be fast, pure and thread-safe: it runs on every request for every
    flag using the strategy. It is never called for anonymous requests, and an exception
    it raises counts as "no match" (and is logged) rather than failing the request.

    To be shown well in the admin panel and the CLI, override ``summary`` and declare
    ``fields`` (see :class:`Describes`); without them the panel edits JSON parameters.
    """

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


class BuiltinStrategy(Describes, BaseModel):
    """Base of the built-in strategies: a validated, immutable pydantic model.

    ``matches_at`` is the reference semantics (used for single-flag checks and reasons);
    ``compile`` states the same rule as pieces for the indexed engine. Both must agree,
    which the test suite checks property by property. Each built-in also declares its
    ``fields`` and its own ``summary`` (a test checks that none is left out).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    type_name: ClassVar[str]

    @abc.abstractmethod
    def matches_at(self, account: Account | None, now: float, salt: str) -> bool:
        """Whether the strategy matches ``account`` at ``now`` (epoch seconds)."""

    @abc.abstractmethod
    def compile(self, salt: str) -> tuple[Piece, ...]:
        """The pieces that must all hold; an empty tuple always holds."""

    def alternatives(self, salt: str) -> tuple[tuple[Piece, ...], ...]:
        """What the engine indexes: the strategy holds where all the pieces of any one
        alternative do. One alternative, :meth:`compile`'s, but for a segment."""
        return (self.compile(salt),)
