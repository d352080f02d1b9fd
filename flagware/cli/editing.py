"""What ``flagware set`` does to one flag document: edit its plain strategies, keep the rest.

A *plain* strategy has no ``when`` conditions. Each option of ``set`` owns the first
plain strategy of its type: it replaces that strategy's parameters, appends one if there
is none, or removes it (``--percent 0``, an empty list). Strategies with conditions,
other types and the order of the rest are never touched: those are edits for a file.
The types and their keys are the strategy classes' own (``Percentage.type_name``, its
``percent`` field), not names repeated here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flagware.strategies.base import BuiltinStrategy

    Kind = type[BuiltinStrategy]

__all__ = ["FlagEdit", "apply_edit"]


@dataclass(frozen=True)
class FlagEdit:
    """The changes asked for; ``None`` (or empty) leaves that part of the flag alone."""

    percent: float | None = None  # 0 removes the percentage strategy
    accounts: tuple[str, ...] | None = None  # () removes the accounts strategy
    add_accounts: tuple[str, ...] = ()
    remove_accounts: tuple[str, ...] = ()
    last_digits: tuple[int, ...] | None = None  # () removes the last_digit strategy
    everyone: bool | None = None
    description: str | None = None  # "" removes the description
    # Lifecycle metadata, checked by the ruleset's validation; "" / () removes the key.
    owner: str | None = None
    tags: tuple[str, ...] | None = None
    expires: str | None = None

    def is_empty(self) -> bool:
        """Whether nothing at all was asked for."""
        return self == FlagEdit()


def _plain(strategies: list[dict[str, Any]], kind: Kind) -> int | None:
    """The index of the first strategy of type ``kind`` without conditions."""
    for i, strategy in enumerate(strategies):
        if strategy.get("type") == kind.type_name and not strategy.get("when"):
            return i
    return None


def _field_name(kind: Kind) -> str:
    """The document key of ``kind``'s one field (``percent``, ``ids``, ``digits``)."""
    (only,) = kind.fields or ()
    return only.name


def _params(kind: Kind, value: Any) -> dict[str, Any]:
    """``kind``'s one field set to ``value``: ``{"percent": 25}``."""
    return {_field_name(kind): value}


def _put(strategies: list[dict[str, Any]], kind: Kind, params: dict[str, Any] | None) -> None:
    """Set the plain ``kind`` strategy's parameters (append one if absent); None removes it."""
    i = _plain(strategies, kind)
    if params is None:
        if i is not None:
            del strategies[i]
    elif i is None:
        strategies.append({"type": kind.type_name, **params})
    else:
        strategies[i].update(params)


def apply_edit(flag: dict[str, Any], change: FlagEdit) -> list[str]:
    """Apply ``change`` to a flag document in place; returns notes for the operator."""
    from flagware.strategies import Accounts, Everyone, LastDigit, Percentage  # noqa: PLC0415

    notes: list[str] = []
    strategies: list[dict[str, Any]] = flag.setdefault("strategies", [])
    if change.description is not None:
        if change.description:
            flag["description"] = change.description
        else:
            flag.pop("description", None)
    for key in ("owner", "tags", "expires"):
        value = getattr(change, key)
        if value:
            flag[key] = list(value) if key == "tags" else value
        elif value is not None:
            flag.pop(key, None)
    if change.percent is not None:
        percent = _params(Percentage, change.percent) if change.percent else None
        _put(strategies, Percentage, percent)
    if change.accounts is not None or change.add_accounts or change.remove_accounts:
        i = _plain(strategies, Accounts)
        if change.accounts is not None:
            ids = list(dict.fromkeys(change.accounts))
        else:
            ids = list(strategies[i][_field_name(Accounts)]) if i is not None else []
        for account in change.add_accounts:
            if account in ids:
                notes.append(f"{account} was already listed")
            else:
                ids.append(account)
        for account in change.remove_accounts:
            if account in ids:
                ids.remove(account)
            else:
                notes.append(f"{account} was not listed")
        _put(strategies, Accounts, _params(Accounts, ids) if ids else None)
    if change.last_digits is not None:
        digits = sorted(set(change.last_digits))
        _put(strategies, LastDigit, _params(LastDigit, digits) if digits else None)
    if change.everyone is not None:
        _put(strategies, Everyone, {} if change.everyone else None)
    return notes
