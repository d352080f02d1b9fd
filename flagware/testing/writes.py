"""The write half of the store contract: validated, compare-and-set, audited."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from flagware import (
    Account,
    Commit,
    FlagwareError,
    Ruleset,
    RulesetError,
    Store,
    StoreError,
    UnknownFlag,
    UnknownVersion,
    VersionConflict,
)
from flagware.testing._checks import check, check_equal, check_in, check_is, check_not_in
from flagware.testing.documents import ACCOUNT, DOC_A, DOC_B, INVALID, canonical, entries

__all__ = ["WriteContract"]


class WriteContract:
    """The write API every store must offer: validated, compare-and-set, audited.

    Mixed into :class:`StoreContract`; uses its ``store`` fixture (a store holding DOC_A).
    """

    # --- save ------------------------------------------------------------------------------

    def test_save_returns_the_new_version(self, store: Store) -> None:
        before = store.version
        version = store.save(DOC_B).version
        check_equal(version, before + 1)
        check_equal(store.version, version)
        check_equal(store.save(DOC_A).version, version + 1)
        check_equal(store.version, version + 1)

    def test_an_edit_that_changes_nothing_writes_nothing(self, store: Store) -> None:
        version, history = store.version, len(store.history())
        check_equal(store.update(lambda doc: None).version, version)
        store.add_test_user(sorted(store.ruleset().test_users)[0])
        check_equal(store.save(store.ruleset().to_dict()).version, version)
        check_equal((store.version, len(store.history())), (version, history))
        check_equal(store.add_test_user("someone-new").version, version + 1)

    def test_save_with_the_current_expected_version(self, store: Store) -> None:
        version = store.save(DOC_B, expected_version=store.version).version
        check_equal(store.version, version)
        check_equal(store.ruleset(), Ruleset.from_dict(DOC_B))

    @pytest.mark.parametrize("which", ["stale", "future"])
    def test_save_with_a_wrong_expected_version_conflicts(self, store: Store, which: str) -> None:
        stale = store.version
        store.save(DOC_B)
        before, version, recorded = store.ruleset(), store.version, len(entries(store))
        expected = stale if which == "stale" else version + 1
        with pytest.raises(VersionConflict) as caught:
            store.save(DOC_A, expected_version=expected)
        check(isinstance(caught.value, StoreError))
        check_is(store.ruleset(), before)
        check_equal(store.version, version)
        check_equal(len(entries(store)), recorded)

    def test_invalid_save_records_nothing(self, store: Store) -> None:
        recorded = entries(store)
        with pytest.raises(RulesetError):
            store.save(INVALID)
        check_equal(entries(store), recorded)

    def test_a_write_returns_what_it_did(self, store: Store) -> None:
        before = store.ruleset().to_dict()
        commit = store.save(DOC_B)
        check_equal(commit, Commit(store.version, True, before))
        check_equal(commit.before, before)
        same = store.save(DOC_B)
        check_equal((same.version, same.changed), (commit.version, False))
        check_equal(same.before, canonical(DOC_B))

    def test_every_store_reports_its_health(self, store: Store) -> None:
        health = store.health()
        check(health.connected)
        check_equal(health.version, store.version)
        check_is(health.stale_since, None)
        check_equal((health.last_error, health.problem), (None, None))
        check_not_in(health.source, ("snapshot", "bootstrap", "fail-closed"))

    def test_missing_flags_and_versions_are_flagware_key_errors(self, store: Store) -> None:
        recorded = len(entries(store))
        writes: list[Callable[[], Commit]] = [
            lambda: store.delete_flag("no_such_flag"),
            lambda: store.set_enabled("no_such_flag", False),
        ]
        for write in writes:
            with pytest.raises(UnknownFlag) as caught:
                write()
            check(isinstance(caught.value, KeyError))
            check(isinstance(caught.value, FlagwareError))
            check_equal(caught.value.name, "no_such_flag")
            check_equal(str(caught.value), "no flag named 'no_such_flag'")
        with pytest.raises(UnknownVersion) as missing:
            store.restore(10**9)
        check(isinstance(missing.value, KeyError))
        check_equal(missing.value.version, 10**9)
        check_equal(len(entries(store)), recorded)

    # --- update ----------------------------------------------------------------------------

    def test_update_applies_a_function_to_the_latest_document(self, store: Store) -> None:
        store.save(DOC_B)
        given: list[dict[str, Any]] = []

        def change(doc: dict[str, Any]) -> None:
            given.append(copy.deepcopy(doc))
            doc["flags"]["beta"]["description"] = "edited"
            doc["test_users"].append("qa")

        version = store.update(change, actor="alice").version
        check_equal(given, [canonical(DOC_B)])
        check_equal(store.version, version)
        expected = copy.deepcopy(DOC_B)
        expected["flags"]["beta"]["description"] = "edited"
        expected["test_users"] = ["qa"]
        check_equal(store.ruleset(), Ruleset.from_dict(expected))
        check_is(store.engine().evaluate_all(Account(id="qa")).is_enabled("old"), False)
        check(store.engine().evaluate_all(Account(id="qa")).is_enabled("launch"))

    def test_update_may_return_a_new_document(self, store: Store) -> None:
        version = store.update(lambda doc: {"unknown": "hidden", "flags": {"fresh": {}}}).version
        check_equal(store.version, version)
        check_equal(set(store.ruleset().flags), {"fresh"})
        check_equal(store.ruleset().unknown, "hidden")

    def test_update_to_an_invalid_document_writes_nothing(self, store: Store) -> None:
        before, version, recorded = store.ruleset(), store.version, len(entries(store))

        def change(doc: dict[str, Any]) -> None:
            doc["flags"]["beta"]["strategies"] = [{"type": "percentage", "percent": 150}]

        with pytest.raises(RulesetError, match=r"flags\.beta\.strategies\[0\]\.percent"):
            store.update(change)
        check_is(store.ruleset(), before)
        check_equal(store.version, version)
        check_equal(len(entries(store)), recorded)

    def test_update_that_raises_writes_nothing(self, store: Store) -> None:
        before, version = store.ruleset(), store.version

        def change(doc: dict[str, Any]) -> None:
            doc["flags"].clear()
            raise LookupError("changed my mind")

        with pytest.raises(LookupError, match="changed my mind"):
            store.update(change)
        check_is(store.ruleset(), before)
        check_equal(store.version, version)

    # --- one-flag edits --------------------------------------------------------------------

    def test_set_flag_adds_a_flag(self, store: Store) -> None:
        flag = {"description": "New", "strategies": [{"type": "accounts", "ids": ["acct-2"]}]}
        version = store.set_flag("new", flag).version
        check_equal(store.version, version)
        check_equal(set(store.ruleset().flags), {"beta", "ab", "new"})
        check_equal(store.ruleset().to_dict()["flags"]["new"], flag)
        check(store.engine().is_released_to("new", ACCOUNT))
        check_equal(store.ruleset().to_dict()["flags"]["beta"], DOC_A["flags"]["beta"])

    def test_set_flag_replaces_a_flag_whole(self, store: Store) -> None:
        store.set_flag("ab", {"strategies": [{"type": "everyone"}]})
        check_equal(
            store.ruleset().to_dict()["flags"]["ab"], {"strategies": [{"type": "everyone"}]}
        )
        check_is(store.engine().evaluate_all(ACCOUNT).variant("ab"), None)

    def test_set_flag_keeps_no_reference_to_the_given_document(self, store: Store) -> None:
        flag: dict[str, Any] = {"strategies": [{"type": "accounts", "ids": ["acct-2"]}]}
        store.set_flag("new", flag)
        flag["strategies"][0]["ids"].append("acct-3")
        flag["enabled"] = False
        check_equal(
            store.ruleset().to_dict()["flags"]["new"],
            {"strategies": [{"type": "accounts", "ids": ["acct-2"]}]},
        )

    @pytest.mark.parametrize(
        ("flag", "path"),
        [
            ({"strategies": [{"type": "percentage", "percent": 150}]}, "strategies[0].percent"),
            ({"strategies": [{"type": "no_such_strategy"}]}, "no_such_strategy"),
            ({"enabled": "yes"}, "enabled"),
        ],
    )
    def test_set_flag_validates_and_writes_nothing_when_invalid(
        self, store: Store, flag: dict[str, Any], path: str
    ) -> None:
        before, version, recorded = store.ruleset(), store.version, len(entries(store))
        with pytest.raises(RulesetError, match=r"flags\.beta") as caught:
            store.set_flag("beta", flag)
        check_in(path, str(caught.value))
        check_is(store.ruleset(), before)
        check_equal(store.version, version)
        check_equal(len(entries(store)), recorded)

    def test_set_flag_with_an_invalid_name_writes_nothing(self, store: Store) -> None:
        before, version = store.ruleset(), store.version
        with pytest.raises(RulesetError):
            store.set_flag("not a flag name!", {"strategies": []})
        check_is(store.ruleset(), before)
        check_equal(store.version, version)

    def test_delete_flag(self, store: Store) -> None:
        version = store.delete_flag("beta").version
        check_equal(store.version, version)
        check_equal(set(store.ruleset().flags), {"ab"})
        # DOC_A releases unknown flags: a deleted flag follows that policy.
        check(store.engine().evaluate_all(ACCOUNT).is_enabled("beta"))

    def test_delete_a_missing_flag_raises_key_error(self, store: Store) -> None:
        before, version, recorded = store.ruleset(), store.version, len(entries(store))
        with pytest.raises(KeyError, match="nope"):
            store.delete_flag("nope")
        check_is(store.ruleset(), before)
        check_equal(store.version, version)
        check_equal(len(entries(store)), recorded)

    def test_set_enabled_flips_the_kill_switch(self, store: Store) -> None:
        tester, insider = Account(id="tester"), Account(id="acct-1")
        check(store.engine().is_released_to("beta", insider))
        version = store.set_enabled("beta", False).version
        check_equal(store.version, version)
        check_is(store.ruleset().to_dict()["flags"]["beta"]["enabled"], False)
        check(not store.engine().is_released_to("beta", insider))
        check(not store.engine().evaluate_all(tester).is_enabled("beta"))  # test users too
        check_equal(store.set_enabled("beta", True).version, version + 1)
        check_equal(store.ruleset().to_dict()["flags"]["beta"], DOC_A["flags"]["beta"])
        check(store.engine().is_released_to("beta", insider))
        check(store.engine().evaluate_all(tester).is_enabled("beta"))

    def test_set_enabled_on_a_missing_flag_raises_key_error(self, store: Store) -> None:
        version = store.version
        with pytest.raises(KeyError, match="nope"):
            store.set_enabled("nope", False)
        check_equal(store.version, version)

    def test_add_and_remove_test_users(self, store: Store) -> None:
        qa = Account(id="qa")
        check(not store.engine().evaluate_all(qa).is_enabled("beta"))
        version = store.add_test_user("qa").version
        check_equal(store.version, version)
        check_equal(store.ruleset().test_users, frozenset({"tester", "qa"}))
        check(store.engine().evaluate_all(qa).is_enabled("beta"))
        check_equal(store.remove_test_user("tester").version, version + 1)
        check_equal(store.ruleset().test_users, frozenset({"qa"}))
        check(not store.engine().evaluate_all(Account(id="tester")).is_enabled("beta"))
        store.remove_test_user("qa")
        check_equal(store.ruleset().test_users, frozenset())
        check(not store.engine().evaluate_all(qa).is_enabled("beta"))

    # --- history and restore ---------------------------------------------------------------

    def _edit_a_lot(self, store: Store) -> int:
        """Six recorded writes after the initial ruleset; returns the version before them."""
        start = store.version
        store.save(DOC_B, actor="alice")
        store.set_flag("new", {"strategies": [{"type": "everyone"}]}, actor="bob")
        store.delete_flag("launch")
        store.set_enabled("beta", False, actor="carol")
        store.add_test_user("qa", actor="dave")
        store.remove_test_user("qa", actor="dave")
        return start

    def test_history_is_newest_first_with_one_entry_per_version(self, store: Store) -> None:
        self._edit_a_lot(store)
        history = entries(store)
        check_equal([c.version for c in history], list(range(store.version, 0, -1)))
        check_equal([c.previous_version for c in history], [c.version - 1 for c in history])
        check_equal(history[0].document, store.ruleset().to_dict())
        for change in history:
            Ruleset.from_dict(dict(change.document))  # every recorded document is valid

    def test_history_records_actor_action_and_summary(self, store: Store) -> None:
        started = time.time()
        start = self._edit_a_lot(store)
        finished = time.time()
        history = store.history()[:6]
        check_equal([c.version for c in history], list(range(start + 6, start, -1)))
        got = [(c.actor, c.action, dict(c.summary)) for c in reversed(history)]
        check_equal(
            got,
            [
                (
                    "alice",
                    "save",
                    {
                        "flags_added": ["launch", "old"],
                        "flags_removed": ["ab"],
                        "flags_changed": ["beta"],
                        "test_users_removed": ["tester"],
                        "unknown": "hidden",
                    },
                ),
                ("bob", "set_flag", {"flags_added": ["new"]}),
                ("api", "delete_flag", {"flags_removed": ["launch"]}),
                ("carol", "disable", {"flags_changed": ["beta"]}),
                ("dave", "add_test_user", {"test_users_added": ["qa"]}),
                ("dave", "remove_test_user", {"test_users_removed": ["qa"]}),
            ],
        )
        check(all(started - 1 <= c.at <= finished + 1 for c in history))
        check_equal(history[-1].document, canonical(DOC_B))

    def test_history_of_one_flag(self, store: Store) -> None:
        start = self._edit_a_lot(store)
        launch = store.history("launch")
        check_equal(
            [(c.version, c.action) for c in launch],
            [
                (start + 3, "delete_flag"),
                (start + 1, "save"),
            ],
        )
        check_equal([c.action for c in store.history("new")], ["set_flag"])
        beta = [c for c in store.history("beta") if c.version > start]
        check_equal([c.action for c in beta], ["disable", "save"])
        check_equal(store.history("never_defined"), [])
        check(all(c.touches("beta") for c in store.history("beta")))

    def test_history_limit(self, store: Store) -> None:
        start = self._edit_a_lot(store)
        check_equal([c.version for c in store.history(limit=2)], [start + 6, start + 5])
        check_equal([c.action for c in store.history("launch", limit=1)], ["delete_flag"])
        check_equal(len(store.history(limit=3)), 3)
        check_equal(len(store.history()), store.version)  # fewer than the default limit of 50

    def test_restore_brings_back_a_document_as_a_new_version(self, store: Store) -> None:
        original = store.version
        store.save(DOC_B)
        store.set_flag("new", {})
        latest = store.version
        version = store.restore(original, actor="erin").version
        check_equal(version, latest + 1)
        check_equal(store.version, version)
        check_equal(store.ruleset(), Ruleset.from_dict(DOC_A))
        newest = store.history()[0]
        check_equal(newest.version, version)
        check_equal(newest.actor, "erin")
        check(newest.action.startswith("restore"))
        check_equal(newest.document, canonical(DOC_A))
        check_equal(set(newest.summary["flags_added"]), {"ab"})
        check_equal(set(newest.summary["flags_removed"]), {"launch", "old", "new"})
        # What was restored over stays in the history, and can itself be restored.
        check_equal(store.restore(latest).version, version + 1)
        check_equal(set(store.ruleset().flags), {"beta", "launch", "old", "new"})

    def test_restore_of_an_unknown_version_raises_key_error(self, store: Store) -> None:
        before, version = store.ruleset(), store.version
        with pytest.raises(KeyError):
            store.restore(version + 100)
        with pytest.raises(KeyError):
            store.restore(0)
        check_is(store.ruleset(), before)
        check_equal(store.version, version)

    # --- concurrency -----------------------------------------------------------------------

    def test_concurrent_edits_are_not_lost(self, store: Store) -> None:
        threads, edits = 8, 25
        start = store.version
        errors: list[BaseException] = []
        barrier = threading.Barrier(threads)

        def edit(worker: int) -> None:
            try:
                barrier.wait()
                for i in range(edits):
                    store.set_flag(f"w{worker}_{i}", {"strategies": [{"type": "everyone"}]})
            except BaseException as exc:
                errors.append(exc)

        workers = [threading.Thread(target=edit, args=(w,)) for w in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
        check(not any(worker.is_alive() for worker in workers))
        check_equal(errors, [])
        names = {f"w{w}_{i}" for w in range(threads) for i in range(edits)}
        check_equal(set(store.ruleset().flags), names | {"beta", "ab"})
        check_equal(store.version, start + threads * edits)
        new = [c for c in entries(store) if c.version > start]
        check_equal(sorted(c.version for c in new), list(range(start + 1, store.version + 1)))
        check(all(c.action == "set_flag" for c in new))
        added = [name for c in new for name in c.summary.get("flags_added", [])]
        check_equal(sorted(added), sorted(names))
