"""flagware: release features per account, not per environment.

Read flags in a request with ``flagware.flags.is_enabled("name")``. This module is the
public API; docs/ has a page per topic (rulesets, web integration, stores, CLI, admin
panel, security, operations).
"""

from __future__ import annotations

import importlib
import typing

from flagware.errors import (
    FlagwareError,
    NoFlagContext,
    NotFound,
    RulesetError,
    StoreError,
    StoreUnavailable,
    StrategyRegistrationError,
    UnknownFlag,
    UnknownSegment,
    UnknownVersion,
    VersionConflict,
    WriteContention,
)

if typing.TYPE_CHECKING:
    from flagware.account import Account
    from flagware.context import current_flags, flags, use_flags
    from flagware.engine import Clock, Engine
    from flagware.engine.flagset import Evaluation, FlagSet
    from flagware.exposures import Exposure, on_exposure
    from flagware.lifecycle import StaleFlag, stale_flags
    from flagware.ruleset import Flag, Ruleset, StrategySpec, load_ruleset
    from flagware.stores import Commit, FileStore, Health, MemoryStore, Store
    from flagware.stores.audit import Change
    from flagware.stores.redis import RedisStore
    from flagware.strategies import Condition, Strategy, register_strategy, unregister_strategy

__version__ = "0.1.0"


# Each public name and the module that defines it. They are imported on first use (PEP
# 562), so ``import flagware`` costs nothing until a name is read: a command-line run or a
# worker that needs only a store does not import the engine, the web parts or redis-py.
_HOMES = {
    "Account": "flagware.account",
    "Change": "flagware.stores.audit",
    "Clock": "flagware.engine",
    "Commit": "flagware.stores",
    "Condition": "flagware.strategies",
    "Engine": "flagware.engine",
    "Evaluation": "flagware.engine.flagset",
    "Exposure": "flagware.exposures",
    "FileStore": "flagware.stores",
    "Flag": "flagware.ruleset",
    "FlagSet": "flagware.engine.flagset",
    "Health": "flagware.stores",
    "MemoryStore": "flagware.stores",
    "RedisStore": "flagware.stores.redis",
    "Ruleset": "flagware.ruleset",
    "StaleFlag": "flagware.lifecycle",
    "StrategySpec": "flagware.ruleset",
    "Store": "flagware.stores",
    "Strategy": "flagware.strategies",
    "current_flags": "flagware.context",
    "flags": "flagware.context",
    "load_ruleset": "flagware.ruleset",
    "on_exposure": "flagware.exposures",
    "register_strategy": "flagware.strategies",
    "stale_flags": "flagware.lifecycle",
    "unregister_strategy": "flagware.strategies",
    "use_flags": "flagware.context",
}


def __getattr__(name: str) -> typing.Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'flagware' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # the next read is a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "Account",
    "Change",
    "Clock",
    "Commit",
    "Condition",
    "Engine",
    "Evaluation",
    "Exposure",
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
    "StaleFlag",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "Strategy",
    "StrategyRegistrationError",
    "StrategySpec",
    "UnknownFlag",
    "UnknownSegment",
    "UnknownVersion",
    "VersionConflict",
    "WriteContention",
    "current_flags",
    "flags",
    "load_ruleset",
    "on_exposure",
    "register_strategy",
    "stale_flags",
    "unregister_strategy",
    "use_flags",
]
