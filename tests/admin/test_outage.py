"""The store fails (Redis down) while an operator uses the panel: every page says so in
words, with a 503 for what could not be done, never a bare 500; pages whose main content
does not need the history still work and say the history is missing."""

from __future__ import annotations

import copy
import html
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from flagware import Store
from flagware.errors import StoreUnavailable
from flagware.ruleset import Ruleset
from flagware.stores.audit import Change
from flagware.stores.backend import Committed, Latest, Loaded, Served
from flagware.stores.memory import MemoryBackend
from tests.admin.pages import Form, errors, form
from tests.admin.support import DOC, Panel, snapshot

OUTAGE = "RedisStore(localhost:6379/0, namespace='shop'): Redis is unavailable: refused"


class OutageBackend(MemoryBackend):
    """A memory backend whose calls fail like Redis's do while Redis is down: the same
    backend interface, wrapped, as a new backend would be."""

    down = False

    def latest(self, served: Served | None) -> Latest:
        if self.down:
            raise StoreUnavailable(OUTAGE)
        return super().latest(served)

    def commit(self, ruleset: Ruleset, token: int | None, **kwargs: Any) -> Committed | None:
        if self.down:
            raise StoreUnavailable(OUTAGE)
        return super().commit(ruleset, token, **kwargs)

    def history(self, limit: int | None) -> list[Change]:
        if self.down:
            raise StoreUnavailable(OUTAGE)
        return super().history(limit)


class OutageStore(Store):
    """A store on an OutageBackend; ``outage()`` takes the backend down for a while."""

    def __init__(self, doc: dict[str, Any]) -> None:
        first = Ruleset.from_dict(doc)
        self.outage_backend = OutageBackend(first)
        super().__init__(self.outage_backend, initial=Loaded(1, first))

    @contextmanager
    def outage(self) -> Iterator[None]:
        self.outage_backend.down = True
        try:
            yield
        finally:
            self.outage_backend.down = False


@pytest.fixture
def outage_panel() -> Iterator[Panel]:
    store = OutageStore(copy.deepcopy(DOC))
    store.set_flag("beta", {"strategies": [{"type": "percentage", "percent": 30}]}, actor="bob")
    yield Panel.logged_in(store)
    store.close()


def _store(panel: Panel) -> OutageStore:
    assert isinstance(panel.store, OutageStore)
    return panel.store


def _refused_for_outage(response_text: str) -> bool:
    return any("Redis is unavailable" in e for e in errors(response_text))


@pytest.mark.parametrize(
    ("page", "action", "changes"),
    [
        ("/flags/beta", "/flags/beta", {"s0__percent": "40"}),
        ("/flags/beta", "/flags/beta/enabled", {}),
        ("/flags/beta", "/flags/beta/delete", {}),
        ("/", "/flags", {"name": "brand_new"}),
        ("/test-users", "/test-users", {"account": "acct-9"}),
        ("/history/1", "/history/1/restore", {}),
    ],
)
def test_a_write_during_an_outage_says_the_store_is_unavailable(
    outage_panel: Panel, page: str, action: str, changes: dict[str, str]
) -> None:
    store = _store(outage_panel)
    found: Form = outage_panel.forms(page, action)[0]  # on /test-users: "add"
    before = snapshot(store)
    with store.outage():
        button = ("save", "1") if action == "/flags/beta" else None
        response = outage_panel.submit(found, button, **changes)
    assert response.status_code == 503, response.text[:300]
    assert _refused_for_outage(response.text)
    assert "Not saved" in html.unescape(response.text)
    assert "content-security-policy" in response.headers  # still the panel's own page
    assert snapshot(store) == before


@pytest.mark.parametrize("path", ["/history", "/history/2"])
def test_history_pages_during_an_outage_say_the_history_is_unavailable(
    outage_panel: Panel, path: str
) -> None:
    store = _store(outage_panel)
    with store.outage():
        response = outage_panel.get(path)
    assert response.status_code == 503
    assert _refused_for_outage(response.text)
    assert "No recorded changes" not in response.text
    assert "not in the history" not in response.text  # not a misleading 404


@pytest.mark.parametrize("path", ["/", "/flags/beta"])
def test_pages_that_show_history_on_the_side_still_work_and_say_it_is_missing(
    outage_panel: Panel, path: str
) -> None:
    store = _store(outage_panel)
    with store.outage():
        page = outage_panel.page(path)
    assert any(
        "history could not be read" in e and "Redis is unavailable" in e for e in errors(page)
    )
    form_page = outage_panel.page("/flags/beta")  # back up: no notice
    assert not [e for e in errors(form_page) if "history" in e]
    assert form(form_page, "/flags/beta")
