"""The panel in process, as a browser sees it: logged in as "ann", holding the CSRF cookie.

``DOC`` is what the ``store`` fixture holds; ``on_both_stores`` runs a test on a MemoryStore
and on a RedisStore (the session's real redis-server, a namespace of its own).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient
from starlette.types import ASGIApp

from flagware import Store
from flagware.admin import BasicAuth, admin_app
from flagware.admin.guard import CSRF_COOKIE
from tests.admin.pages import Form, form, forms

USER = "ann"
PASSWORD = "correct horse"
ORIGIN = "http://testserver"  # TestClient's base URL: the panel's own origin

DOC: dict[str, Any] = {
    "schema": 1,
    "test_users": ["tester"],
    "unknown": "released",
    "flags": {
        "beta": {
            "description": "Beta features",
            "strategies": [{"type": "percentage", "percent": 25}],
        },
        "pilot": {"strategies": [{"type": "accounts", "ids": ["acct-1", "acct-2"]}]},
        "other": {"strategies": [{"type": "everyone"}]},
    },
}

on_both_stores = pytest.mark.parametrize("store", ["memory", "redis"], indirect=True)


class Panel:
    """A browser on the panel: logged in, keeps the CSRF cookie, never follows redirects."""

    def __init__(self, app: ASGIApp, store: Store, prefix: str = "") -> None:
        self.client = TestClient(app, follow_redirects=False)
        self.client.auth = (USER, PASSWORD)
        self.store = store
        self.prefix = prefix

    @classmethod
    def logged_in(cls, store: Store) -> Panel:
        """The panel on ``store`` with Basic auth, and a browser logged in to it."""
        return cls(admin_app(store, auth=BasicAuth(USER, PASSWORD)), store)

    def get(self, path: str, **kwargs: Any) -> httpx2.Response:
        return self.client.get(self.prefix + path, **kwargs)

    def post(
        self, path: str, data: Mapping[str, str | list[str]] | None = None, **kwargs: Any
    ) -> httpx2.Response:
        return self.client.post(self.prefix + path, data=data or {}, **kwargs)

    def page(self, path: str) -> str:
        response = self.get(path)
        assert response.status_code == 200, (path, response.status_code, response.text[:500])
        return response.text

    def forms(self, path: str, action: str) -> list[Form]:
        """Every form posting to ``action`` on the page at ``path``."""
        return [f for f in forms(self.page(path)) if f.action == self.prefix + action]

    def form(self, path: str, action: str) -> Form:
        """The form posting to ``action`` on the page at ``path``."""
        return form(self.page(path), self.prefix + action)

    def submit(
        self,
        found: Form,
        button: tuple[str, str] | None = None,
        *,
        headers: dict[str, str] | None = None,
        **changes: str,
    ) -> httpx2.Response:
        return self.client.post(
            found.action, data=found.submission(button, **changes), headers=headers
        )

    def save(self, name: str, **changes: str) -> httpx2.Response:
        """Open flag ``name``'s form, change fields, press Save."""
        found = self.form(f"/flags/{name}", f"/flags/{name}")
        return self.client.post(found.action, data=found.submission(("save", "1"), **changes))

    @property
    def token(self) -> str:
        if CSRF_COOKIE not in self.client.cookies:
            self.page("/")
        return str(self.client.cookies[CSRF_COOKIE])


def snapshot(store: Store) -> tuple[int, dict[str, Any]]:
    """What a refused write must leave as it was."""
    return store.version, store.ruleset().to_dict()


def redirected_to(response: httpx2.Response, path: str) -> bool:
    location = response.headers.get("location", "")
    return response.status_code == 303 and location.split("?")[0] == path
