"""Whatever operators, applications or attackers put in the rules is shown as text, never run
as markup; and every response tells the browser to be strict about the panel."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

import httpx2
import pytest

from flagware import Store
from flagware.admin import BasicAuth, admin_app
from tests.admin.pages import form
from tests.admin.support import Panel, snapshot

EVIL = '<script>alert(1)</script>"onmouseover=alert(2) x="'
# BasicAuth user names cannot hold ':', Basic credentials are sent UTF-8 encoded.
EVIL_OPERATOR = "<script>alert(3)</script>\"onmouseover='alert(4)'"

EVIL_DOC: dict[str, Any] = {
    "schema": 1,
    "test_users": [EVIL],
    "unknown": "released",
    "flags": {
        "f": {
            "description": EVIL,
            "strategies": [
                {"type": "accounts", "ids": [EVIL]},
                {
                    "type": "attribute",
                    "attribute": "country",
                    "op": "in",
                    "values": [EVIL],
                    "when": [{"attribute": "plan", "op": "eq", "values": [EVIL]}],
                },
            ],
            "variants": {"control": 50, "green": 50},
        },
    },
}


def raw_markup(page: str) -> list[str]:
    """What of the hostile text came through unescaped."""
    return [s for s in ("<script>alert", '"onmouseover', "'alert(4)'") if s in page]


@pytest.fixture
def evil(make_store: Any) -> Panel:
    store = make_store("memory", EVIL_DOC)
    store.set_flag("g", {"description": EVIL, "strategies": []}, actor=EVIL)
    panel = Panel(admin_app(store, auth=BasicAuth(EVIL_OPERATOR, "pw")), store)
    panel.client.auth = (EVIL_OPERATOR, "pw")
    return panel


def every_page(panel: Panel) -> list[tuple[str, httpx2.Response]]:
    """Every page of the panel with the hostile data in play, including refusals."""
    pages = [
        (path, panel.get(path))
        for path in [
            "/",
            "/?q=" + quote(EVIL),
            "/flags/f",
            "/flags/g",
            "/test-users",
            "/history",
            "/history/1",
            "/history/2",
            "/history/3",
            "/explain?" + urlencode({"account": EVIL, "attributes": f"plan={EVIL}"}),
            "/explain?" + urlencode({"account": "a", "number": EVIL, "attributes": EVIL}),
            "/flags/" + quote(EVIL, safe=""),
        ]
    ]
    # A write by the hostile operator, so the history names them.
    pages.append(("kill", panel.submit(panel.form("/flags/g", "/flags/g/enabled"))))
    pages.append(("/history (after)", panel.get("/history")))
    pages.append(("/history/3 (after)", panel.get("/history/3")))
    # Refused writes echo what was typed.
    pages.append(("bad name", panel.submit(panel.form("/", "/flags"), name=EVIL)))
    found = panel.form("/flags/f", "/flags/f")
    pages.append(("invalid", panel.submit(found, ("save", "1"), s0__ids="", variants=EVIL)))
    panel.store.set_flag("f", {"description": "changed", "strategies": []}, actor=EVIL)
    pages.append(("conflict", panel.submit(found, ("save", "1"), description=EVIL + "!")))
    pages.append(("forged", panel.post("/flags/f/delete", {"csrf_token": EVIL})))
    return pages


def test_hostile_text_is_escaped_on_every_page(evil: Panel) -> None:
    pages = every_page(evil)
    statuses = {path: r.status_code for path, r in pages}
    assert statuses["/"] == 200
    assert statuses["conflict"] == 409
    assert statuses["invalid"] == 422
    assert statuses["forged"] == 403
    for path, response in pages:
        assert raw_markup(response.text) == [], path
    # And it is there, as text.
    description = evil.page("/flags/g")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;onmouseover=alert(2) x=&#34;" in description
    assert "signed in as <strong>&lt;script&gt;alert(3)" in description
    users = evil.page("/test-users")
    assert "<td>&lt;script&gt;alert(1)&lt;/script&gt;&#34;onmouseover" in users


def test_hostile_values_in_form_fields_read_back_unchanged(evil: Panel) -> None:
    found = evil.form("/flags/f", "/flags/f")
    assert found.value("description") == EVIL
    assert found.value("s0.ids") == json.dumps(EVIL)  # one id, though it has spaces
    remove = [
        f for f in evil.forms("/test-users", "/test-users") if f.fields[-1] == ("remove", "1")
    ]
    assert remove[0].value("account") == EVIL
    before = evil.store.ruleset().to_dict()
    assert evil.save("f").status_code == 303
    assert evil.store.ruleset().to_dict() == before
    assert evil.save("f", s0__when="plan eq pro").status_code == 303
    assert evil.store.history()[0].actor == EVIL_OPERATOR
    # The hostile test user can be removed through its own form.
    assert evil.submit(remove[0]).status_code == 303
    assert evil.store.ruleset().test_users == frozenset()


SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
    "referrer-policy": "same-origin",
}


def assert_strict(response: httpx2.Response) -> None:
    for header, value in SECURITY_HEADERS.items():
        assert value in response.headers.get(header, ""), (header, response.status_code)
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "form-action 'self'" in policy
    assert "unsafe-inline" not in policy


def test_every_response_carries_the_security_headers(panel: Panel) -> None:
    responses = [
        panel.get("/"),
        panel.get("/flags/beta"),
        panel.get("/test-users"),
        panel.get("/history"),
        panel.get("/history/1"),
        panel.get("/explain?account=a"),
        panel.get("/static/admin.css"),
        panel.get("/static/admin.js"),
        panel.get("/flags/nope"),  # 404
        panel.get("/nothing-here"),  # 404 from the router
        panel.post("/flags/beta/delete", {}),  # 403
        panel.submit(panel.form("/", "/flags"), name="bad name"),  # 422
        panel.submit(panel.form("/flags/beta", "/flags/beta/enabled")),  # 303
    ]
    assert {r.status_code for r in responses} == {200, 303, 403, 404, 422}
    for response in responses:
        assert_strict(response)


def test_pages_need_no_inline_script_or_style(panel: Panel) -> None:
    """The policy forbids inline code, so the pages must not rely on any."""
    for path in ("/", "/flags/beta", "/test-users", "/history", "/history/1", "/explain"):
        page = panel.page(path)
        assert "<script>" not in page
        assert "<style" not in page
        assert " style=" not in page
        assert " onclick=" not in page


def test_a_store_with_hostile_flag_keys_in_attributes_is_rendered_safely(store: Store) -> None:
    before = snapshot(store)
    panel = Panel.logged_in(store)
    response = panel.get("/explain?" + urlencode({"account": "a", "attributes": f"{EVIL}=1"}))
    assert response.status_code == 200
    assert raw_markup(response.text) == []
    assert snapshot(store) == before
    assert form(response.text.replace('method="get"', 'method="post"'), "/explain")
