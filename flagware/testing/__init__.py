"""The contract every Store must meet, as a reusable pytest class (needs pytest).

A backend author runs it against a store on their backend: subclass
:class:`StoreContract` in a ``test_*.py`` module as ``TestSomethingStore`` and override
the ``make_store`` fixture; it returns a factory that builds a fresh store holding a given
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
"""

from __future__ import annotations

import sys

import pytest

if sys.flags.optimize:
    # Its checks are assert statements, which -O strips: every test would pass unchecked.
    raise RuntimeError("flagware.testing's store contract cannot run under python -O")

# The contract is pytest tests, written with plain ``assert`` as pytest tests are: let
# pytest rewrite them (for their failure messages) although they sit in a package.
pytest.register_assert_rewrite("flagware.testing.contract", "flagware.testing.writes")

from flagware.testing.contract import StoreContract  # noqa: E402 - after the rewrite hook
from flagware.testing.documents import ACCOUNT, DOC_A, DOC_B, INVALID, StoreFactory, canonical  # noqa: E402
from flagware.testing.writes import WriteContract  # noqa: E402

__all__ = [
    "ACCOUNT",
    "DOC_A",
    "DOC_B",
    "INVALID",
    "StoreContract",
    "StoreFactory",
    "WriteContract",
    "canonical",
]
