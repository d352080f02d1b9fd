"""FlagSet: every flag evaluated for one account, read-only, with reasons on demand."""

from __future__ import annotations

import logging
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Set
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, cast

if TYPE_CHECKING:
    from flagware.account import Account
    from flagware.ruleset import UnknownPolicy

__all__ = ["FIRST_READS", "Check", "Evaluation", "Explainer", "FlagSet"]

logger = logging.getLogger("flagware")

FIRST_READS = 8
"""Distinct flags a deferred FlagSet reads one at a time before it evaluates them all.

Measured (bench_peers, 10 to 1,000 flags): one flag costs about 0.3 µs, every flag 3 µs
at 10 flags and 36 µs at 1,000, so eight single reads cost at most what the whole plan
does for a small ruleset, and a request that reads more pays for the whole plan once.
"""

Check = Callable[["Account", float], bool]
"""One flag's checker: ``check(account, at)``, whether the flag is on (see ``checks``)."""


class Explainer(Protocol):
    """Computes the costly parts of an evaluation (reason, variant) only when asked.

    ``at`` is the instant the flags were evaluated at, or None if nothing read the clock.
    """

    def reason(
        self, name: str, enabled: bool, account: Account | None, at: float | None
    ) -> str: ...

    def variant(self, name: str, enabled: bool, account: Account | None) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One flag's outcome for one account."""

    name: str
    enabled: bool
    variant: str | None
    reason: str


# {name: False} per names tuple: copying one costs a tenth of building it, and an engine
# hands the same tuple to every FlagSet it makes. Keyed by identity, a few at a time.
_TEMPLATES: dict[int, tuple[tuple[str, ...], dict[str, bool]]] = {}


def _all_off(names: tuple[str, ...]) -> dict[str, bool]:
    entry = _TEMPLATES.get(id(names))
    if entry is not None and entry[0] is names:
        return entry[1]
    if len(_TEMPLATES) >= 8:
        _TEMPLATES.clear()
    template = dict.fromkeys(names, False)
    _TEMPLATES[id(names)] = (names, template)
    return template


def _released_names(released: Container[str], names: tuple[str, ...]) -> Iterable[str]:
    """The names in ``released``, without a membership test per name where it can."""
    if isinstance(released, set | frozenset):
        return released
    listed = getattr(released, "names", None)  # the engine's Released
    if listed is not None:
        return listed()  # type: ignore[no-any-return]
    return [name for name in names if name in released]


class _Static:
    """Explains a FlagSet built from a plain mapping (tests, background jobs)."""

    def __init__(self, variants: Mapping[str, str], label: str) -> None:
        self._variants = variants
        self._label = label

    def reason(self, name: str, enabled: bool, account: Account | None, at: float | None) -> str:
        return self._label

    def variant(self, name: str, enabled: bool, account: Account | None) -> str | None:
        return self._variants.get(name) if enabled else None


class _Slots:
    """FlagSet's storage; FlagSet itself refuses attribute assignment."""

    __slots__ = (
        "_account",
        "_at",
        "_checks",
        "_defined",
        "_explainer",
        "_exposure",
        "_known",
        "_names",
        "_overrides",
        "_pending",
        "_released",
        "_unknown",
        "_variant_names",
        "_when",
    )
    _account: Account | None
    _at: float | None
    # While the first reads ask one flag each; the account is never None then.
    _checks: Mapping[str, Callable[[Any, float], bool]] | None
    _defined: Set[str]
    _explainer: Explainer
    _exposure: Any  # set only on a FlagSet that records exposures (flagware.exposures)
    _known: dict[str, bool]  # what those reads found (released or not)
    _names: tuple[str, ...]
    _overrides: Mapping[str, tuple[bool, str | None]]
    _pending: Callable[..., Container[str]] | None
    _released: Container[str]
    _unknown: bool
    _variant_names: tuple[str, ...] | None
    _when: float  # the instant the checks are given


# Slot setters that bypass FlagSet.__setattr__ (object.__setattr__ is twice as slow, and a
# FlagSet is built on every request).
_SET = {name: getattr(_Slots, name).__set__ for name in _Slots.__slots__}
_set_account, _set_at, _set_checks, _set_defined, _set_explainer, _set_known = (
    _SET[n] for n in ("_account", "_at", "_checks", "_defined", "_explainer", "_known")
)
_set_names, _set_overrides, _set_pending, _set_released, _set_unknown, _set_when = (
    _SET[n] for n in ("_names", "_overrides", "_pending", "_released", "_unknown", "_when")
)
_set_variant_names = _SET["_variant_names"]
_NO_OVERRIDES: Mapping[str, tuple[bool, str | None]] = MappingProxyType({})
_new = object.__new__
_NO_ANSWERS: dict[str, bool] = {}  # a FlagSet without checks never writes its answers
_NOTHING: frozenset[str] = frozenset()


