"""flagware: release features per account, not per environment.

Read flags in a request with ``flagware.flags.is_enabled("name")``; see the README for
rulesets, stores and middleware.
"""

from __future__ import annotations

from flagware.context import current_flags, flags, use_flags
from flagware.engine import Clock, Engine
from flagware.errors import (
    FlagwareError,
    NoFlagContext,
    RulesetError,
    StoreError,
    StrategyRegistrationError,
)
from flagware.flagset import Evaluation, FlagSet
from flagware.loading import load_ruleset
from flagware.model import Account
from flagware.ruleset import Flag, Ruleset, StrategySpec
from flagware.stores import FileStore, MemoryStore, Store
from flagware.strategies import Condition, Strategy, register_strategy, unregister_strategy

__version__ = "0.1.0"

__all__ = [
    "Account",
    "Clock",
    "Condition",
    "Engine",
    "Evaluation",
    "FileStore",
    "Flag",
    "FlagSet",
    "FlagwareError",
    "MemoryStore",
    "NoFlagContext",
    "Ruleset",
    "RulesetError",
    "Store",
    "StoreError",
    "Strategy",
    "StrategyRegistrationError",
    "StrategySpec",
    "current_flags",
    "flags",
    "load_ruleset",
    "register_strategy",
    "unregister_strategy",
    "use_flags",
]
