"""The panel's segments page: list who each segment holds and which flags use it, add and
edit one as JSON (problems shown, nothing saved), delete one no flag uses; and a flag's
prerequisites shown where it says who it is released to."""

from __future__ import annotations

import json
from typing import Any

from flagware import Account, Store
from flagware.admin.guard import CSRF_FIELD
from tests.admin.support import Panel, on_both_stores, redirected_to

DOC: dict[str, Any] = {
    "segments": {
        "beta": {
            "description": "friendly",
            "strategies": [{"type": "accounts", "ids": ["acct-1"]}],
        },
        "unused": {"strategies": [{"type": "everyone"}]},
    },
    "flags": {
        "checkout": {"strategies": [{"type": "segment", "name": "beta"}]},
        "banner": {"prerequisites": [{"flag": "checkout"}], "strategies": [{"type": "everyone"}]},
    },
}


@on_both_stores
def test_the_page_lists_each_segment_with_its_audience_and_users(store: Store) -> None:
    store.save(DOC, actor="setup")
    page = Panel.logged_in(store).page("/segments")
    assert "<strong>beta</strong>" in page
    assert "friendly" in page
    assert "accounts acct-1" in page
    assert '<a href="/flags/checkout">checkout</a>' in page
    assert 'aria-label="Delete unused"' in page
    assert 'aria-label="Delete beta"' not in page  # in use


@on_both_stores
def test_editing_a_segment_moves_every_flag_using_it(store: Store) -> None:
    store.save(DOC, actor="setup")
    panel = Panel.logged_in(store)
    (edit,) = [f for f in panel.forms("/segments", "/segments") if f.value("name") == "beta"]
    body = json.dumps({"strategies": [{"type": "accounts", "ids": ["acct-9"]}]})
    response = panel.submit(edit, document=body)
    assert redirected_to(response, "/segments")
    engine = store.engine()
    assert engine.is_released_to("checkout", Account("acct-9"))
    assert not engine.is_released_to("checkout", Account("acct-1"))
    assert store.history(limit=1)[0].actor == "ann"


@on_both_stores
def test_a_bad_segment_shows_its_problems_and_saves_nothing(store: Store) -> None:
    store.save(DOC, actor="setup")
    panel = Panel.logged_in(store)
    version = store.version
    new = panel.forms("/segments", "/segments")[-1]
    bad = json.dumps({"strategies": [{"type": "percentage", "percent": 250}]})
    response = panel.submit(new, name="tenth", document=bad)
    assert response.status_code == 422
    assert "segments.tenth.strategies[0].percent" in response.text
    assert "tenth" in response.text  # the form keeps what was typed
    response = panel.submit(new, name="tenth", document="{not json")
    assert response.status_code == 422
    assert "not JSON" in response.text
    assert store.version == version


@on_both_stores
def test_a_segment_no_flag_uses_can_be_deleted(store: Store) -> None:
    store.save(DOC, actor="setup")
    panel = Panel.logged_in(store)
    (delete,) = panel.forms("/segments", "/segments/delete")
    assert delete.value("name") == "unused"
    assert redirected_to(panel.submit(delete), "/segments")
    assert list(store.ruleset().segments) == ["beta"]
    in_use = panel.post("/segments/delete", {"name": "beta", CSRF_FIELD: panel.token})
    assert in_use.status_code == 422
    assert "unknown segment &#39;beta&#39;" in in_use.text
    assert list(store.ruleset().segments) == ["beta"]


@on_both_stores
def test_a_flag_page_names_its_prerequisites_and_keeps_them_on_save(store: Store) -> None:
    store.save(DOC, actor="setup")
    panel = Panel.logged_in(store)
    assert "where checkout: everyone" in panel.page("/flags/banner")
    assert redirected_to(panel.save("banner", description="shown after checkout"), "/flags/banner")
    flag = store.ruleset().flags["banner"]
    assert flag.description == "shown after checkout"
    assert [p.flag for p in flag.prerequisites] == ["checkout"]


@on_both_stores
def test_a_segment_another_segment_uses_has_no_delete_button(store: Store) -> None:
    doc = {
        **DOC,
        "segments": {
            **DOC["segments"],
            "wider": {"strategies": [{"type": "segment", "name": "unused"}]},
        },
    }
    store.save(doc, actor="setup")
    page = Panel.logged_in(store).page("/segments")
    assert 'aria-label="Delete unused"' not in page
    assert "segment wider" in page
