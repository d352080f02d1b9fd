"""TestData behind the real middlewares: a Flask app (WSGI) and a Starlette app (ASGI),
their flags changed mid-test through the ``flagware_store`` fixture, test users
overriding with ``override_header``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask, jsonify
from starlette.applications import Starlette
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from werkzeug.wrappers import Request as WerkzeugRequest

import flagware
from flagware import Account
from flagware.asgi import FlagwareMiddleware as ASGIMiddleware
from flagware.testing import TestData, override_header
from flagware.wsgi import FlagwareMiddleware as WSGIMiddleware


def account_of(request: WerkzeugRequest | HTTPConnection) -> Account | None:
    """The account a trusted gateway named in X-Account-Id."""
    account_id = request.headers.get("X-Account-Id")
    return Account(account_id) if account_id else None


def flask_app(store: TestData) -> Flask:
    app = Flask(__name__)

    @app.get("/checkout")
    def checkout() -> Any:
        return jsonify(
            new=flagware.flags.is_enabled("new_checkout"),
            button=flagware.flags.variant("button"),
        )

    app.wsgi_app = WSGIMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, store=store, resolve_account=account_of
    )
    return app


async def checkout(request: Request) -> JSONResponse:
    return JSONResponse(
        {
            "new": flagware.flags.is_enabled("new_checkout"),
            "button": flagware.flags.variant("button"),
        }
    )


def starlette_app(store: TestData) -> ASGIMiddleware:
    return ASGIMiddleware(
        Starlette(routes=[Route("/checkout", checkout)]), store=store, resolve_account=account_of
    )


def get(client: Any, account: str | None = None, **overrides: bool | str) -> dict[str, Any]:
    headers = {"X-Account-Id": account} if account else {}
    if overrides:
        headers.update([override_header(overrides)])
    response = client.get("/checkout", headers=headers)
    assert response.status_code == 200
    body: dict[str, Any] = json.loads(response.text)  # werkzeug's and httpx's responses
    return body


@pytest.fixture(params=["flask", "starlette"])
def client(request: pytest.FixtureRequest, flagware_store: TestData) -> Any:
    if request.param == "flask":
        return flask_app(flagware_store).test_client()
    return TestClient(starlette_app(flagware_store))


def test_flags_change_mid_test(client: Any, flagware_store: TestData) -> None:
    flagware_store.set("new_checkout", False)
    assert get(client, "acct-1")["new"] is False
    flagware_store.update(flagware_store.flag("new_checkout").for_accounts("acct-1"))
    assert get(client, "acct-1")["new"] is True
    assert get(client, "acct-2")["new"] is False
    assert get(client)["new"] is False  # anonymous
    flagware_store.set("new_checkout", True)
    assert get(client)["new"] is True
    flagware_store.update(flagware_store.flag("new_checkout").kill())
    assert get(client, "acct-1")["new"] is False


def test_variants(client: Any, flagware_store: TestData) -> None:
    flagware_store.set("button", "green")
    assert get(client, "acct-1")["button"] == "green"
    flagware_store.update(flagware_store.flag("button").variant("blue"))
    assert get(client, "acct-1")["button"] == "blue"
    flagware_store.set("button", False)
    assert get(client, "acct-1")["button"] is None


@pytest.mark.flagware_flags(new_checkout=True, button="green")
def test_the_marker_seeds_the_store(client: Any, flagware_store: TestData) -> None:
    assert get(client, "acct-9") == {"new": True, "button": "green"}
    assert flagware_store.version == 1


def test_test_users_override_others_cannot(client: Any, flagware_store: TestData) -> None:
    flagware_store.set("new_checkout", False)
    flagware_store.add_test_user("tester")
    assert get(client, "tester")["new"] is True  # test users see every flag ...
    assert get(client, "tester", new_checkout=False)["new"] is False  # ... and override
    assert get(client, "tester", button="green")["button"] == "green"
    assert get(client, "acct-1", new_checkout=True)["new"] is False  # ignored
    flagware_store.remove_test_user("tester")
    assert get(client, "tester", new_checkout=True)["new"] is False


def test_an_overridden_response_is_not_cached(client: Any, flagware_store: TestData) -> None:
    flagware_store.add_test_user("tester")
    response = client.get(
        "/checkout", headers=dict([("X-Account-Id", "tester"), override_header({"x": True})])
    )
    assert response.headers["Cache-Control"] == "private, no-store"