class FlagSet(_Slots):
    """The flags of one account, evaluated once; immutable.

    ``fs.is_enabled(name)`` / ``fs[name]`` answer for any name: a flag the ruleset does not
    define follows its ``unknown`` policy (``released`` by default). ``in``, iteration and
    ``len`` cover the defined flags only.

    ``released`` may be a function that evaluates every flag, which then runs on the first
    read. With ``checks`` too (``name -> check(account, at)``, the answer for that name,
    undefined names included, as the engine gives for a lazy evaluation), the first
    :data:`FIRST_READS` distinct names read are asked one at a time instead, each answer
    kept; more reads, or a read of every value (``as_dict``, ``enabled_flags``,
    ``variants``, iterating), run ``released(answers so far)`` once, which must keep those
    answers. A check that raises makes that evaluation run (it must not raise).
    """

    __slots__ = ()

    def __init__(
        self,
        released: Container[str] | Callable[..., Container[str]],
        names: tuple[str, ...],
        *,
        defined: Set[str] | None = None,
        unknown: UnknownPolicy = "released",
        account: Account | None = None,
        explainer: Explainer | None = None,
        at: float | None = None,
        overrides: Mapping[str, tuple[bool, str | None]] | None = None,
        variant_names: tuple[str, ...] | None = None,
        checks: Mapping[str, Check] | None = None,
    ) -> None:
        # A callable defers the evaluation to the first read (the middleware's choice: a
        # request that reads no flag pays nothing); it runs at most once.
        if callable(released):
            _set_pending(self, released)
            _set_released(self, frozenset())
            if checks is not None and account is not None and not overrides:
                _set_checks(self, checks)
                _set_known(self, {})
                _set_when(self, -1.0 if at is None else at)
            else:
                _set_checks(self, None)
                _set_known(self, _NO_ANSWERS)
        else:
            _set_pending(self, None)
            _set_released(self, released)
            _set_checks(self, None)
            _set_known(self, _NO_ANSWERS)
        _set_names(self, names)
        _set_defined(self, frozenset(names) if defined is None else defined)
        _set_unknown(self, unknown == "released")
        _set_account(self, account)
        _set_explainer(self, explainer or _Static({}, "set by FlagSet"))
        _set_at(self, at)
        _set_overrides(self, overrides or _NO_OVERRIDES)
        # The flags that may have a variant (None: any), so variants() asks only them.
        _set_variant_names(self, variant_names)

    @classmethod
    def from_mapping(
        cls,
        values: Mapping[str, bool | str],
        *,
        unknown: UnknownPolicy = "released",
        account: Account | None = None,
    ) -> FlagSet:
        """A FlagSet from ``{"name": True, "other": False, "ab_test": "green"}``.

        A string value means "on, with this variant". Meant for tests and jobs that run
        without a request: ``with flagware.use_flags({...}):``.
        """
        released, variants = set(), {}
        for name, value in values.items():
            if not isinstance(name, str):
                raise TypeError(f"flag names must be str, got {name!r}")
            if isinstance(value, str):
                released.add(name)
                variants[name] = value
            elif isinstance(value, bool):
                if value:
                    released.add(name)
            else:
                raise TypeError(f"flag {name!r}: expected a bool or a variant name, got {value!r}")
        return cls(
            frozenset(released),
            tuple(values),
            unknown=unknown,
            account=account,
            explainer=_Static(variants, "set explicitly (FlagSet.from_mapping)"),
            variant_names=tuple(variants),
        )

    @property
    def account(self) -> Account | None:
        """The account these flags were evaluated for (None: anonymous)."""
        return self._account

    def is_enabled(self, name: str) -> bool:
        """Whether flag ``name`` is on; unknown names follow the ruleset's ``unknown`` policy."""
        checks = self._checks
        if checks is not None:
            # The first reads of a deferred evaluation (which has no overrides): that flag's
            # check only. The request path: one function, and no call but the check's.
            known = self._known
            if name in known:
                return known[name]
            if not known or len(known) < FIRST_READS:  # the first read: no call to len
                try:
                    on = known[name] = checks[name](self._account, self._when)
                except Exception:
                    return self._check_failed(name)
                return on
        if self._overrides and name in self._overrides:
            return self._overrides[name][0]
        if name in (self._released if self._pending is None else self._evaluate()):
            return True
        return name not in self._defined and self._unknown

    __getitem__ = is_enabled

    def __contains__(self, name: object) -> bool:
        return name in self._defined

    def __iter__(self) -> Iterator[str]:
        # Whoever iterates reads every value, mostly: the next read evaluates them all.
        _set_checks(self, None)
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def variant(self, name: str) -> str | None:
        """The variant this account gets, or None (flag off, or has no variants)."""
        if self._overrides and name in self._overrides:
            enabled, chosen = self._overrides[name]
            if chosen is not None or not enabled:
                return chosen
        return self._explainer.variant(name, self.is_enabled(name), self._account)

    def reason(self, name: str) -> str:
        """Why the flag came out as it did, e.g. ``strategy percentage matched (strategies[2])``."""
        if self._overrides and name in self._overrides:
            return "override"
        return self._explainer.reason(name, self.is_enabled(name), self._account, self._at)

    def evaluation(self, name: str) -> Evaluation:
        """Value, variant and reason of one flag."""
        return Evaluation(name, self.is_enabled(name), self.variant(name), self.reason(name))

    def as_dict(self) -> dict[str, bool]:
        """``{name: enabled}`` for every defined flag (and every overridden one).

        As cheap as the evaluation itself: C-level dict operations, no call per name.
        """
        released = self._released if self._pending is None else self._evaluate()
        names = self._names
        out = _all_off(names).copy()
        out.update(dict.fromkeys(_released_names(released, names), True))
        if len(out) != len(names):  # a hand-built FlagSet released names it does not define
            out = {name: name in released for name in names}
        if self._overrides:
            out.update((name, enabled) for name, (enabled, _) in self._overrides.items())
        return out

    def variants(self) -> dict[str, str]:
        """``{name: variant}`` for the flags that are on and have a variant."""
        names = self._names if self._variant_names is None else self._variant_names
        if names and self._pending is not None:
            self._evaluate()
        out = {}
        for name in (*names, *self._overrides) if self._overrides else names:
            chosen = self.variant(name)
            if chosen is not None:
                out[name] = chosen
        return out

    def enabled_flags(self) -> frozenset[str]:
        """The names of the defined (or overridden) flags that are on."""
        released = self._released if self._pending is None else self._evaluate()
        on = frozenset(_released_names(released, self._names))
        if not on <= self._defined:
            on = on.intersection(self._defined)
        if self._overrides:
            forced = self._overrides.items()
            on = on.union(n for n, (e, _) in forced if e).difference(
                n for n, (e, _) in forced if not e
            )
        return on

    def with_overrides(self, overrides: Mapping[str, bool | str]) -> FlagSet:
        """A copy with some flags forced on/off or to a variant (``{"x": True, "y": "green"}``).

        Used for test-user overrides; the caller decides who may override.
        """
        merged = dict(self._overrides)
        for name, value in overrides.items():
            merged[name] = (True, value) if isinstance(value, str) else (bool(value), None)
        copy = FlagSet(
            self._released if self._pending is None else self._pending,
            self._names,
            defined=self._defined,
            unknown="released" if self._unknown else "hidden",
            account=self._account,
            explainer=self._explainer,
            at=self._at,
            overrides=merged,
            variant_names=self._variant_names,
        )
        if self._pending is not None:  # still deferred: the copy keeps the answers given
            _set_known(copy, self._known)
        return copy

    def _evaluate(self) -> Container[str]:
        """Run the deferred evaluation (once; a race between threads computes the same)."""
        pending = self._pending
        if pending is not None:
            known = self._known
            _set_released(self, pending(known) if known else pending())
            _set_pending(self, None)
            _set_checks(self, None)
        return self._released

    def _check_failed(self, name: str) -> bool:
        """A flag's check raised: the answer of the whole evaluation (which never raises)."""
        logger.exception("flagware: checking flag %r failed; evaluating every flag", name)
        self._evaluate()
        return self.is_enabled(name)

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError("FlagSet is read-only")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError("FlagSet is read-only")

    def __repr__(self) -> str:
        who = self._account.id if self._account is not None else "anonymous"
        on = sum(self.is_enabled(name) for name in self._names)
        return f"<FlagSet {who}: {on}/{len(self._names)} on>"


