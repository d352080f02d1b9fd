"""What the scanners find: one read of a flag in a source file, and the names of flag reads."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FLAGGY_NAMES", "Reference", "Skipped", "is_flaggy"]

FLAGGY_NAMES = frozenset({"fs", "flagset", "engine", "features", "feature"})
"""Receiver names read as a FlagSet besides those with ``flag`` in them (``flags``,
``request.flags``, ``flagware_flags``)."""


def is_flaggy(name: str) -> bool:
    """Whether a variable named ``name`` (the last part of a dotted name) holds flags."""
    lowered = name.lower()
    return "flag" in lowered or lowered in FLAGGY_NAMES


@dataclass(frozen=True)
class Reference:
    """One flag read: ``flags.is_enabled("beta")`` at ``app.py:12:8``.

    ``name`` is None when the name is computed at run time (an f-string, a variable the
    scanner cannot resolve): ``code`` then shows the expression.
    """

    path: str
    line: int  # 1-based
    column: int  # 1-based, as editors and compilers print it
    name: str | None
    kind: str  # how it was read: "is_enabled", "subscript", "attribute", "openfeature", ...
    code: str = ""

    @property
    def where(self) -> str:
        """``path:line:column``."""
        return f"{self.path}:{self.line}:{self.column}"


@dataclass(frozen=True, order=True)
class Skipped:
    """A file the scan could not read (not UTF-8, not valid Python)."""

    path: str
    error: str
