"""Which strategy ``type`` names exist: the built-ins, and those an application registers.

Registering is global to the process (a ruleset stored in Redis names strategies by type,
and every process that loads it must know them), so register at import time, before any
store loads a ruleset.
"""

from __future__ import annotations

import inspect
import re
import threading
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, create_model

from flagware.errors import StrategyRegistrationError
from flagware.strategies.accounts import Accounts, LastDigit
from flagware.strategies.attribute import Attribute
from flagware.strategies.base import BuiltinStrategy, Strategy
from flagware.strategies.everyone import Everyone
from flagware.strategies.percentage import Percentage
from flagware.strategies.schedule import Schedule
from flagware.strategies.segment import InSegment

__all__ = [
    "BUILTIN_STRATEGIES",
    "CustomStrategyType",
    "register_strategy",
    "registered_types",
    "strategy_class",
    "unregister_strategy",
]

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_RESERVED_PARAMS = frozenset({"type", "when"})

BUILTIN_STRATEGIES: Mapping[str, type[BuiltinStrategy]] = {
    cls.type_name: cls
    for cls in (Everyone, Accounts, LastDigit, Percentage, Attribute, Schedule, InSegment)
}


@dataclass(frozen=True)
class CustomStrategyType:
    """A registered application strategy and the model that validates its parameters."""

    name: str
    cls: type[Strategy]
    params: type[BaseModel]


_custom: dict[str, CustomStrategyType] = {}
_lock = threading.Lock()

S = TypeVar("S", bound=type[Strategy])


def _params_model(name: str, cls: type[Strategy]) -> type[BaseModel]:
    """A pydantic model of ``cls.__init__``'s keyword parameters, from its annotations."""
    if cls.__init__ is object.__init__:  # no __init__ of its own: no parameters
        return create_model(
            f"{cls.__name__}Params", __config__=ConfigDict(extra="forbid", strict=True)
        )
    signature = inspect.signature(cls.__init__)
    try:
        hints = typing.get_type_hints(cls.__init__)
    except Exception as exc:
        raise StrategyRegistrationError(
            f"strategy {name!r}: cannot resolve the annotations of {cls.__name__}.__init__: {exc}"
        ) from exc
    fields: dict[str, Any] = {}
    extra: Literal["allow", "forbid"] = "forbid"
    for param in list(signature.parameters.values())[1:]:
        if param.kind is param.VAR_KEYWORD:
            extra = "allow"
            continue
        if param.kind in (param.VAR_POSITIONAL, param.POSITIONAL_ONLY):
            raise StrategyRegistrationError(
                f"strategy {name!r}: {cls.__name__}.__init__ must take its parameters by "
                f"keyword (the ruleset passes them by name); {param.name!r} cannot be"
            )
        if param.name in _RESERVED_PARAMS:
            raise StrategyRegistrationError(
                f"strategy {name!r}: parameter name {param.name!r} is reserved by the ruleset"
            )
        default = ... if param.default is param.empty else param.default
        fields[param.name] = (hints.get(param.name, Any), default)
    # Strict, like the built-ins: "yes" is not a bool and true is not an int.
    config = ConfigDict(extra=extra, arbitrary_types_allowed=True, frozen=True, strict=True)
    model: type[BaseModel] = create_model(f"{cls.__name__}Params", __config__=config, **fields)
    return model


def register_strategy(name: str, *, replace: bool = False) -> Callable[[S], S]:
    """Class decorator: make ``cls`` available to rulesets as ``{type: <name>, ...}``.

    The strategy's document keys (besides ``type`` and ``when``) become keyword arguments of
    its ``__init__``, validated against its annotations. A name that is built in, or already
    registered (unless ``replace=True``), raises :class:`StrategyRegistrationError`.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise StrategyRegistrationError(
            f"strategy name {name!r} must match {_NAME.pattern} (lowercase, digits, underscores)"
        )

    def decorate(cls: S) -> S:
        if not (isinstance(cls, type) and issubclass(cls, Strategy)):
            raise StrategyRegistrationError(
                f"@register_strategy({name!r}) decorates a flagware.Strategy subclass, got {cls!r}"
            )
        if name in BUILTIN_STRATEGIES:
            raise StrategyRegistrationError(f"strategy {name!r} is built in and cannot be replaced")
        if inspect.iscoroutinefunction(cls.matches):
            raise StrategyRegistrationError(
                f"strategy {name!r}: matches() must be a plain method returning a bool; it runs "
                f"for every request and cannot be async"
            )
        entry = CustomStrategyType(name, cls, _params_model(name, cls))
        with _lock:
            existing = _custom.get(name)
            if existing is not None and existing.cls is not cls and not replace:
                raise StrategyRegistrationError(
                    f"strategy {name!r} is already registered by "
                    f"{existing.cls.__module__}.{existing.cls.__qualname__}; pass "
                    f"replace=True to replace it"
                )
            _custom[name] = entry
        cls.type_name = name
        return cls

    return decorate


def unregister_strategy(name: str) -> None:
    """Forget a custom strategy (for tests); rulesets already loaded keep their instances."""
    with _lock:
        _custom.pop(name, None)


def lookup(name: str) -> type[BuiltinStrategy] | CustomStrategyType | None:
    """The built-in class or custom entry registered as ``name``, or None."""
    return BUILTIN_STRATEGIES.get(name) or _custom.get(name)


def registered_types() -> list[str]:
    """Every strategy type name a ruleset may use, built-ins first."""
    with _lock:
        return [*BUILTIN_STRATEGIES, *sorted(_custom)]


def strategy_class(name: str) -> type[BuiltinStrategy] | type[Strategy] | None:
    """The class registered as ``name``, built in or custom, or None: what forms and
    summaries ask how to show a strategy of that type."""
    entry = lookup(name)
    return entry.cls if isinstance(entry, CustomStrategyType) else entry
