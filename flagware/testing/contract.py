"""The store contract: reading, saving, listening and closing, plus the writes."""

from __future__ import annotations

import logging

import pytest

from flagware import (
    Account,
    Engine,
    Ruleset,
    RulesetError,
    Store,
)
from flagware.testing._checks import check, check_equal, check_in, check_is
from flagware.testing.documents import ACCOUNT, DOC_A, DOC_B, INVALID, StoreFactory
from flagware.testing.writes import WriteContract

__all__ = ["StoreContract"]


class StoreContract(WriteContract):
    """Tests any Store must pass; subclasses provide ``make_store``."""

    @pytest.fixture
    def make_store(self) -> StoreFactory:
        raise NotImplementedError("override the make_store fixture")

    @pytest.fixture
    def store(self, make_store: StoreFactory) -> Store:
        return make_store(DOC_A)

    # --- reading ---------------------------------------------------------------------------

    def test_ruleset_is_the_loaded_document(self, store: Store) -> None:
        check_equal(store.ruleset(), Ruleset.from_dict(DOC_A))
        check_equal(store.ruleset().to_dict(), DOC_A)

    def test_ruleset_is_served_from_memory(self, store: Store) -> None:
        first = store.ruleset()
        check_is(store.ruleset(), first)
        check_is(store.engine(), store.engine())

    def test_engine_matches_the_ruleset(self, store: Store) -> None:
        engine = store.engine()
        check(isinstance(engine, Engine))
        check_is(engine.ruleset, store.ruleset())
        check(engine.is_released_to("beta", Account(id="acct-1")))
        check(not engine.is_released_to("beta", ACCOUNT))
        check_equal(engine.evaluate_all(Account(id="tester")).enabled_flags(), {"beta", "ab"})

    def test_version_starts_positive(self, store: Store) -> None:
        check(store.version >= 1)

    # --- saving ----------------------------------------------------------------------------

    def test_save_a_document_replaces_the_ruleset(self, store: Store) -> None:
        store.save(DOC_B)
        check_equal(store.ruleset(), Ruleset.from_dict(DOC_B))
        check_is(store.engine().ruleset, store.ruleset())
        check_equal(
            store.engine().evaluate_all(ACCOUNT).as_dict(),
            {
                "beta": True,
                "launch": True,
                "old": False,
            },
        )
        check(not store.engine().evaluate_all(ACCOUNT).is_enabled("not_defined"))

    def test_save_a_ruleset_replaces_the_ruleset(self, store: Store) -> None:
        replacement = Ruleset.from_dict(DOC_B)
        store.save(replacement)
        check_equal(store.ruleset(), replacement)
        check_equal(set(store.ruleset().flags), {"beta", "launch", "old"})

    def test_save_replaces_the_whole_ruleset(self, store: Store) -> None:
        store.save({"flags": {"only": {}}})
        check_equal(set(store.ruleset().flags), {"only"})
        check_equal(store.ruleset().test_users, frozenset())

    def test_version_increases_with_each_save(self, store: Store) -> None:
        versions = [store.version]
        for doc in (DOC_B, DOC_A, DOC_B):
            store.save(doc)
            versions.append(store.version)
        check_equal(versions, sorted(set(versions)))

    def test_invalid_document_is_rejected_and_the_old_ruleset_kept(self, store: Store) -> None:
        before, engine, version = store.ruleset(), store.engine(), store.version
        with pytest.raises(RulesetError, match=r"flags\.beta\.strategies\[0\]\.percent"):
            store.save(INVALID)
        check_is(store.ruleset(), before)
        check_is(store.engine(), engine)
        check_equal(store.version, version)

    def test_unknown_strategy_type_is_rejected(self, store: Store) -> None:
        with pytest.raises(RulesetError, match="no_such_strategy"):
            store.save({"flags": {"x": {"strategies": [{"type": "no_such_strategy"}]}}})
        check_equal(store.ruleset(), Ruleset.from_dict(DOC_A))

    def test_a_later_store_reads_what_was_saved(
        self, store: Store, make_store: StoreFactory
    ) -> None:
        store.save(DOC_B)
        check_equal(make_store(store.ruleset().to_dict()).ruleset(), store.ruleset())

    # --- subscribing -----------------------------------------------------------------------

    def test_listeners_receive_the_new_ruleset(self, store: Store) -> None:
        received: list[Ruleset] = []
        store.subscribe(received.append)
        store.save(DOC_B)
        check(received)
        check_equal(received[-1], Ruleset.from_dict(DOC_B))
        check_is(received[-1], store.ruleset())

    def test_listeners_see_the_change_already_applied(self, store: Store) -> None:
        seen: list[bool] = []
        store.subscribe(lambda ruleset: seen.append(store.ruleset() is ruleset))
        store.save(DOC_B)
        check(seen)
        check(all(seen))

    def test_rejected_save_notifies_nobody(self, store: Store) -> None:
        received: list[Ruleset] = []
        store.subscribe(received.append)
        with pytest.raises(RulesetError):
            store.save(INVALID)
        check_equal(received, [])

    def test_unsubscribe(self, store: Store) -> None:
        received: list[Ruleset] = []
        unsubscribe = store.subscribe(received.append)
        store.save(DOC_B)
        count = len(received)
        unsubscribe()
        unsubscribe()  # a second call is harmless
        store.save(DOC_A)
        check_equal(len(received), count)

    def test_raising_listener_does_not_break_save(
        self, store: Store, caplog: pytest.LogCaptureFixture
    ) -> None:
        def broken(ruleset: Ruleset) -> None:
            raise RuntimeError("listener bug")

        received: list[Ruleset] = []
        store.subscribe(broken)
        store.subscribe(received.append)
        with caplog.at_level(logging.ERROR, logger="flagware"):
            store.save(DOC_B)
        check_equal(store.ruleset(), Ruleset.from_dict(DOC_B))
        check(received)
        check_equal(received[-1], Ruleset.from_dict(DOC_B))
        check(
            any(
                r.name == "flagware" and r.exc_info and "listener bug" in str(r.exc_info[1])
                for r in caplog.records
            )
        )

    # --- closing ---------------------------------------------------------------------------

    def test_close_is_idempotent_and_keeps_the_ruleset_readable(self, store: Store) -> None:
        store.save(DOC_B)
        store.close()
        store.close()
        check_equal(store.ruleset(), Ruleset.from_dict(DOC_B))
        check(store.engine().is_released_to("beta", ACCOUNT))

    def test_context_manager_closes(self, make_store: StoreFactory) -> None:
        with make_store(DOC_A) as store:
            check_equal(store.ruleset(), Ruleset.from_dict(DOC_A))
        store.close()
        check_equal(store.ruleset(), Ruleset.from_dict(DOC_A))

    def test_repr_mentions_the_version(self, store: Store) -> None:
        check_in(f"version {store.version}", repr(store))
