"""The FLAGWARE setting: each store kind, and a clear ImproperlyConfigured for mistakes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings

from flagware.django import FlagwareMiddleware, conf
from flagware.django.apps import check_settings
from flagware.django.conf import load_config, store_for
from tests.django import shop
from tests.django.conftest import BASE_FLAGWARE
from tests.redis_server import RedisServer


def forget(key: tuple[str, ...]) -> None:
    """Close a store a test opened (the process keeps the others until exit)."""
    conf._STORES.pop(key).close()


def view(request: Any) -> str:
    return "unused"


def refused(flagware: Any) -> str:
    with override_settings(FLAGWARE=flagware), pytest.raises(ImproperlyConfigured) as caught:
        FlagwareMiddleware(view)
    return str(caught.value)


def test_no_flagware_setting_is_refused_at_start_up() -> None:
    with override_settings():
        del settings.FLAGWARE
        with pytest.raises(ImproperlyConfigured, match="has no store: set FLAGWARE = "):
            FlagwareMiddleware(view)
        with pytest.raises(ImproperlyConfigured, match="has no store"):
            Client().get("/flags")  # Django loads the middleware: nothing is served


@pytest.mark.parametrize(
    ("flagware", "message"),
    [
        ({}, "has no store"),
        ({"NAMESPACE": "shop"}, "has no store"),
        ({"REDIS_URL": "redis://x", "RULES": "rules.yaml"}, "one store, not REDIS_URL and RULES"),
        ({**BASE_FLAGWARE, "TEST_USER": ["a"]}, "unknown keys ['TEST_USER']"),
        ({**BASE_FLAGWARE, "TEST_USERS": "acct-1"}, "'TEST_USERS'] must be a list"),
        ({**BASE_FLAGWARE, "TEST_USER_GROUP": ""}, "'TEST_USER_GROUP'] must be a non-empty"),
        ({**BASE_FLAGWARE, "OVERRIDE_HEADER": "X Flags"}, "'OVERRIDE_HEADER'] must be a header"),
        ({**BASE_FLAGWARE, "TOKEN_SECRET": 42}, "'TOKEN_SECRET'] must be a string"),
        ({**BASE_FLAGWARE, "RESOLVE_ACCOUNT": "tests.django.shop.nothing"}, "cannot be imported"),
        ({**BASE_FLAGWARE, "RESOLVE_ACCOUNT": "tests.django.shop.RULES"}, "must name a callable"),
        ({"STORE": "tests.django.shop.not_a_store"}, "must return a flagware Store"),
        ({"STORE": "tests.django.shop.missing"}, "could not open its store"),
        ({"RULES": "/nonexistent/rules.yaml"}, "could not open its store (file /nonexistent"),
        ({"RULES": "rules.yaml", "REDIS_OPTIONS": {"a": 1}}, "applies to REDIS_URL only"),
        ("redis://localhost", "FLAGWARE must be a dict"),
    ],
)
def test_a_bad_setting_says_what_to_fix(flagware: Any, message: str) -> None:
    assert message in refused(flagware)


def test_manage_py_check_reports_the_same_problems() -> None:
    assert check_settings() == []
    with override_settings(FLAGWARE={}):
        (error,) = check_settings()
    assert error.id == "flagware.E001"
    assert "has no store" in error.msg


def test_the_check_warns_about_the_middleware_before_authentication() -> None:
    auth = "django.contrib.auth.middleware.AuthenticationMiddleware"
    ours = "flagware.django.FlagwareMiddleware"
    with override_settings(MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware",
                                       ours, auth]):  # fmt: skip
        (warning,) = check_settings()
    assert warning.id == "flagware.W001"


def test_the_store_is_made_once_per_process() -> None:
    first, second = FlagwareMiddleware(view), FlagwareMiddleware(view)
    assert first.evaluator.store is second.evaluator.store is shop.store
    assert shop.made == [shop.store]  # the STORE callable ran once, for every Client so far


def test_a_rules_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(
        json.dumps({"schema": 1, "flags": {"from_file": {"strategies": [{"type": "everyone"}]}}})
    )
    flagware = {"RULES": str(rules), "RESOLVE_ACCOUNT": BASE_FLAGWARE["RESOLVE_ACCOUNT"]}
    with override_settings(FLAGWARE=flagware):
        assert Client().get("/flags").json()["flags"] == {"from_file": True}
        key = load_config().store_key
    assert key == ("file", str(rules))
    forget(key)


def test_a_redis_url(redis_server: RedisServer, namespace: str) -> None:
    flagware = {
        "REDIS_URL": redis_server.url,
        "NAMESPACE": namespace,
        "REDIS_OPTIONS": {"bootstrap": shop.RULES, "snapshot_path": False},
        "RESOLVE_ACCOUNT": BASE_FLAGWARE["RESOLVE_ACCOUNT"],
    }
    with override_settings(FLAGWARE=flagware):
        body = Client().get("/flags", headers={"X-Account-Id": "acct-42"}).json()
        config = load_config()
        store = store_for(config)
    assert body["flags"]["new_checkout"] is True
    assert store.namespace == namespace  # type: ignore[attr-defined]
    forget(config.store_key)
