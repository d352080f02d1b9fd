"""override_flag: a decorator (sync and async tests) and a context manager."""

from __future__ import annotations

import asyncio

import pytest
from django.test import AsyncClient, Client

import flagware
from flagware.django.testing import override_flag

ACCT_42 = {"X-Account-Id": "acct-42"}


def flags_of(client: Client, **headers: str) -> dict[str, bool]:
    result: dict[str, bool] = client.get("/flags", headers=headers).json()["flags"]
    return result


@override_flag("new_checkout", active=False)
def test_as_a_decorator_it_forces_the_flag_for_requests() -> None:
    assert flags_of(Client(), **ACCT_42)["new_checkout"] is False  # on for acct-42 otherwise
    assert flagware.flags.is_enabled("new_checkout") is False


def test_the_decorator_undoes_itself() -> None:
    assert flags_of(Client(), **ACCT_42)["new_checkout"] is True
    assert not flagware.flags.active


def test_as_a_decorator_of_an_async_test() -> None:
    @override_flag("alice_beta")
    async def an_async_test() -> tuple[bool, bool]:
        response = await AsyncClient().get("/async-flags")
        return response.json()["flags"]["alice_beta"], flagware.flags.is_enabled("alice_beta")

    assert asyncio.run(an_async_test()) == (True, True)
    assert not flagware.flags.active


def test_as_a_context_manager() -> None:
    client = Client()
    with override_flag("old_search", active=True) as flags:
        assert flags.is_enabled("old_search")  # even past the kill switch: it is a test
        assert flags_of(client)["old_search"] is True
        assert client.get("/template").text.endswith("search old")
    assert flags_of(client)["old_search"] is False


def test_blocks_nest_and_undo_only_their_own_flag() -> None:
    with override_flag("new_checkout"):
        with override_flag("alice_beta"), override_flag("new_checkout", active=False):
            assert flags_of(Client()) | {"checkout_button": True} == {
                "new_checkout": False,
                "alice_beta": True,
                "checkout_button": True,
                "old_search": False,
            }
        assert flags_of(Client())["new_checkout"] is True
        assert flags_of(Client())["alice_beta"] is False
        assert flagware.flags.is_enabled("new_checkout")


def test_a_variant() -> None:
    with override_flag("checkout_button", variant="green"):
        body = Client().get("/flags").json()
        assert body["variants"]["checkout_button"] == "green"
        assert flagware.flags.variant("checkout_button") == "green"
        assert "button green" in Client().get("/template").text
    with pytest.raises(ValueError, match="a variant means the flag is on"):
        override_flag("checkout_button", active=False, variant="green")


def test_outside_a_request_the_other_flags_are_the_anonymous_ones() -> None:
    with override_flag("new_checkout"):
        assert flagware.flags.is_enabled("new_checkout")
        assert flagware.flags.is_enabled("checkout_button")  # everyone: on, as in the store
        assert not flagware.flags.is_enabled("alice_beta")


def test_inside_use_flags_it_changes_only_its_flag() -> None:
    with flagware.use_flags({"a": True, "b": False}), override_flag("b"):
        assert flagware.flags.as_dict() == {"a": True, "b": True}


def test_it_reaches_streamed_bodies() -> None:
    with override_flag("new_checkout", active=False):
        response = Client().get("/stream", headers=ACCT_42)
        assert b"".join(response.streaming_content) == b"new_checkout=False\n" * 3


def test_overridden_responses_carry_no_override_headers() -> None:
    """A forced flag is not a client's override: the response stays cacheable."""
    with override_flag("new_checkout"):
        assert "Cache-Control" not in Client().get("/flags")
