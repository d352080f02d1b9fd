"""RecordingFlagSet: a FlagSet that tells a recorder the first time each flag is read.

Only requests evaluated while a hook (or a metrics collector) is registered get one; any
other FlagSet reads exactly as before, at the same cost. The request pays for a set
lookup per read and, on the first read of a flag, a tuple appended to a queue: variant
and reason are worked out later, by the flusher (the FlagSet keeps the account and the
instant it was evaluated at, so they come out as they would have in the request).

Bulk reads (``as_dict``, ``variants``, ``enabled_flags``, iterating, ``repr``) record no
exposure: they hand over every flag (to a browser, a log) rather than show one.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from flagware.engine.flagset import Evaluation, FlagSet, _Slots

if TYPE_CHECKING:
    from flagware.exposures._recorder import Recorder

__all__ = ["RecordingFlagSet", "recording"]

_base_is_enabled = FlagSet.is_enabled
_clock = time.time
_set_class = object.__setattr__  # FlagSet refuses attribute assignment; this is ours
_set_exposure = getattr(_Slots, "_exposure").__set__  # noqa: B009 - mypy: slot vs class var


class _State:
    """What a RecordingFlagSet carries besides its flags (in FlagSet's ``_exposure`` slot)."""

    __slots__ = ("at", "observers", "queue", "recorder", "seen", "version")

    def __init__(self, recorder: Recorder, version: int | None) -> None:
        self.recorder = recorder
        self.seen: set[str] = set()
        self.version = version
        self.queue = recorder.queue  # the request appends to it directly: no call
        self.observers = recorder.observers
        self.at = 0.0  # the time of the request's first exposure (one clock read each)


class RecordingFlagSet(FlagSet):
    """A :class:`~flagware.FlagSet` that records its first read of each flag."""

    __slots__ = ()  # the same layout as FlagSet: recording() swaps the class in place
    _exposure: _State

    def is_enabled(self, name: str) -> bool:
        on = _base_is_enabled(self, name)
        state = self._exposure
        recorder = state.recorder
        if recorder.reads is not None:
            recorder.reads.add((name, on))
        if name not in state.seen:
            state.seen.add(name)
            if not state.at:
                state.at = _clock()
            queue = state.queue
            if len(queue) < recorder.max_queue and not state.observers:
                queue.append((self, name, on))
            else:  # full, or an observer to run: the slow path
                recorder.record(self, name, on, state.at)
        return on

    __getitem__ = is_enabled

    @property
    def exposed_at(self) -> float:
        """When this request first exposed a flag (epoch seconds; 0.0: not yet)."""
        return self._exposure.at

    @property
    def ruleset_version(self) -> int | None:
        """The version of the ruleset these flags were evaluated against (None: unknown)."""
        return self._exposure.version

    def variant(self, name: str) -> str | None:
        return self.variant_of(name, self.is_enabled(name))

    def reason(self, name: str) -> str:
        return self.reason_of(name, self.is_enabled(name))

    def evaluation(self, name: str) -> Evaluation:
        on = self.is_enabled(name)
        return Evaluation(name, on, self.variant_of(name, on), self.reason_of(name, on))

    def variant_of(self, name: str, on: bool) -> str | None:
        """The variant of flag ``name`` read as ``on``, recording nothing (the flusher's)."""
        if self._overrides and name in self._overrides:
            enabled, chosen = self._overrides[name]
            if chosen is not None or not enabled:
                return chosen
        return self._explainer.variant(name, on, self._account)

    def reason_of(self, name: str, on: bool) -> str:
        """The reason flag ``name`` came out ``on``, recording nothing (the flusher's)."""
        if self._overrides and name in self._overrides:
            return "override"
        return self._explainer.reason(name, on, self._account, self._at)

    def variants(self) -> dict[str, str]:
        names = self._names if self._variant_names is None else self._variant_names
        if names and self._pending is not None:
            self._evaluate()
        out = {}
        for name in (*names, *self._overrides) if self._overrides else names:
            chosen = self.variant_of(name, _base_is_enabled(self, name))
            if chosen is not None:
                out[name] = chosen
        return out

    def with_overrides(self, overrides: Mapping[str, bool | str]) -> FlagSet:
        state = self._exposure
        copy = recording(super().with_overrides(overrides), state.recorder, state.version)
        copy._exposure.seen.update(state.seen)
        return copy

    def __repr__(self) -> str:
        who = self._account.id if self._account is not None else "anonymous"
        on = sum(_base_is_enabled(self, name) for name in self._names)
        return f"<FlagSet {who}: {on}/{len(self._names)} on>"


def recording(flags: FlagSet, recorder: Recorder, version: int | None) -> RecordingFlagSet:
    """``flags`` itself, turned into a :class:`RecordingFlagSet` reporting to ``recorder``
    (its class swapped in place: the same object, no copy)."""
    _set_class(flags, "__class__", RecordingFlagSet)
    _set_exposure(flags, _State(recorder, version))
    return flags  # type: ignore[return-value]
