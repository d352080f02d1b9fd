"""A backend written the way a third party would: SQLite (the standard library's), a
page of code over the public Backend interface, passing the shipped store contract.

It is shared (another process may write the database), so the Store facade follows it
by polling and two stores on one file see each other's writes.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flagware import Ruleset, Store, StoreUnavailable
from flagware.stores import BaseBackend
from flagware.stores.audit import Change, summarize
from flagware.stores.backend import Committed, Latest, Loaded, Served
from flagware.testing import DOC_A, DOC_B, StoreContract, StoreFactory


class SQLiteBackend(BaseBackend):
    """The ruleset in one row, the history in a table; compare-and-set in a transaction."""

    name = "sqlite"
    label = "the database"
    shared = True

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.executescript(
            "CREATE TABLE IF NOT EXISTS ruleset (id INTEGER PRIMARY KEY, version INT, doc TEXT);"
            "CREATE TABLE IF NOT EXISTS audit (version INT, previous INT, actor TEXT, at REAL,"
            " action TEXT, summary TEXT, doc TEXT);"
        )

    def describe(self) -> str:
        return f"SQLiteStore({self.path.name})"

    def _row(self) -> tuple[int, dict[str, Any]]:
        try:
            row = self._db.execute("SELECT version, doc FROM ruleset WHERE id = 1").fetchone()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"{self.describe()}: {exc}") from exc
        return (row[0], json.loads(row[1])) if row else (0, Ruleset().to_dict())

    def load(self, served: Served | None) -> Loaded | None:
        with self._lock:
            version, doc = self._row()
        if version == 0 or (served is not None and served.version == version):
            return None
        return Loaded(version, Ruleset.from_dict(doc, source=str(self.path)))

    def latest(self, served: Served | None) -> Latest:
        with self._lock:
            return Latest(*self._row())

    def commit(
        self, ruleset: Ruleset, token: int | None, *, actor: str, action: str,
        before: dict[str, Any] | None, served: Served | None = None,
    ) -> Committed | None:  # fmt: skip
        doc = ruleset.to_dict()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                current, _ = self._row()
                if token is not None and token != current:
                    return None
                version = current + 1
                self._db.execute(
                    "INSERT OR REPLACE INTO ruleset VALUES (1, ?, ?)", (version, json.dumps(doc))
                )
                summary = json.dumps(summarize(before if current else None, doc))
                self._db.execute(
                    "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (version, current, actor, time.time(), action, summary, json.dumps(doc)),
                )
            finally:
                self._db.execute("COMMIT")
        return Committed(version)

    def history(self, limit: int | None) -> list[Change]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM audit ORDER BY version DESC LIMIT ?", (limit or -1,)
            ).fetchall()
        return [
            Change(v, p, actor, at, action, json.loads(summary), json.loads(doc))
            for v, p, actor, at, action, summary, doc in rows
        ]

    def close(self) -> None:
        self._db.close()


def sqlite_store(path: Path, doc: dict[str, Any] | None = None) -> Store:
    backend = SQLiteBackend(path)
    if doc is not None:
        backend.commit(Ruleset.from_dict(doc), 0, actor="seed", action="load", before=None)
    return Store(backend, poll_interval=0.05)


class TestSQLiteStore(StoreContract):
    @pytest.fixture
    def make_store(self, tmp_path: Path) -> Iterator[StoreFactory]:
        made: list[Store] = []

        def make(doc: dict[str, Any]) -> Store:
            store = sqlite_store(tmp_path / f"rules-{len(made)}.db", doc)
            made.append(store)
            return store

        yield make
        for store in made:
            store.close()


def test_two_stores_on_one_database_follow_each_other(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    with sqlite_store(path, DOC_A) as writer, sqlite_store(path) as follower:
        assert follower.ruleset() == writer.ruleset()
        commit = writer.save(DOC_B)
        deadline = time.monotonic() + 5
        while follower.version != commit.version and time.monotonic() < deadline:
            time.sleep(0.01)
        assert follower.ruleset() == Ruleset.from_dict(DOC_B)
        assert follower.health().source == "sqlite"


def test_an_empty_database_starts_fail_closed(tmp_path: Path) -> None:
    with sqlite_store(tmp_path / "empty.db") as store:
        assert store.health().source == "fail-closed"
        assert store.ruleset().unknown == "hidden"
        store.save(DOC_A)
        assert store.health().source == "sqlite"