class _Building(_Slots):
    """A FlagSet while :func:`deferred` fills it: plain slot stores (no descriptor call
    each), then its class becomes FlagSet, which has the same layout."""

    __slots__ = ()


def deferred(  # noqa: PLR0917 - positional: on every request, keywords cost 0.2 µs
    pending: Callable[..., Container[str]],
    names: tuple[str, ...],
    defined: Set[str],
    unknown_released: bool,
    account: Account | None,
    explainer: Explainer,
    at: float | None,
    variant_names: tuple[str, ...],
    checks: Mapping[str, Check] | None,
) -> FlagSet:
    """``FlagSet(pending, names, ...)`` with no overrides, as the engine builds one for
    every request: the same object at a third of the cost (no keyword parsing, no
    defaults, no setter calls)."""
    flags = _new(_Building)
    flags._pending = pending
    flags._released = _NOTHING
    if checks is not None and account is not None:
        flags._checks = checks
        flags._known = {}
        flags._when = -1.0 if at is None else at
    else:
        flags._checks = None
        flags._known = _NO_ANSWERS
    flags._names = names
    flags._defined = defined
    flags._unknown = unknown_released
    flags._account = account
    flags._explainer = explainer
    flags._at = at
    flags._overrides = _NO_OVERRIDES
    flags._variant_names = variant_names
    flags.__class__ = FlagSet  # type: ignore[assignment]
    return cast("FlagSet", flags)
