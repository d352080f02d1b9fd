"""The store contract's checks: functions that raise, so they hold under ``python -O``.

An ``assert`` statement vanishes under ``-O``, and a contract whose checks vanish passes
every store. Each check raises :class:`ContractFailure` (an ``AssertionError``, so pytest
reports a failed test) with the values it compared.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any

__all__ = ["ContractFailure", "check", "check_equal", "check_in", "check_is", "check_not_in"]


class ContractFailure(AssertionError):
    """A store did not do what the contract requires."""


def check(condition: object) -> None:
    """``condition`` is true (pytest's traceback shows the line that says what)."""
    if not condition:
        raise ContractFailure(f"expected a true value, got {condition!r}")


def check_equal(actual: Any, expected: Any) -> None:
    """``actual == expected``."""
    if not actual == expected:
        raise ContractFailure(f"expected {expected!r}, got {actual!r}")


def check_is(actual: object, expected: object) -> None:
    """``actual`` is the very object ``expected`` (not an equal copy)."""
    if actual is not expected:
        raise ContractFailure(f"expected the same object as {expected!r}, got {actual!r}")


def check_in(item: object, container: Container[Any]) -> None:
    """``item in container``."""
    if item not in container:
        raise ContractFailure(f"expected {item!r} in {container!r}")


def check_not_in(item: object, container: Container[Any]) -> None:
    """``item not in container``."""
    if item in container:
        raise ContractFailure(f"expected {item!r} not in {container!r}")
