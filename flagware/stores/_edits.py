"""The edits every store offers, each one ``update`` of the latest document.

Mixed into :class:`~flagware.Store`; each returns the :class:`~flagware.stores.Commit` of
its write, and raises :class:`~flagware.UnknownFlag` or :class:`~flagware.UnknownVersion`
for a name that is not there.
"""

from __future__ import annotations

import abc
import copy
from collections.abc import Callable, Collection, Mapping
from typing import Any

from flagware.errors import RulesetError, UnknownFlag, UnknownSegment, UnknownVersion
from flagware.ruleset import Ruleset
from flagware.ruleset.load import RulesetLike
from flagware.stores.audit import Change
from flagware.stores.backend import Commit

__all__ = ["Edits"]

ChangeFunction = Callable[[dict[str, Any]], dict[str, Any] | Ruleset | None]


class Edits(abc.ABC):
    """Named edits over ``update`` and ``save``, which the store provides."""

    @abc.abstractmethod
    def update(
        self, change: ChangeFunction, *, actor: str | None = None, action: str = "update",
        attempts: int = 50, touching: Collection[str] | None = None,
    ) -> Commit:  # fmt: skip
        """Apply ``change`` to the latest document, compare-and-set."""

    @abc.abstractmethod
    def save(
        self,
        ruleset: RulesetLike,
        *,
        actor: str | None = None,
        expected_version: int | None = None,
        action: str = "save",
    ) -> Commit:
        """Validate, then replace the whole ruleset."""

    @abc.abstractmethod
    def _recorded(self) -> list[Change]:
        """Every recorded change, newest first."""

    def set_flag(self, name: str, flag: Mapping[str, Any], *, actor: str | None = None) -> Commit:
        """Add or replace one flag (its document form, e.g. ``{"strategies": [...]}``)."""

        def change(doc: dict[str, Any]) -> None:
            doc["flags"][name] = copy.deepcopy(dict(flag))

        return self.update(change, actor=actor, action="set_flag", touching=(name,))

    def delete_flag(self, name: str, *, actor: str | None = None) -> Commit:
        """Remove one flag (it then follows the ``unknown`` policy); UnknownFlag if absent."""

        def change(doc: dict[str, Any]) -> None:
            if name not in doc["flags"]:
                raise UnknownFlag(name)
            del doc["flags"][name]

        return self.update(change, actor=actor, action="delete_flag", touching=(name,))

    def set_segment(
        self, name: str, segment: Mapping[str, Any], *, actor: str | None = None
    ) -> Commit:
        """Add or replace one segment (``{"strategies": [...]}``); every flag using it
        follows at once."""

        def change(doc: dict[str, Any]) -> None:
            doc["segments"] = {**(doc.get("segments") or {}), name: copy.deepcopy(dict(segment))}

        return self.update(change, actor=actor, action="set_segment", touching=())

    def delete_segment(self, name: str, *, actor: str | None = None) -> Commit:
        """Remove one segment; UnknownSegment if absent, RulesetError if a flag uses it."""

        def change(doc: dict[str, Any]) -> None:
            segments = dict(doc.get("segments") or {})
            if name not in segments:
                raise UnknownSegment(name)
            del segments[name]
            doc["segments"] = segments

        return self.update(change, actor=actor, action="delete_segment", touching=())

    def set_enabled(self, name: str, enabled: bool, *, actor: str | None = None) -> Commit:
        """Flip a flag's kill switch (``enabled: false`` is off for everyone)."""

        def change(doc: dict[str, Any]) -> None:
            if name not in doc["flags"]:
                raise UnknownFlag(name)
            if enabled:
                doc["flags"][name].pop("enabled", None)
            else:
                doc["flags"][name]["enabled"] = False

        action = "enable" if enabled else "disable"
        return self.update(change, actor=actor, action=action, touching=(name,))

    def add_test_user(self, account_id: str, *, actor: str | None = None) -> Commit:
        """Make an account a test user."""

        def change(doc: dict[str, Any]) -> None:
            doc["test_users"] = sorted({*doc["test_users"], account_id})

        return self.update(change, actor=actor, action="add_test_user", touching=())

    def remove_test_user(self, account_id: str, *, actor: str | None = None) -> Commit:
        """Stop treating an account as a test user."""

        def change(doc: dict[str, Any]) -> None:
            doc["test_users"] = [u for u in doc["test_users"] if u != account_id]

        return self.update(change, actor=actor, action="remove_test_user", touching=())

    def restore(self, version: int, *, actor: str | None = None) -> Commit:
        """Save the document of a recorded earlier version as a new version.

        Raises :class:`UnknownVersion` if it is not in the history, and RulesetError if
        its recorded document cannot be read.
        """
        for change in self._recorded():
            if change.version == version:
                if "document" in change.unreadable:  # its placeholder {} would delete every flag
                    raise RulesetError(
                        [f"<history>: the recorded rules of version {version} are unreadable"]
                    )
                return self.save(dict(change.document), actor=actor, action=f"restore {version}")
        raise UnknownVersion(version)
