"""TestData: a store for unit tests whose flags a test changes as it goes.

Modelled on LaunchDarkly's ``TestData``, flagware-shaped: it *is* a store (a
:class:`~flagware.MemoryStore`), so every middleware, integration and API that takes a
store takes it, and each change is an ordinary validated write of a flag's document::

    td = TestData()
    app.wsgi_app = FlagwareMiddleware(app.wsgi_app, store=td, resolve_account=resolve)

    td.set("new_checkout", True)                                  # on for everyone
    td.update(td.flag("new_checkout").for_accounts("acct-1"))     # ... and now only acct-1
    td.update(td.flag("new_checkout").kill())                     # off, test users too

A change takes effect for the next evaluation (the next request), because a memory store
swaps in the new ruleset when the write returns; a request already running keeps the
flags it was evaluated with.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from flagware.engine import Clock
from flagware.ruleset.load import RulesetLike, coerce_ruleset
from flagware.stores._edits import ChangeFunction
from flagware.stores.backend import Commit
from flagware.stores.memory import MemoryStore
from flagware.stores.store import HISTORY_LENGTH

__all__ = ["ACTOR", "FlagBuilder", "TestData"]

ACTOR = "TestData"
"""Who TestData's own writes are recorded as, in ``history()``."""


@dataclass(frozen=True)
class FlagBuilder:
    """One flag's document form, built up by chained calls; each returns a new builder.

    Get one from :meth:`TestData.flag` (it starts from the flag as the store holds it, or
    from a new flag, which is on for test users only) and pass it to
    :meth:`TestData.update`. Nothing is checked until then: the store validates the flag
    as it validates any write, and a :class:`~flagware.RulesetError` names what is wrong.

    Strategies are alternatives (the flag is on if any matches), so ``for_accounts``,
    ``percent`` and ``strategy`` *add* one; ``on`` and ``off`` replace them all.
    """

    name: str
    document: Mapping[str, Any] = field(default_factory=dict)

    def on(self) -> FlagBuilder:
        """On for everyone (one ``everyone`` strategy), and the kill switch lifted."""
        return self._replace(strategies=[{"type": "everyone"}], enabled=None)

    def off(self) -> FlagBuilder:
        """Released to nobody (no strategies): off for every account but test users.

        The kill switch is lifted; use :meth:`kill` to turn it off for test users too.
        """
        return self._replace(strategies=[], enabled=None)

    def kill(self) -> FlagBuilder:
        """Flip the kill switch (``enabled: false``): off for everyone, test users included.

        The strategies stay as they were, as in a real ruleset: :meth:`revive` brings
        back the rollout the flag had.
        """
        return self._replace(enabled=False)

    def revive(self) -> FlagBuilder:
        """Lift the kill switch; the flag's strategies decide again."""
        return self._replace(enabled=None)

    def for_accounts(self, *ids: str) -> FlagBuilder:
        """Also on for these account ids (adds an ``accounts`` strategy)."""
        return self.strategy("accounts", ids=list(ids))

    def percent(self, percent: float) -> FlagBuilder:
        """Also on for a stable ``percent`` of accounts (adds a ``percentage`` strategy)."""
        return self.strategy("percentage", percent=percent)

    def strategy(self, kind: str, /, **params: Any) -> FlagBuilder:
        """Add any strategy, by its ``type`` and parameters, as a ruleset would write it:
        ``.strategy("attribute", attribute="plan", op="eq", values=["pro"])``."""
        strategies = [*self.document.get("strategies", []), {"type": kind, **params}]
        return self._replace(strategies=strategies)

    def variants(self, weights: Mapping[str, float] | None) -> FlagBuilder:
        """Give the flag variants, ``{"control": 50, "green": 50}`` (weights summing to
        100); None removes them."""
        return self._replace(variants=None if weights is None else dict(weights))

    def variant(self, name: str) -> FlagBuilder:
        """Every account the flag is on for gets variant ``name`` (a weight of 100)."""
        return self.variants({name: 100})

    def to_dict(self) -> dict[str, Any]:
        """The flag's document form, as :meth:`TestData.update` will write it."""
        return copy.deepcopy(dict(self.document))

    def _replace(self, **keys: Any) -> FlagBuilder:
        """A builder whose document has ``keys`` set (a None value removes the key)."""
        document = self.to_dict()
        for key, value in keys.items():
            if value is None:
                document.pop(key, None)
            else:
                document[key] = copy.deepcopy(value)
        return FlagBuilder(self.name, document)


