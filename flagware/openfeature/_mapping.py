"""How OpenFeature and flagware translate: contexts to accounts, reasons, value types.

Flagware flags are on or off, with an optional variant name; OpenFeature asks for typed
values. A converter gives the typed value of an evaluated flag, or None for "the caller's
default" (off, or on without a variant); :class:`Mismatch` when the variant is not of
that type.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from openfeature.evaluation_context import EvaluationContext
from openfeature.flag_evaluation import FlagValueType, Reason

from flagware.account import Account
from flagware.engine.flagset import Evaluation
from flagware.ruleset import Ruleset
from flagware.ruleset.dependencies import affected_flags

__all__ = [
    "Converter",
    "Mismatch",
    "Object",
    "account_from_context",
    "boolean",
    "changed_flags",
    "floating",
    "integer",
    "json_object",
    "reason_of",
    "string",
]

T = TypeVar("T")
Object = Sequence[FlagValueType] | Mapping[str, FlagValueType]
Converter = Callable[[Evaluation], T | None]

# Variant names start with a letter or "_" (the ruleset's VARIANT_NAME), so a number is
# written with one leading underscore: "_10", "_-3", "_0.25". The whole name must match.
_INTEGER = re.compile(r"_?([+-]?\d+)")
_FLOAT = re.compile(r"_?([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)")


class Mismatch(Exception):
    """The flag's variant is not of the type the caller asked for."""


def account_from_context(context: EvaluationContext | None) -> Account | None:
    """The :class:`~flagware.Account` an OpenFeature context describes; None: anonymous.

    ``targeting_key`` is the id, an int attribute ``number`` the number, every other
    attribute an attribute. Without a targeting key the request is anonymous, as flagware
    treats one (attributes unused). Raises ValueError if ``number`` is not an int.
    """
    if context is None or not context.targeting_key:
        return None
    attributes = dict(context.attributes)
    number = attributes.pop("number", None)
    if number is not None and (isinstance(number, bool) or not isinstance(number, int)):
        raise ValueError(f"the attribute 'number' must be an int, got {type(number).__name__}")
    try:
        return Account(context.targeting_key, number, attributes)
    except TypeError as exc:  # a targeting key that is not a str
        raise ValueError(str(exc)) from None


def reason_of(evaluation: Evaluation) -> Reason:
    """The OpenFeature reason for flagware's (see engine/_reference.py for the wording)."""
    why = evaluation.reason
    if why.startswith("kill switch"):
        return Reason.DISABLED
    if why.startswith("set "):  # a FlagSet from use_flags(...) / FlagSet.from_mapping
        return Reason.STATIC
    if evaluation.enabled or why == "override":  # a strategy, a test user, an override
        return Reason.TARGETING_MATCH
    return Reason.DEFAULT


def boolean(evaluation: Evaluation) -> bool:
    """A boolean is whether the flag is on (the variant goes in the details)."""
    return evaluation.enabled


def string(evaluation: Evaluation) -> str | None:
    """A string is the variant's name; a flag without one gives the caller's default."""
    return evaluation.variant


def integer(evaluation: Evaluation) -> int | None:
    """An integer is a variant named as one (``_10``); another name is a mismatch."""
    if evaluation.variant is None:
        return None
    match = _INTEGER.fullmatch(evaluation.variant)
    if match is None:
        raise Mismatch(f"variant {evaluation.variant!r} is not an integer (write it _10)")
    return int(match[1])


def floating(evaluation: Evaluation) -> float | None:
    """A float is a variant named as a number (``_0.5``, ``_3``)."""
    if evaluation.variant is None:
        return None
    match = _FLOAT.fullmatch(evaluation.variant)
    if match is None:
        raise Mismatch(f"variant {evaluation.variant!r} is not a number (write it _0.5)")
    return float(match[1])


def json_object(evaluation: Evaluation) -> Object:
    """An object is ``{"enabled": bool, "variant": str | None}``, for any flag."""
    # Any: the SDK's FlagValueType has no None, but a JSON object's null is what "no
    # variant" is, and a key that is always there is easier to read.
    value: dict[str, Any] = {"enabled": evaluation.enabled, "variant": evaluation.variant}
    return value


def changed_flags(before: Ruleset | None, after: Ruleset) -> list[str]:
    """The flags whose answers may differ between two rulesets (all, if test users or the
    unknown policy changed). Stores keep an unchanged flag as the same object."""
    if before is None or before.test_users != after.test_users or before.unknown != after.unknown:
        return sorted({*after.flags, *(before.flags if before else ())})
    names = {*before.flags, *after.flags}
    changed = {
        name
        for name in names
        if (old := before.flags.get(name)) is not (new := after.flags.get(name))
        and (old is None or new is None or old.to_dict() != new.to_dict())
    }
    # And the flags a segment or a prerequisite carries the change to.
    reached = affected_flags(before._shared_document(), after._shared_document(), changed)
    return sorted(changed | reached)
