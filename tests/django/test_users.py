"""The default resolver (``request.user``) and TEST_USER_GROUP, with real Django users."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from django.test import AsyncClient, Client, override_settings

from tests.django.conftest import BASE_FLAGWARE

pytestmark = pytest.mark.usefixtures("django_db")

OVERRIDE = {"X-Flagware-Override": "new_checkout=on"}
GROUP = "flag-testers"


def user(username: str, *groups: str, **fields: Any) -> Any:
    """A new user (names made unique: the database lives for the whole session)."""
    from django.contrib.auth.models import Group, User

    made = User.objects.create_user(f"{username}-{uuid.uuid4().hex[:8]}", **fields)
    for name in groups:
        made.groups.add(Group.objects.get_or_create(name=name)[0])
    return made


def default_resolver(**changes: Any) -> Any:
    settings = {k: v for k, v in BASE_FLAGWARE.items() if k != "RESOLVE_ACCOUNT"}
    return override_settings(FLAGWARE={**settings, **changes})


def logged_in(who: Any) -> Client:
    client = Client()
    client.force_login(who)
    return client


def alogged_in(who: Any) -> AsyncClient:
    client = AsyncClient()
    client.force_login(who)
    return client


def test_the_default_resolver_maps_the_logged_in_user() -> None:
    from django.contrib.auth.models import User

    alice = User.objects.create_user(f"alice-{uuid.uuid4().hex[:6]}", email="a@example.com")
    with default_resolver():
        anonymous = Client().get("/flags").json()
        body = logged_in(alice).get("/flags").json()
    assert anonymous["account"] is None
    assert body["account"] == str(alice.pk)
    assert body["flags"]["alice_beta"] is False  # username is alice-xxxx, not alice


def test_the_default_accounts_attributes_drive_strategies() -> None:
    from django.contrib.auth.models import User

    User.objects.filter(username="alice").delete()
    alice = User.objects.create_user("alice", is_staff=True)
    with default_resolver():
        body = logged_in(alice).get("/flags").json()
        abody = asyncio.run(alogged_in(alice).get("/async-flags")).json()
    assert body["flags"]["alice_beta"] is True
    assert abody["flags"]["alice_beta"] is True  # under ASGI: read with request.auser()
    assert abody["account"] == str(alice.pk)


def test_account_for_user_uses_the_primary_key() -> None:
    from django.contrib.auth.models import AnonymousUser

    from flagware.django.conf import account_for_user

    bob = user("bob", email="bob@example.com", is_staff=True)
    account = account_for_user(bob)
    assert account is not None
    assert (account.id, account.number) == (str(bob.pk), bob.pk)
    assert account.attributes["username"] == bob.username
    assert account.attributes["email"] == "bob@example.com"
    assert account.attributes["is_staff"] is True
    assert account.attributes["is_superuser"] is False
    assert account_for_user(AnonymousUser()) is None
    assert account_for_user(None) is None


def test_members_of_the_test_user_group_may_override() -> None:
    tester, other = user("tester", GROUP), user("other", "another-group")
    with default_resolver(TEST_USER_GROUP=GROUP):
        honoured = logged_in(tester).get("/flags", headers=OVERRIDE)
        ignored = logged_in(other).get("/flags", headers=OVERRIDE)
        sees_all = logged_in(tester).get("/flags").json()
    assert honoured.json()["flags"]["new_checkout"] is True
    assert honoured["Cache-Control"] == "private, no-store"
    assert ignored.json()["flags"]["new_checkout"] is False
    assert "Cache-Control" not in ignored
    assert sees_all["flags"]["alice_beta"] is True  # test users see every flag


def test_the_test_user_group_under_asgi() -> None:
    tester, other = user("tester", GROUP), user("other")

    async def fetch(who: Any) -> Any:
        client = AsyncClient()
        await client.aforce_login(who)
        return await client.get("/async-flags", headers=OVERRIDE)

    with default_resolver(TEST_USER_GROUP=GROUP):
        honoured, ignored = asyncio.run(fetch(tester)), asyncio.run(fetch(other))
    assert honoured.json()["flags"]["new_checkout"] is True
    assert honoured["Cache-Control"] == "private, no-store"
    assert ignored.json()["flags"]["new_checkout"] is False


def test_the_group_applies_with_a_custom_resolver_too() -> None:
    """The group decides about the logged-in user, whatever account the resolver names."""
    tester = user("tester", GROUP)
    with override_settings(FLAGWARE={**BASE_FLAGWARE, "TEST_USER_GROUP": GROUP}):
        client = logged_in(tester)
        body = client.get("/flags", headers={**OVERRIDE, "X-Account-Id": "acct-7"}).json()
        anonymous = Client().get("/flags", headers={**OVERRIDE, "X-Account-Id": "acct-7"})
    assert body["account"] == "acct-7"
    assert body["flags"]["new_checkout"] is True
    assert anonymous.json()["flags"]["new_checkout"] is False
