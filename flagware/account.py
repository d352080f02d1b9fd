"""The account that flags are evaluated for."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = ["Account"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Account:
    """Who a request acts for.

    ``id`` drives allowlists, test users and percentage buckets; ``number`` drives
    ``last_digit`` strategies (an account without a number never matches one);
    ``attributes`` drive ``attribute`` strategies and ``when`` conditions.
    """

    id: str
    number: int | None = None
    attributes: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise TypeError(f"Account.id must be a non-empty str, got {self.id!r}")
        if self.number is not None and (
            isinstance(self.number, bool) or not isinstance(self.number, int)
        ):
            raise TypeError(f"Account.number must be an int or None, got {self.number!r}")
        if self.attributes is not _EMPTY:
            object.__setattr__(self, "attributes", MappingProxyType(dict(self.attributes)))

    @property
    def last_digit(self) -> int | None:
        """The last decimal digit of ``number`` (sign ignored), or None without a number."""
        return None if self.number is None else abs(self.number) % 10
