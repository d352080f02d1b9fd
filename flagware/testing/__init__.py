"""Testing with flagware: flags for your app's tests, and the contract every store must meet.

For your application's tests (see docs/testing.md):

- :class:`TestData`, a store (a :class:`~flagware.MemoryStore`) whose flags a test changes
  mid-test with a small builder: ``td.update(td.flag("new_checkout").for_accounts("a"))``
  or ``td.set("new_checkout", True)``. Hand it to a middleware or integration as its store.
- :class:`TestFlags`, the flags ``flagware.flags`` reads in a test, without any store.
- :func:`override_header`, the header a test user sends to override flags.
- The pytest plugin (:mod:`flagware.testing.plugin`, loaded by an entry point): the
  ``flagware_flags`` and ``flagware_store`` fixtures and the ``flagware_flags`` marker.

For a store backend's author: the store contract, a reusable pytest class. Subclass
:class:`StoreContract` in a ``test_*.py`` module as ``TestSomethingStore`` and override the
``make_store`` fixture; it returns a factory that builds a fresh store holding a given
ruleset document (and closes what it built at teardown)::

    import pytest
    from flagware import Store
    from flagware.testing import StoreContract

    class TestPostgresStore(StoreContract):
        @pytest.fixture
        def make_store(self, database):
            stores = []
            def make(doc):
                store = Store(PostgresBackend(database, doc), poll_interval=0.1)
                stores.append(store)
                return store
            yield make
            for store in stores:
                store.close()

flagware runs the same class against its memory, file and Redis stores.

Every name is imported on first use (PEP 562): the pytest plugin imports this package in
every session of a project that has flagware installed, so importing it must cost
nothing, must not need pytest, and must work under ``python -O`` (the contract too: its
checks are functions that raise, not assert statements, which ``-O`` strips).
"""

from __future__ import annotations

import importlib
import typing

if typing.TYPE_CHECKING:
    from flagware.testing._checks import ContractFailure
    from flagware.testing.contract import StoreContract
    from flagware.testing.documents import (
        ACCOUNT,
        DOC_A,
        DOC_B,
        INVALID,
        StoreFactory,
        canonical,
    )
    from flagware.testing.flags import TestFlags
    from flagware.testing.headers import override_header
    from flagware.testing.testdata import FlagBuilder, TestData
    from flagware.testing.writes import WriteContract

# Each public name and the module that defines it, imported on first read.
_HOMES = {
    "ACCOUNT": "flagware.testing.documents",
    "ContractFailure": "flagware.testing._checks",
    "DOC_A": "flagware.testing.documents",
    "DOC_B": "flagware.testing.documents",
    "FlagBuilder": "flagware.testing.testdata",
    "INVALID": "flagware.testing.documents",
    "StoreContract": "flagware.testing.contract",
    "StoreFactory": "flagware.testing.documents",
    "TestData": "flagware.testing.testdata",
    "TestFlags": "flagware.testing.flags",
    "WriteContract": "flagware.testing.writes",
    "canonical": "flagware.testing.documents",
    "override_header": "flagware.testing.headers",
}


def __getattr__(name: str) -> typing.Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'flagware.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # the next read is a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "ACCOUNT",
    "DOC_A",
    "DOC_B",
    "INVALID",
    "ContractFailure",
    "FlagBuilder",
    "StoreContract",
    "StoreFactory",
    "TestData",
    "TestFlags",
    "WriteContract",
    "canonical",
    "override_header",
]