class TestData(MemoryStore):
    """A memory store for tests, changed flag by flag with :meth:`flag` and :meth:`update`.

    Every write goes through the store's normal validation (a
    :class:`~flagware.RulesetError` leaves the ruleset as it was), is recorded in
    ``history()`` and takes effect for the next evaluation. The whole store API works too:
    ``add_test_user``, ``delete_flag``, ``save``, ``subscribe``.

    :param ruleset: the rules to start from (a document, a :class:`~flagware.Ruleset`, or
        ``load_ruleset("flags.yaml")`` to test against production's rules); empty if
        None. A flag it lacks follows its ``unknown`` policy, ``released`` by default.
    :param flags: values to start with, as :meth:`set` takes them: ``{"beta": True}``.
    :param clock: the engine's clock, for ``schedule`` strategies.
    """

    __test__ = False  # a class named Test* that pytest must not collect

    def __init__(
        self,
        ruleset: RulesetLike | None = None,
        *,
        flags: Mapping[str, bool | str] | None = None,
        clock: Clock = time.time,
        history_length: int = HISTORY_LENGTH,
    ) -> None:
        first = coerce_ruleset({} if ruleset is None else ruleset)
        if flags:  # one validated first version, rather than a write per flag
            document = first.to_dict()
            for name, value in flags.items():
                builder = _set(FlagBuilder(name, document["flags"].get(name, {})), name, value)
                document["flags"][name] = builder.to_dict()
            first = coerce_ruleset(document)
        super().__init__(first, clock=clock, history_length=history_length)

    def flag(self, name: str) -> FlagBuilder:
        """A builder starting from flag ``name`` as the store holds it now (a new flag,
        on for test users only, if it has none)."""
        current = self.ruleset().flags.get(name)
        return FlagBuilder(name, current.to_dict() if current is not None else {})

    def update(
        self, change: FlagBuilder | ChangeFunction, *, actor: str | None = None,
        action: str = "update", attempts: int = 50, touching: Collection[str] | None = None,
    ) -> Commit:  # fmt: skip
        """Write a :class:`FlagBuilder`'s flag (replacing the flag of that name), or, given
        a change function, do what :meth:`Store.update <flagware.Store.update>` does."""
        if isinstance(change, FlagBuilder):
            return self.set_flag(change.name, change.to_dict(), actor=actor or ACTOR)
        return super().update(
            change, actor=actor, action=action, attempts=attempts, touching=touching
        )

    def set(self, name: str, value: bool | str, *, actor: str | None = None) -> Commit:
        """The shortcut: ``True`` is :meth:`FlagBuilder.on`, ``False``
        :meth:`FlagBuilder.off`, a string is on for everyone with that variant."""
        return self.update(_set(self.flag(name), name, value), actor=actor)

    def __enter__(self) -> TestData:  # ``with TestData() as td:`` types td as TestData
        return self

    def describe(self) -> str:
        return "TestData"


def _set(builder: FlagBuilder, name: str, value: bool | str) -> FlagBuilder:
    """The builder for :meth:`TestData.set`'s ``value``; TypeError for anything else."""
    if isinstance(value, bool):
        return builder.on() if value else builder.off()
    if isinstance(value, str):
        return builder.on().variant(value)
    raise TypeError(f"flag {name!r}: expected a bool or a variant name, got {value!r}")
