"""RequestEvaluator: who may override, and what an override can never do."""

from __future__ import annotations

from typing import Any

import pytest

import flagware
from flagware._request import RequestEvaluator
from flagware.overrides import issue_override_token

DOC: dict[str, Any] = {
    "test_users": ["tester"],
    "flags": {
        "beta": {"strategies": []},
        "killed": {"enabled": False, "strategies": [{"type": "everyone"}]},
    },
}
SECRET = "middleware-test-secret"


@pytest.fixture
def store() -> flagware.MemoryStore:
    return flagware.MemoryStore(DOC)


def test_the_kill_switch_beats_a_test_users_override(store: flagware.MemoryStore) -> None:
    outcome = RequestEvaluator(store).evaluate(flagware.Account("tester"), "killed=on, beta=off")
    assert outcome.flags["killed"] is False
    assert outcome.flags["beta"] is False
    assert outcome.applied == {"beta": False}


def test_the_kill_switch_beats_an_override_token(store: flagware.MemoryStore) -> None:
    token = issue_override_token(SECRET, "acct-1", {"killed": True, "beta": True})
    evaluator = RequestEvaluator(store, token_secret=SECRET)
    outcome = evaluator.evaluate(flagware.Account("acct-1"), None, token)
    assert outcome.flags["killed"] is False
    assert outcome.flags["beta"] is True


def test_an_async_is_test_user_is_refused(store: flagware.MemoryStore) -> None:
    async def is_test_user(account: flagware.Account) -> bool:
        return False

    with pytest.raises(TypeError, match="not async"):
        RequestEvaluator(store, is_test_user=is_test_user)  # type: ignore[arg-type]


@pytest.mark.parametrize("answer", [1, "yes", ["x"], object()])
def test_only_a_real_true_makes_a_test_user(store: flagware.MemoryStore, answer: Any) -> None:
    evaluator = RequestEvaluator(store, is_test_user=lambda account: answer)
    outcome = evaluator.evaluate(flagware.Account("customer"), "beta=on")
    assert outcome.applied is None
    assert outcome.flags["beta"] is False


def test_is_test_user_true_grants_the_test_user_view(store: flagware.MemoryStore) -> None:
    evaluator = RequestEvaluator(store, is_test_user=lambda account: account.id == "qa")
    outcome = evaluator.evaluate(flagware.Account("qa"))
    assert outcome.flags["beta"] is True
    assert outcome.flags.reason("beta") == "test user"
