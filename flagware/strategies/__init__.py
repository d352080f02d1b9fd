"""Strategies: the ways a flag can be released to an account.

One module per family (``accounts``: allowlists and last digits, ``percentage``,
``attribute`` with the shared ``conditions``, ``schedule``, ``everyone``), the
``registry`` of type names, and ``base`` for what they have in common (including how a
strategy describes itself to people: its summary and its form fields).
"""

from __future__ import annotations

from flagware.strategies.accounts import Accounts, LastDigit
from flagware.strategies.attribute import Attribute
from flagware.strategies.base import Strategy, StrategyField
from flagware.strategies.conditions import Condition
from flagware.strategies.everyone import Everyone
from flagware.strategies.percentage import Percentage
from flagware.strategies.registry import (
    BUILTIN_STRATEGIES,
    register_strategy,
    registered_types,
    strategy_class,
    unregister_strategy,
)
from flagware.strategies.schedule import Schedule

__all__ = [
    "BUILTIN_STRATEGIES",
    "Accounts",
    "Attribute",
    "Condition",
    "Everyone",
    "LastDigit",
    "Percentage",
    "Schedule",
    "Strategy",
    "StrategyField",
    "register_strategy",
    "registered_types",
    "strategy_class",
    "unregister_strategy",
]
