"""MemoryStore: the store contract, plus what only a memory store does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from flagware import MemoryStore, Ruleset, RulesetError, Store
from flagware.testing import DOC_A, INVALID, StoreContract, StoreFactory


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def make_store(self) -> Iterator[StoreFactory]:
        made: list[Store] = []

        def make(doc: dict[str, Any]) -> Store:
            store = MemoryStore(doc)
            made.append(store)
            return store

        yield make
        for store in made:
            store.close()


def test_built_from_a_ruleset_keeps_it() -> None:
    ruleset = Ruleset.from_dict(DOC_A)
    store = MemoryStore(ruleset)
    assert store.ruleset() is ruleset
    assert store.version == 1


def test_invalid_document_at_start_raises() -> None:
    with pytest.raises(RulesetError):
        MemoryStore(INVALID)


def test_rejects_what_is_not_a_ruleset() -> None:
    with pytest.raises(TypeError, match="Ruleset"):
        MemoryStore(["not", "a", "document"])  # type: ignore[arg-type]
    store = MemoryStore(DOC_A)
    with pytest.raises(TypeError):
        store.save("flags.yaml")  # type: ignore[arg-type]
    assert store.ruleset() == Ruleset.from_dict(DOC_A)


def test_clock_is_passed_to_the_engine() -> None:
    doc = {
        "flags": {"launch": {"strategies": [{"type": "schedule", "after": "2030-01-01T00:00:00Z"}]}}
    }
    early = MemoryStore(doc, clock=lambda: 0.0)
    late = MemoryStore(doc, clock=lambda: 2_000_000_000.0)
    assert not early.engine().evaluate_all(None)["launch"]
    assert late.engine().evaluate_all(None)["launch"]
