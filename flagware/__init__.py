"""flagware: release features per account, not per environment.

Read flags in a request with ``flagware.flags.is_enabled("name")``. This module is the
public API; docs/ has a page per topic (rulesets, web integration, stores, CLI, admin
panel, security, operations).
"""

from __future__ import annotations

import typing

from flagware.account import Account
from flagware.context import current_flags, flags, use_flags
from flagware.engine import Clock, Engine
from flagware.engine.flagset import Evaluation, FlagSet
from flagware.errors import (
    FlagwareError,
    NoFlagContext,
    NotFound,
    RulesetError,
    StoreError,
    StoreUnavailable,
    StrategyRegistrationError,
    UnknownFlag,
    UnknownVersion,
    VersionConflict,
    WriteContention,
)
from flagware.ruleset import Flag, Ruleset, StrategySpec, load_ruleset
from flagware.stores import Commit, FileStore, Health, MemoryStore, Store
from flagware.stores.audit import Change
from flagware.strategies import Condition, Strategy, register_strategy, unregister_strategy

if typing.TYPE_CHECKING:
    from flagware.stores.redis import RedisStore

__version__ = "0.1.0"


def __getattr__(name: str) -> typing.Any:
    # RedisStore needs the optional redis-py: import it on first use, not with flagware.
    if name == "RedisStore":
        from flagware.stores.redis import RedisStore  # noqa: PLC0415

        return RedisStore
    raise AttributeError(f"module 'flagware' has no attribute {name!r}")


__all__ = [
    "Account",
    "Change",
    "Clock",
    "Commit",
    "Condition",
    "Engine",
    "Evaluation",
    "FileStore",
    "Flag",
    "FlagSet",
    "FlagwareError",
    "Health",
    "MemoryStore",
    "NoFlagContext",
    "NotFound",
    "RedisStore",
    "Ruleset",
    "RulesetError",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "Strategy",
    "StrategyRegistrationError",
    "StrategySpec",
    "UnknownFlag",
    "UnknownVersion",
    "VersionConflict",
    "WriteContention",
    "current_flags",
    "flags",
    "load_ruleset",
    "register_strategy",
    "unregister_strategy",
    "use_flags",
]
