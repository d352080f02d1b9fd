"""The panel's lifecycle metadata: shown and searched in the list, set in the edit form."""

from __future__ import annotations

import re
from typing import Any

from flagware import Store
from tests.admin.support import Panel, on_both_stores, redirected_to

DOC: dict[str, Any] = {
    "flags": {
        "checkout_v2": {"strategies": [], "owner": "team-pay", "tags": ["payments", "q3"]},
        "search_box": {
            "strategies": [],
            "tags": ["ui"],
            "created": "2025-01-01",
            "expires": "2026-01-01",
        },
        "dark_mode": {"strategies": [], "owner": "Design"},
    }
}


def _rows(page: str) -> list[str]:
    return re.findall(r'<tr data-name="([^"]+)">', page)


@on_both_stores
def test_the_list_shows_and_searches_owner_tags_and_expiry(store: Store) -> None:
    store.save(DOC, actor="setup")
    panel = Panel.logged_in(store)
    page = panel.page("/")
    assert _rows(page) == ["checkout_v2", "dark_mode", "search_box"]
    row = re.search(r'<tr data-name="search_box">.*?</tr>', page, re.S)
    assert row
    assert "expired 2026-01-01" in row.group(0)
    assert '<a class="pill tag" href="/?tag=ui">ui</a>' in row.group(0)
    assert _rows(panel.page("/?q=PAY")) == ["checkout_v2"]  # the owner, and a tag
    assert _rows(panel.page("/?q=design")) == ["dark_mode"]
    assert _rows(panel.page("/?q=dark")) == ["dark_mode"]
    assert _rows(panel.page("/?tag=ui")) == ["search_box"]
    assert _rows(panel.page("/?tag=pay")) == []  # a tag link matches the whole tag
    assert _rows(panel.page("/?expired=1")) == ["search_box"]
    assert "No flag matches tagged nothing." in panel.page("/?tag=nothing")


def test_the_list_searches_a_thousand_flags_on_the_server(make_store: Any) -> None:
    flags = {
        f"flag_{i:04}": {"tags": [f"t{i % 10}"], "owner": f"team-{i % 7}"} for i in range(1000)
    }
    panel = Panel.logged_in(make_store("memory", {"flags": flags}))
    rows = _rows(panel.page("/?q=team-3&tag=t5"))
    assert rows == sorted(n for i, n in enumerate(flags) if i % 7 == 3 and i % 10 == 5)
    assert len(rows) == 14


@on_both_stores
def test_the_form_sets_and_clears_the_metadata(store: Store) -> None:
    store.save(DOC, actor="setup")
    panel = Panel.logged_in(store)
    found = panel.form("/flags/checkout_v2", "/flags/checkout_v2")
    assert found.value("owner") == "team-pay"
    assert found.value("tags") == "payments, q3"
    response = panel.save(
        "checkout_v2", owner="team-checkout", tags="payments beta", expires="2027-01-31"
    )
    assert redirected_to(response, "/flags/checkout_v2"), response.text[:300]
    flag = store.ruleset().flags["checkout_v2"]
    assert (flag.owner, flag.tags, str(flag.expires)) == (
        "team-checkout",
        ("payments", "beta"),
        "2027-01-31",
    )
    panel.save("checkout_v2", owner="", tags="", expires="", permanent="on")
    doc = store.ruleset().to_dict()["flags"]["checkout_v2"]
    assert doc == {"strategies": [], "permanent": True}


@on_both_stores
def test_bad_metadata_is_shown_at_its_field_and_nothing_is_written(store: Store) -> None:
    store.save(DOC, actor="setup")
    version = store.version
    panel = Panel.logged_in(store)
    response = panel.save("search_box", expires="soon", tags="ok, o k")
    assert response.status_code == 422
    assert "must be an ISO 8601 date (YYYY-MM-DD)" in response.text
    assert re.search(r'name="expires" value="soon"', response.text)
    response = panel.save("search_box", permanent="on")
    assert response.status_code == 422
    assert "a permanent flag cannot expire" in response.text
    assert store.version == version
