"""FlagwareMiddleware through Django's test clients: sync (WSGI-like) and async (ASGI)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from django.test import AsyncClient, Client, override_settings

import flagware
from tests.django.conftest import BASE_FLAGWARE

OVERRIDE = {"X-Flagware-Override": "new_checkout=off, checkout_button=green"}


def get(path: str, account: str | None = None, **headers: str) -> Any:
    if account is not None:
        headers["X-Account-Id"] = account
    return Client().get(path, headers=headers)


def aget(path: str, account: str | None = None, **headers: str) -> Any:
    if account is not None:
        headers["X-Account-Id"] = account
    return asyncio.run(AsyncClient().get(path, headers=headers))


def flagware_settings(**changes: Any) -> Any:
    return override_settings(FLAGWARE={**BASE_FLAGWARE, **changes})


# --- flags in views and templates -------------------------------------------------------


def test_a_view_reads_the_requests_flags() -> None:
    body = get("/flags", "acct-42").json()
    assert body["account"] == "acct-42"
    assert body["flags"] == {
        "new_checkout": True,
        "alice_beta": False,
        "checkout_button": True,
        "old_search": False,
    }
    assert body["same"] is True  # request.flags is what flagware.flags reads
    assert not flagware.flags.active  # and nothing is left behind after the request


def test_an_anonymous_request_gets_the_flags_of_nobody() -> None:
    body = get("/flags").json()
    assert body["account"] is None
    assert body["flags"]["new_checkout"] is False
    assert body["flags"]["checkout_button"] is True


def test_templates_read_flags_through_the_context_processor() -> None:
    text = get("/template", "acct-42").text
    assert text.startswith("new checkout, button ")
    assert text.split("button ")[1].split(",")[0] in ("control", "green")
    assert text.endswith("search new")
    assert get("/template", "acct-7").text.startswith("old checkout")


def test_an_async_view_reads_the_flags_under_asgi() -> None:
    body = aget("/async-flags", "acct-42").json()
    assert body["async"] is True
    assert body["account"] == "acct-42"
    assert body["flags"]["new_checkout"] is True
    assert body["same"] is True


def test_sync_views_under_asgi_read_them_too() -> None:
    assert aget("/flags", "acct-42").json()["flags"]["new_checkout"] is True
    assert aget("/template", "acct-42").text.startswith("new checkout")


# --- streaming: the body is iterated after the middleware returned ------------------------


def test_a_streamed_body_sees_the_flags_while_it_is_iterated() -> None:
    response = get("/stream", "acct-42")  # the test client returns before iterating
    assert not flagware.flags.active
    assert b"".join(response.streaming_content) == b"new_checkout=True\n" * 3
    assert not flagware.flags.active


def test_an_async_streamed_body_sees_them_under_asgi() -> None:
    async def fetch() -> bytes:
        response = await AsyncClient().get("/async-stream", headers={"X-Account-Id": "acct-42"})
        assert not flagware.flags.active
        return b"".join([chunk async for chunk in response.streaming_content])

    assert asyncio.run(fetch()) == b"new_checkout=True\n" * 3


def test_a_test_users_override_reaches_the_streamed_body() -> None:
    response = get("/stream", "testuser1", **OVERRIDE)
    assert b"".join(response.streaming_content) == b"new_checkout=False\n" * 3


# --- overrides ----------------------------------------------------------------------------


def test_a_test_users_override_is_honoured_and_not_cached() -> None:
    response = get("/flags", "testuser1", **OVERRIDE)
    body = response.json()
    assert body["flags"]["new_checkout"] is False
    assert body["variants"]["checkout_button"] == "green"
    assert body["flags"]["alice_beta"] is True  # a test user sees every flag...
    assert body["flags"]["old_search"] is False  # ...but the kill switch still wins
    assert response["Cache-Control"] == "private, no-store"
    assert response["Vary"] == "X-Flagware-Override"


def test_override_headers_merge_with_the_views_own() -> None:
    response = get("/cached", "testuser1", **OVERRIDE)
    assert response["Cache-Control"] == "private, no-store"
    assert response["Vary"] == "Accept-Encoding, X-Flagware-Override"
    plain = get("/cached", "testuser1")
    assert plain["Cache-Control"] == "public, max-age=600"
    assert plain["Vary"] == "Accept-Encoding"


def test_an_ordinary_accounts_override_is_ignored(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="flagware"):
        response = get("/flags", "acct-42", **OVERRIDE)
    assert response.json()["flags"]["new_checkout"] is True
    assert "Cache-Control" not in response
    assert "not a test user" in caplog.text


def test_an_anonymous_override_is_ignored() -> None:
    response = get("/flags", None, **OVERRIDE)
    assert response.json()["flags"]["new_checkout"] is False  # not switched on, not off
    assert response.json()["flags"] == get("/flags").json()["flags"]
    assert "Cache-Control" not in response


@pytest.mark.parametrize(
    "header",
    [
        "new_checkout=off=on",
        "new_checkout",
        "=on",
        "new_checkout=off;",
        "new_checkout=on, new_checkout=off",
        "x" * 5000,
    ],
)
def test_a_malformed_override_header_is_harmless(header: str) -> None:
    response = get("/flags", "testuser1", **{"X-Flagware-Override": header})
    assert response.status_code == 200
    assert response.json()["flags"]["new_checkout"] is True  # what testuser1 sees anyway
    assert "Cache-Control" not in response


def test_async_overrides_follow_the_same_rules() -> None:
    honoured = aget("/async-flags", "testuser1", **OVERRIDE)
    assert honoured.json()["flags"]["new_checkout"] is False
    assert honoured["Cache-Control"] == "private, no-store"
    ignored = aget("/async-flags", "acct-42", **OVERRIDE)
    assert ignored.json()["flags"]["new_checkout"] is True
    assert "Cache-Control" not in ignored


def test_the_override_header_name_is_configurable() -> None:
    with flagware_settings(OVERRIDE_HEADER="X-Flags", ECHO_OVERRIDES=True):
        response = get("/flags", "testuser1", **{"X-Flags": "new_checkout=off"})
        assert response.json()["flags"]["new_checkout"] is False
        assert response["Vary"] == "X-Flags"
        assert response["X-Flagware-Overrides-Applied"] == "new_checkout=off"
        assert get("/flags", "testuser1", **OVERRIDE).json()["flags"]["new_checkout"] is True


def test_test_users_listed_in_settings_may_override() -> None:
    with flagware_settings(TEST_USERS=["acct-7", 1234]):
        body = get("/flags", "acct-7", **OVERRIDE).json()
        assert body["flags"]["new_checkout"] is False
        assert body["flags"]["alice_beta"] is True  # test users see every flag
        assert get("/flags", "1234", **OVERRIDE).json()["flags"]["new_checkout"] is False
        assert get("/flags", "acct-42", **OVERRIDE).json()["flags"]["new_checkout"] is True


def test_a_signed_token_cookie_grants_its_overrides() -> None:
    from flagware.overrides import issue_override_token

    secret = "a long random secret for the tests"
    token = issue_override_token(secret, "acct-42", {"new_checkout": False}, ttl=60)
    with flagware_settings(TOKEN_SECRET=secret):
        client = Client(headers={"X-Account-Id": "acct-42"})
        client.cookies["flagware_override"] = token
        response = client.get("/flags")
        assert response.json()["flags"]["new_checkout"] is False
        assert response["Vary"] == "X-Flagware-Override, Cookie"
        other = Client(headers={"X-Account-Id": "acct-7"})
        other.cookies["flagware_override"] = token  # issued to someone else
        assert "Cache-Control" not in other.get("/flags")


# --- resolvers ----------------------------------------------------------------------------


@pytest.mark.parametrize("resolver", ["broken_resolver", "wrong_type_resolver"])
@pytest.mark.parametrize("fetch", [get, aget], ids=["sync", "async"])
def test_a_failing_resolver_makes_the_request_anonymous(
    resolver: str, fetch: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        flagware_settings(RESOLVE_ACCOUNT=f"tests.django.shop.{resolver}"),
        caplog.at_level(logging.ERROR, logger="flagware"),
    ):
        response = fetch("/flags", "acct-42")
    assert response.status_code == 200
    assert response.json()["account"] is None
    assert response.json()["flags"]["checkout_button"] is True
    assert "continuing as anonymous" in caplog.text


@pytest.mark.parametrize("fetch", [get, aget], ids=["sync", "async"])
def test_an_async_resolver_works_in_both_modes(fetch: Any) -> None:
    with flagware_settings(RESOLVE_ACCOUNT="tests.django.shop.async_header_account"):
        assert fetch("/flags", "acct-42").json()["flags"]["new_checkout"] is True


def test_a_resolver_may_be_given_as_a_callable() -> None:
    from tests.django.shop import header_account

    with flagware_settings(RESOLVE_ACCOUNT=header_account):
        assert get("/flags", "acct-42").json()["account"] == "acct-42"
