"""TestFlags: the flags ``flagware.flags`` reads in a test, changed as the test goes.

No store and no ruleset: the flags are exactly the values set (``FlagSet.from_mapping``),
for code under test that reads ``flagware.flags`` outside a request (a job, a service
function, a template rendered by hand). The ``flagware_flags`` fixture is one of these;
outside pytest, use it as a context manager::

    with TestFlags({"new_checkout": True}) as flags:
        print(flagware.flags.is_enabled("new_checkout"))  # True
        flags.set("new_checkout", False)
        print(flagware.flags.is_enabled("new_checkout"))  # False
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import Token
from typing import TYPE_CHECKING

from flagware.context import flags_var
from flagware.engine.flagset import FlagSet

if TYPE_CHECKING:
    from types import TracebackType

    from flagware.ruleset import UnknownPolicy

__all__ = ["TestFlags"]


class TestFlags:
    """Flag values made current with ``with``, and changed at once with :meth:`set`.

    A value is ``True``/``False``, or a variant name (which means on, with that variant).
    A name never set follows ``unknown``: ``released`` (on) by default, as in a ruleset,
    or ``hidden`` (off). Leaving the ``with`` block restores whatever flags were current
    before it, whatever was set inside.
    """

    __test__ = False  # a class named Test* that pytest must not collect

    def __init__(
        self,
        values: Mapping[str, bool | str] | None = None,
        *,
        unknown: UnknownPolicy = "released",
    ) -> None:
        self._values: dict[str, bool | str] = {}
        self._unknown: UnknownPolicy = unknown
        self._token: Token[FlagSet] | None = None
        self._flagset = self._build(dict(values or {}), unknown)

    @property
    def flagset(self) -> FlagSet:
        """The FlagSet these values make, the one ``flagware.flags`` reads while active."""
        return self._flagset

    @property
    def unknown(self) -> UnknownPolicy:
        """What a name never set reads as: ``"released"`` (on) or ``"hidden"`` (off)."""
        return self._unknown

    @unknown.setter
    def unknown(self, policy: UnknownPolicy) -> None:
        self._build(self._values, policy)

    def set(self, name: str, value: bool | str) -> None:
        """Set one flag; ``flagware.flags`` reads the new value from the next read on."""
        self._build({**self._values, name: value}, self._unknown)

    def update(self, values: Mapping[str, bool | str] | None = None, /, **more: bool | str) -> None:
        """Set several flags, as ``dict.update`` does: ``update({"a.b": True}, beta=False)``."""
        self._build({**self._values, **(values or {}), **more}, self._unknown)

    def remove(self, name: str) -> None:
        """Forget a flag's value: it follows ``unknown`` again. A name not set is ignored."""
        self._build({k: v for k, v in self._values.items() if k != name}, self._unknown)

    def as_dict(self) -> dict[str, bool | str]:
        """The values set, by name."""
        return dict(self._values)

    def __enter__(self) -> TestFlags:
        if self._token is not None:
            raise RuntimeError("these TestFlags are already active; leave the block first")
        self._token = flags_var.set(self._flagset)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        token, self._token = self._token, None
        if token is not None:
            # Restores what was current before __enter__: the flagware_flags.set calls in
            # between each set the variable again, and this one reset undoes them all.
            flags_var.reset(token)

    def _build(self, values: dict[str, bool | str], unknown: UnknownPolicy) -> FlagSet:
        """Validate and adopt ``values``, and make them current if active. Nothing changes
        if they are invalid (TypeError from ``FlagSet.from_mapping``)."""
        if unknown not in ("released", "hidden"):
            raise ValueError(f"unknown must be 'released' or 'hidden', got {unknown!r}")
        flagset = FlagSet.from_mapping(values, unknown=unknown)
        self._values, self._unknown, self._flagset = values, unknown, flagset
        if self._token is not None:
            flags_var.set(flagset)
        return flagset

    def __repr__(self) -> str:
        return f"<TestFlags {self._values!r} unknown={self._unknown}>"
