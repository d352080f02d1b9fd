"""The size and depth check that refuses a hostile document before any validation runs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flagware.ruleset.limits import LIMITS

__all__ = ["check_shape", "count_values"]

_SCALARS = (str, int, float, bool, type(None))


def _walk(value: Any, depth: int, budget: int) -> int | str:
    """The number of values in ``value`` (at ``depth``), or why it is too big or too deep.

    Stops once past ``budget`` values, so a hostile document costs no more than the limit.
    """
    nodes = 0
    stack: list[tuple[Any, int]] = [(value, depth)]
    push, pop = stack.append, stack.pop
    while stack:
        value, depth = pop()
        nodes += 1
        if type(value) in _SCALARS:  # the common case, checked cheaply
            continue
        if nodes > budget:
            return f"the document has more than {LIMITS['nodes']:,} values"
        kind = type(value)
        children: Any
        if kind is dict:  # exact types first: a list is no Mapping, but the ABC asks slowly
            children = value.values()
        elif kind is list:
            children = value
        elif isinstance(value, Mapping):
            children = value.values()
        elif isinstance(value, list | tuple):
            children = value
        else:
            continue
        if children and depth > LIMITS["depth"]:
            return f"the document nests mappings and lists deeper than {LIMITS['depth']} levels"
        for child in children:
            if type(child) in _SCALARS:
                nodes += 1
            else:
                push((child, depth + 1))
    if nodes > budget:
        return f"the document has more than {LIMITS['nodes']:,} values"
    return nodes


def count_values(value: Any) -> int:
    """The number of values in ``value``, a part of a document that passed the shape check."""
    counted = _walk(value, 0, LIMITS["nodes"])
    return counted if isinstance(counted, int) else LIMITS["nodes"]


def check_shape(doc: Mapping[Any, Any], only: list[Any] | None, known: int) -> str | dict[Any, int]:
    """Refuse documents too big or too deep before validating anything else.

    Returns the number of values in each flag walked, or the problem. With ``only``, just
    those flags are walked: the others are ``known`` values, counted when first read.
    """
    budget = LIMITS["nodes"] - 1 - known  # the document itself, and the flags not walked
    per_flag: dict[Any, int] = {}
    for key, value in doc.items():
        if key == "flags" and isinstance(value, Mapping) and value:
            budget -= 1
            for name in value if only is None else only:
                walked = _walk(value[name], 3, budget)
                if isinstance(walked, str):
                    return walked
                per_flag[name] = walked
                budget -= walked
                if budget < 0:
                    return f"the document has more than {LIMITS['nodes']:,} values"
            continue
        walked = _walk(value, 2, budget)
        if isinstance(walked, str):
            return walked
        budget -= walked
    if budget < 0:
        return f"the document has more than {LIMITS['nodes']:,} values"
    return per_flag
