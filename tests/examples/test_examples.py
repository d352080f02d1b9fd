"""The example apps serve their bundled ruleset (in-process, through the framework clients)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES = Path(__file__).parents[2] / "examples"


def _load(name: str) -> ModuleType:
    path = EXAMPLES / name / "app.py"
    spec = importlib.util.spec_from_file_location(f"example_{name}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def flask_example() -> ModuleType:
    module = _load("flask_app")
    yield module
    module.store.close()


def test_flask_example_api_flags(flask_example: ModuleType) -> None:
    client = flask_example.app.test_client()
    tester = client.get("/api/flags", headers={"X-Account-Id": "testuser1"}).get_json()
    assert tester["account"] == "testuser1"
    assert tester["flags"]["new_checkout"] is True
    assert tester["flags"]["old_search"] is False
    assert tester["variants"]["checkout_button"] in {"control", "green"}
    anonymous = client.get("/api/flags").get_json()
    assert anonymous["account"] is None
    assert anonymous["flags"]["new_checkout"] is False


def test_flask_example_page_shows_feature_only_when_released(flask_example: ModuleType) -> None:
    client = flask_example.app.test_client()
    assert b"New checkout" in client.get("/?account=acct-42").data
    assert b"classic checkout" in client.get("/?account=acct-100").data


def test_starlette_example_api_flags() -> None:
    from starlette.testclient import TestClient

    module = _load("starlette_app")
    try:
        with TestClient(module.app) as client:
            body = client.get("/api/flags", headers={"X-Account-Id": "acct-42"}).json()
        assert body["flags"]["new_checkout"] is True
    finally:
        module.store.close()
