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
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from flagware.engine.flagset import Evaluation, FlagSet, _Slots

if TYPE_CHECKING:
    from flagware.exposures._recorder import Recorder

__all__ = ["RecordingFlagSet", "recording"]

_new = object.__new__
_base_is_enabled = FlagSet.is_enabled
_clock = time.time
# (getter, setter) of every FlagSet slot, to copy one into a RecordingFlagSet.
_COPY = [(getattr(_Slots, n).__get__, getattr(_Slots, n).__set__) for n in _Slots.__slots__]


class RecordingFlagSet(FlagSet):
    """A :class:`~flagware.FlagSet` that records its first read of each flag."""

    __slots__ = ("_recorder", "_seen", "_version")
    _recorder: Recorder
    _seen: set[str]
    _version: int | None

    def is_enabled(self, name: str) -> bool:
        on = _base_is_enabled(self, name)
        recorder = self._recorder
        reads = recorder.reads
        if reads is not None:
            reads.add((name, on))
        seen = self._seen
        if name not in seen:
            seen.add(name)
            recorder.record(self, name, on, _clock())
        return on

    __getitem__ = is_enabled

    @property
    def ruleset_version(self) -> int | None:
        """The version of the ruleset these flags were evaluated against (None: unknown)."""
        return self._version

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
        copy = recording(super().with_overrides(overrides), self._recorder, self._version)
        copy._seen.update(self._seen)
        return copy

    def __repr__(self) -> str:
        who = self._account.id if self._account is not None else "anonymous"
        on = sum(_base_is_enabled(self, name) for name in self._names)
        return f"<FlagSet {who}: {on}/{len(self._names)} on>"


_OWN = {name: getattr(RecordingFlagSet, name).__set__ for name in RecordingFlagSet.__slots__}
_set_recorder, _set_seen, _set_version = _OWN["_recorder"], _OWN["_seen"], _OWN["_version"]
_COPIERS: list[tuple[Callable[[Any], Any], Callable[[Any, Any], None]]] = _COPY


def recording(flags: FlagSet, recorder: Recorder, version: int | None) -> RecordingFlagSet:
    """``flags`` as a :class:`RecordingFlagSet` reporting to ``recorder`` (a copy that
    shares its state: ``flags`` itself must not be read afterwards)."""
    copy: RecordingFlagSet = _new(RecordingFlagSet)
    for get, put in _COPIERS:
        try:  # noqa: SIM105 - suppress() costs more than the copy
            put(copy, get(flags))
        except AttributeError:  # a slot the FlagSet never set (``_when`` without checks)
            pass
    _set_recorder(copy, recorder)
    _set_seen(copy, set())
    _set_version(copy, version)
    return copy
