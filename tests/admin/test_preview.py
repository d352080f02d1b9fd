"""The flag editor's Preview button: the impact on the application's sample, nothing saved."""

from __future__ import annotations

import html
from collections.abc import Callable

import pytest

from flagware import Account, Store
from flagware.admin import BasicAuth, admin_app
from tests.admin.support import PASSWORD, USER, Panel, on_both_stores, snapshot

SAMPLE = [Account(f"acct-{i}", i) for i in range(1, 1001)] + [Account("tester", 3)]


def with_sample(store: Store, sample: Callable[[], list[Account]]) -> Panel:
    app = admin_app(store, auth=BasicAuth(USER, PASSWORD), sample_accounts=sample)
    return Panel(app, store)


def notice(page: str) -> str:
    start = page.index('id="preview"')
    return html.unescape(page[start : page.index("</div>", start)])


@on_both_stores
def test_preview_shows_the_impact_and_saves_nothing(store: Store) -> None:
    panel = with_sample(store, lambda: SAMPLE)
    before = snapshot(store)
    found = panel.form("/flags/pilot", "/flags/pilot")
    response = panel.submit(found, ("preview", "1"), s0__ids="acct-1, acct-2, acct-3")
    assert response.status_code == 200
    text = notice(response.text)
    assert "Preview, not saved:" in text
    assert "pilot: +1 accounts (0.2 % -> 0.3 % of 1,000 sampled), exact" in text
    assert "1 test users not counted" in text
    assert snapshot(store) == before
    # The form keeps the edit, so Save right after stores exactly what was previewed.
    assert "acct-1, acct-2, acct-3" in response.text


@on_both_stores
def test_a_percentage_preview_is_an_estimate(store: Store) -> None:
    panel = with_sample(store, lambda: SAMPLE)
    found = panel.form("/flags/beta", "/flags/beta")
    response = panel.submit(found, ("preview", "1"), s0__percent="75")
    assert "estimated" in notice(response.text)
    assert "of 1,000 sampled" in notice(response.text)


def test_an_invalid_edit_shows_its_problem_instead(store: Store) -> None:
    panel = with_sample(store, lambda: SAMPLE)
    before = snapshot(store)
    found = panel.form("/flags/beta", "/flags/beta")
    response = panel.submit(found, ("preview", "1"), s0__percent="250")
    assert response.status_code == 422
    assert 'id="preview"' not in response.text
    assert snapshot(store) == before


def test_a_failing_sample_provider_is_reported_not_raised(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> list[Account]:
        raise ConnectionError("the accounts database is down")

    panel = with_sample(store, broken)
    found = panel.form("/flags/beta", "/flags/beta")
    response = panel.submit(found, ("preview", "1"), s0__percent="30")
    assert response.status_code == 200
    assert "could not be read" in notice(response.text)
    assert "the accounts database is down" in caplog.text


def test_without_a_sample_there_is_no_preview_button(store: Store) -> None:
    page = Panel.logged_in(store).page("/flags/beta")
    assert 'name="preview"' not in page
    assert 'name="preview"' in with_sample(store, lambda: SAMPLE).page("/flags/beta")
