"""Pydantic's validation errors as ``path: message`` lines a ruleset's author can act on."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from flagware.ruleset.limits import MAX_PROBLEMS

__all__ = ["problems_of", "short"]


def short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _paths(prefix: str, loc: tuple[int | str, ...]) -> list[str]:
    """The path of ``loc`` and of each of its containers, outermost first."""
    out, path = [], prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
        out.append(path)
    return out or [prefix or "<document>"]


def problems_of(prefix: str, exc: ValidationError, limit: int = MAX_PROBLEMS) -> list[str]:
    """Readable ``path: message`` lines from a pydantic error (``limit`` + 1 at most).

    Linear in the number of errors: a list of 30,000 bad ids is 30,000 errors.
    """
    located = []
    containers: set[str] = set()
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        *outer, path = _paths(prefix, loc)
        containers.update(outer)
        located.append((path, err))
    # Keep one problem per path, and drop a container's problem when one of its items has
    # its own (a list with a bad item is also "too short after validation").
    out: dict[str, str] = {}
    for path, err in located:
        if path in out or path in containers:
            continue
        kind = err["type"]
        msg = err["msg"].removeprefix("Value error, ")
        if kind == "missing":
            out[path] = f"{path}: is required"
        elif kind == "extra_forbidden":
            out[path] = f"{path}: unknown key"
        elif kind in ("value_error", "assertion_error"):
            out[path] = f"{path}: {msg}"
        else:
            out[path] = f"{path}: {msg}, got {short(err.get('input'))}"
        if len(out) > limit:
            break
    return list(out.values())
