"""``flagware demo``'s app in-process, and what ``main`` does without click."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from flagware import MemoryStore
from flagware.admin import BasicAuth
from flagware.cli import MISSING_EXTRA
from flagware.cli.demo import demo_app, demo_ruleset


@pytest.fixture
def client() -> Iterator[TestClient]:
    with MemoryStore(demo_ruleset()) as store, TestClient(demo_app(store, None)) as client:
        yield client


def test_the_flags_api_evaluates_the_header_account(client: TestClient) -> None:
    body = client.get("/api/flags", headers={"X-Account-Id": "acct-42"}).json()
    assert body["account"] == "acct-42"
    assert body["flags"] == {
        "new_checkout": True,  # listed
        "dark_mode": False,
        "dutch_promo": True,  # NL and pro: a demo account has attributes
        "lucky_digits": True,  # number 4211
        "old_search": False,
        "checkout_button": True,
    }
    assert body["variants"] == {"checkout_button": "green"}


def test_unknown_accounts_and_anonymous_requests(client: TestClient) -> None:
    stranger = client.get("/api/flags", headers={"X-Account-Id": "someone"}).json()
    assert stranger["account"] == "someone"
    assert stranger["flags"]["new_checkout"] is False
    assert stranger["flags"]["dutch_promo"] is False  # no attributes
    anonymous = client.get("/api/flags").json()
    assert anonymous["account"] is None
    assert anonymous["flags"]["checkout_button"] is True


def test_test_users_may_override(client: TestClient) -> None:
    headers = {"X-Account-Id": "testuser1", "X-Flagware-Override": "new_checkout=off"}
    assert client.get("/api/flags", headers=headers).json()["flags"]["new_checkout"] is False
    headers["X-Account-Id"] = "acct-42"  # not a test user: ignored
    assert client.get("/api/flags", headers=headers).json()["flags"]["new_checkout"] is True


def test_the_admin_panel_is_mounted_behind_its_login() -> None:
    with MemoryStore(demo_ruleset()) as store:
        app = demo_app(store, BasicAuth("admin", "pw"))
        with TestClient(app) as client:
            assert client.get("/admin/").status_code == 401
            assert client.get("/admin/", auth=("admin", "pw")).status_code == 200


def test_main_without_click_says_which_extra_to_install() -> None:
    code = "import sys; sys.modules['click'] = None; from flagware.cli import main; main([])"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1
    assert result.stderr == MISSING_EXTRA + "\n"
