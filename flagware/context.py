"""The current request's flags, in a context variable.

The middleware activates a :class:`FlagSet` for each request; handlers read it through
``flagware.flags`` or :func:`current_flags`. Tests and background jobs activate one with
:func:`use_flags`. Every activation is undone when its block ends (``var.reset(token)``),
so flags never leak into the next request on the same thread or task.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, NoReturn

from flagware.engine.flagset import Evaluation, FlagSet
from flagware.errors import NoFlagContext
from flagware.ruleset import UnknownPolicy

if TYPE_CHECKING:
    from flagware.account import Account

__all__ = ["current_flags", "flags", "flags_var", "use_flags"]

flags_var: ContextVar[FlagSet] = ContextVar("flagware.flags")


def current_flags() -> FlagSet:
    """The active FlagSet; raises :class:`NoFlagContext` outside a request or ``use_flags``."""
    try:
        return flags_var.get()
    except LookupError:
        raise NoFlagContext() from None


@contextmanager
def use_flags(
    flagset: FlagSet | Mapping[str, bool | str], *, unknown: UnknownPolicy = "released"
) -> Iterator[FlagSet]:
    """Make ``flagset`` current inside the block (a FlagSet, or ``{"name": True, ...}``).

    ``unknown`` applies to a plain mapping only: what names missing from it report.
    """
    if not isinstance(flagset, FlagSet):
        flagset = FlagSet.from_mapping(flagset, unknown=unknown)
    token = flags_var.set(flagset)
    try:
        yield flagset
    finally:
        flags_var.reset(token)


class _CurrentFlags:
    """``flagware.flags``: the same reads as a FlagSet, on whichever one is current."""

    __slots__ = ()

    def is_enabled(self, name: str) -> bool:
        return current_flags().is_enabled(name)

    def __getitem__(self, name: str) -> bool:
        return current_flags().is_enabled(name)

    def __contains__(self, name: object) -> bool:
        return name in current_flags()

    def __iter__(self) -> Iterator[str]:
        return iter(current_flags())

    def __len__(self) -> int:
        return len(current_flags())

    def variant(self, name: str) -> str | None:
        return current_flags().variant(name)

    def reason(self, name: str) -> str:
        return current_flags().reason(name)

    def evaluation(self, name: str) -> Evaluation:
        return current_flags().evaluation(name)

    def as_dict(self) -> dict[str, bool]:
        return current_flags().as_dict()

    def variants(self) -> dict[str, str]:
        return current_flags().variants()

    def enabled_flags(self) -> frozenset[str]:
        return current_flags().enabled_flags()

    def with_overrides(self, overrides: Mapping[str, bool | str]) -> FlagSet:
        return current_flags().with_overrides(overrides)

    @property
    def account(self) -> Account | None:
        """The account the current flags were evaluated for."""
        return current_flags().account

    @property
    def active(self) -> bool:
        """Whether a FlagSet is current here (reading flags would not raise)."""
        return flags_var.get(None) is not None

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError(
            "flagware.flags is read-only; use flagware.use_flags(...) to change flags"
        )

    def __setitem__(self, name: str, value: Any) -> NoReturn:
        raise TypeError("flagware.flags is read-only; use flagware.use_flags(...) to change flags")

    def __repr__(self) -> str:
        current = flags_var.get(None)
        if current is None:
            return "<flagware.flags (no context)>"
        return f"<flagware.flags -> {current!r}>"


flags = _CurrentFlags()
