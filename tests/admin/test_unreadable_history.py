"""Bad data in the audit stream never takes the panel down: every page still answers, shows
what of a damaged entry can be read and marks the rest unreadable; a version whose rules
cannot be read is never restored (its placeholder would wipe every flag)."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
import redis

from flagware import Store
from tests.admin.pages import form, forms
from tests.admin.support import DOC, Panel, redirected_to, snapshot
from tests.damaged_audit import ACTOR, DAMAGES, FLAG, Damage, audit_key, write_entry
from tests.redis_server import RedisServer

DAMAGED = 3  # the damaged entry's version: after two real writes
damages = pytest.mark.parametrize("damage", DAMAGES, ids=lambda d: d.name)
unreadable_rules = pytest.mark.parametrize(
    "damage", [d for d in DAMAGES if "document" in d.unreadable], ids=lambda d: d.name
)


@pytest.fixture
def raw(redis_server: RedisServer) -> Any:
    client = redis.Redis.from_url(redis_server.url)
    yield client
    client.close()


@pytest.fixture
def damaged(make_store: Any, raw: redis.Redis, namespace: str) -> Any:
    """A panel on a RedisStore whose history holds two real writes, then one damaged entry."""

    def make(damage: Damage) -> Panel:
        store: Store = make_store("redis")
        store.save(DOC, actor="ann")
        store.set_flag("pilot", {"strategies": []}, actor="ann")
        assert store.version == DAMAGED - 1
        write_entry(raw, namespace, damage, DAMAGED, DAMAGED - 1, DOC)
        return Panel.logged_in(store)

    return make


def history_row(page: str, version: int) -> str:
    match = re.search(
        rf'<tr>\s*<td><a href="/history/{version}">v{version}</a>.*?</tr>', page, re.S
    )
    assert match, f"no row for v{version} in the history"
    return html.unescape(match.group(0))


def flag_row(page: str, name: str) -> str:
    match = re.search(rf'<tr data-name="{name}">.*?</tr>', page, re.S)
    assert match
    return html.unescape(match.group(0))


@damages
def test_every_page_shows_a_damaged_entry_with_its_unreadable_parts_marked(
    damaged: Any, damage: Damage
) -> None:
    panel = damaged(damage)
    for path in ("/", "/history", f"/history?flag={FLAG}", f"/flags/{FLAG}", "/flags/pilot"):
        response = panel.get(path)
        assert response.status_code == 200, (path, response.text[:300])

    change = panel.store.history()[0]
    assert (change.version, change.unreadable) == (DAMAGED, damage.unreadable)

    row = history_row(panel.page("/history"), DAMAGED)
    assert damage.marker in row
    for readable in damage.keeps:
        assert readable in row
    assert history_row(panel.page("/history"), DAMAGED - 1)  # the real entries are still there

    if "summary" not in damage.unreadable:  # it still says which flag it changed
        assert f"v{DAMAGED}" in flag_row(panel.page("/"), FLAG)
        assert damage.marker in history_row(panel.page(f"/flags/{FLAG}"), DAMAGED)

    page = html.unescape(panel.page(f"/history/{DAMAGED}"))
    assert "Parts of this audit entry are unreadable" in page
    restores = [f for f in forms(page) if f.action == f"/history/{DAMAGED}/restore"]
    if "document" in damage.unreadable:
        assert f"Version {DAMAGED} cannot be restored" in page
        assert restores == []
    else:
        assert len(restores) == 1
    if "at" in damage.unreadable:
        assert "unknown time" in page


@unreadable_rules
def test_a_version_whose_rules_are_unreadable_is_not_restored(damaged: Any, damage: Damage) -> None:
    panel = damaged(damage)
    # The form as an earlier page showed it (a readable neighbour's, pointed at the version).
    fields = form(panel.page("/history/1"), "/history/1/restore")
    before = snapshot(panel.store)
    response = panel.post(f"/history/{DAMAGED}/restore", fields.submission())
    assert response.status_code == 422
    assert f"Version {DAMAGED} cannot be restored" in html.unescape(response.text)
    assert "unreadable" in response.text
    assert snapshot(panel.store) == before
    assert panel.store.ruleset().flags  # not wiped


def test_a_version_with_readable_rules_restores_whatever_else_is_damaged(
    damaged: Any,
) -> None:
    damage = next(d for d in DAMAGES if d.name == "actor-not-utf8")
    panel = damaged(damage)
    response = panel.submit(form(panel.page(f"/history/{DAMAGED}"), f"/history/{DAMAGED}/restore"))
    assert redirected_to(response, "/history")
    assert panel.store.ruleset().flags[FLAG].description == "from the damaged entry"
    assert panel.store.history()[0].action == f"restore {DAMAGED}"


def test_an_entry_without_a_readable_version_is_left_out(
    make_store: Any, raw: redis.Redis, namespace: str
) -> None:
    """Versions are ASCII digits: a sign, a space, an underscore or another script's digits
    (which int() accepts) make no version, nor does a number past Python's digit limit."""
    store: Store = make_store("redis")
    store.save(DOC, actor="ann")
    damage = Damage("bad-version", {}, (), ACTOR)
    for version in ("\u0663", "\u00b2", "-3", " 4", "4_0", "x", "9" * 5000):
        entry = {**damage.entry(0, 1, DOC), "version": version, "actor": "mallory"}
        raw.xadd(audit_key(namespace), entry)  # type: ignore[arg-type]
    raw.xadd(audit_key(namespace), {"actor": "mallory"})
    panel = Panel.logged_in(store)
    page = panel.page("/history")
    assert [c.version for c in store.history()] == [1]
    assert history_row(page, 1)
    assert "mallory" not in page
