"""What an exposure is, and what a hook that receives exposures looks like."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = ["Callback", "Exposure", "ExposureHook"]


@dataclass(frozen=True, slots=True)
class Exposure:
    """One flag read for the first time in one request: what the code was shown.

    ``at`` is when the request first read a flag (epoch seconds; one clock read per
    request, so every exposure of a request has the same ``at``); ``account_id`` is None
    for an anonymous request; ``ruleset_version`` is the version the request was
    evaluated against (None: not known, a FlagSet built without a store).
    """

    flag: str
    value: bool
    variant: str | None
    reason: str
    account_id: str | None
    ruleset_version: int | None
    at: float

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (what the JSON-lines and Redis hooks write)."""
        return asdict(self)


Callback = Callable[[Exposure], object]
"""What :func:`flagware.exposures.on_exposure` registers: called with each exposure."""


@runtime_checkable
class ExposureHook(Protocol):
    """A hook object, like OpenFeature's ``after`` hook, run by the background flusher.

    ``after_evaluation`` gets each exposure; an optional ``flush()`` is called after each
    batch (a hook that writes in batches writes then), and an optional ``close()`` when it
    is removed. Nothing a hook does (raise, block for a while) reaches a request: it runs on
    the flusher's thread, and an exception is logged and counted.
    """

    def after_evaluation(self, exposure: Exposure) -> None: ...
