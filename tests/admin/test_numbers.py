"""Odd numbers never become a 500: ``²`` and ``٣`` (digits to ``str.isdigit()``), signs,
spaces and numbers past Python's 4,300-digit limit are answered with a 400 saying what was
wrong (or a 404 for a version in the path), and nothing is written."""

from __future__ import annotations

import html
from urllib.parse import quote, urlencode

from tests.admin.pages import errors, form
from tests.admin.support import Panel, snapshot

ODD = ["\u00b2", "\u0663", "\uff13", "1\u00b2", " 3", "3 ", "+3", "3_0", "0x3", "3.0", "9" * 19]
HUGE = ["9" * 5000, "1" + "0" * 4400]


def test_explain_refuses_an_account_number_it_cannot_read(panel: Panel) -> None:
    typed = [n for n in ODD if n == n.strip()]  # the field is stripped, as typed text is
    for number in [*typed, *HUGE, "-" + "9" * 5000, "--3", "-"]:
        response = panel.get("/explain?" + urlencode({"account": "a", "number": number}))
        assert response.status_code == 400, (number, response.text[:300])
        assert any("the account number must be a whole number" in e for e in errors(response.text))
        assert "explain-results" not in response.text
    for number, shown in (("-7", "-7"), ("0042", "0042")):  # signed, leading zeros: fine
        response = panel.get("/explain?" + urlencode({"account": "a", "number": number}))
        assert response.status_code == 200
        assert "explain-results" in response.text
        assert f'value="{shown}"' in response.text


def test_a_version_in_the_path_that_is_no_number_is_a_404(panel: Panel) -> None:
    panel.store.set_flag("other", {"strategies": []}, actor="bob")
    data = form(panel.page("/history/1"), "/history/1/restore").submission()
    before = snapshot(panel.store)
    for version in [*ODD, *HUGE]:
        path = "/history/" + quote(version)
        page = panel.get(path)
        assert page.status_code == 404, (version, page.text[:300])
        assert "There is no version" in page.text
        assert len(page.text) < 20_000  # it does not echo 5,000 digits back
        assert panel.post(path + "/restore", data).status_code == 404
    assert snapshot(panel.store) == before
    assert panel.get("/history/0001").status_code == 200  # leading zeros read as 1


def test_a_strategy_count_it_cannot_read_is_a_400(panel: Panel) -> None:
    found = form(panel.page("/flags/beta"), "/flags/beta")
    before = snapshot(panel.store)
    for count in [*ODD, *HUGE, "", "-1"]:
        response = panel.submit(found, ("save", "1"), strategy_count=count)
        assert response.status_code == 400, (count, response.text[:300])
        assert "strategy_count must be a whole number" in html.unescape(response.text)
    assert snapshot(panel.store) == before


def test_a_last_digit_it_cannot_read_is_a_400(panel: Panel) -> None:
    panel.store.set_flag("lucky", {"strategies": [{"type": "last_digit", "digits": [1]}]})
    found = form(panel.page("/flags/lucky"), "/flags/lucky")
    before = snapshot(panel.store)
    for digit in [*ODD, *HUGE]:
        response = panel.submit(found, ("save", "1"), s0__digits=digit)
        assert response.status_code == 400, (digit, response.text[:300])
        assert "s0.digits must be a whole number" in html.unescape(response.text)
    assert snapshot(panel.store) == before
    # A readable digit is saved as before.
    response = panel.submit(found, ("save", "1"), s0__digits="7")
    assert response.status_code == 303
    assert panel.store.ruleset().flags["lucky"].to_dict()["strategies"][0]["digits"] == [7]


def test_an_expected_version_it_cannot_read_is_a_400(panel: Panel) -> None:
    panel.store.set_flag("other", {"strategies": []}, actor="bob")
    found = form(panel.page("/history/1"), "/history/1/restore")
    before = snapshot(panel.store)
    for expected in [*ODD, *HUGE]:
        response = panel.submit(found, expected_version=expected)
        assert response.status_code == 400, (expected, response.text[:300])
        assert "expected_version must be a whole number" in html.unescape(response.text)
    assert snapshot(panel.store) == before
