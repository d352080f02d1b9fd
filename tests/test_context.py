"""flagware.flags, current_flags() and use_flags(): contextvars semantics."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import flagware
from flagware import Account, Engine, FlagSet, NoFlagContext, Ruleset, current_flags, use_flags


def test_no_context_raises_with_instructions() -> None:
    with pytest.raises(NoFlagContext) as caught:
        current_flags()
    message = str(caught.value)
    assert "use_flags" in message
    assert "middleware" in message
    assert isinstance(caught.value, LookupError)
    assert isinstance(caught.value, flagware.FlagwareError)


def test_proxy_raises_outside_a_context() -> None:
    assert not flagware.flags.active
    with pytest.raises(NoFlagContext):
        flagware.flags.is_enabled("x")
    with pytest.raises(NoFlagContext):
        _ = flagware.flags["x"]
    assert repr(flagware.flags) == "<flagware.flags (no context)>"


def test_use_flags_with_a_mapping() -> None:
    with use_flags({"a": True, "b": False, "ab": "green"}) as fs:
        assert isinstance(fs, FlagSet)
        assert current_flags() is fs
        assert flagware.flags.active
        assert flagware.flags.is_enabled("a")
        assert flagware.flags["a"]
        assert not flagware.flags["b"]
        assert flagware.flags.is_enabled("not_listed")
        assert flagware.flags.variant("ab") == "green"
        assert flagware.flags.variants() == {"ab": "green"}
        assert flagware.flags.as_dict() == {"a": True, "b": False, "ab": True}
        assert flagware.flags.reason("a") == "set explicitly (FlagSet.from_mapping)"
        assert flagware.flags.evaluation("ab").variant == "green"
        assert "a" in flagware.flags
        assert list(flagware.flags) == ["a", "b", "ab"]
        assert len(flagware.flags) == 3
    assert not flagware.flags.active


def test_use_flags_with_unknown_hidden() -> None:
    with use_flags({"a": True}, unknown="hidden"):
        assert not flagware.flags.is_enabled("not_listed")


def test_use_flags_with_an_evaluated_flagset() -> None:
    ruleset = Ruleset.from_dict({"flags": {"beta": {"strategies": [{"type": "everyone"}]}}})
    fs = Engine(ruleset).evaluate_all(Account(id="acct-1"))
    with use_flags(fs) as active:
        assert active is fs
        assert current_flags() is fs
        assert flagware.flags.reason("beta") == "strategy everyone matched (strategies[0])"
        assert repr(flagware.flags) == "<flagware.flags -> <FlagSet acct-1: 1/1 on>>"


def test_proxy_is_read_only() -> None:
    with use_flags({"a": False}):
        with pytest.raises(AttributeError, match="use_flags"):
            flagware.flags.a = True  # type: ignore[attr-defined]
        with pytest.raises(TypeError, match="use_flags"):
            flagware.flags["a"] = True  # type: ignore[index]
        assert not flagware.flags["a"]


def test_repr_of_an_active_but_empty_flagset() -> None:
    # An empty FlagSet is falsy (len 0); the proxy must still say a context is active.
    with use_flags({}):
        assert flagware.flags.active
        assert "no context" not in repr(flagware.flags)


# --- nesting and reset -----------------------------------------------------------------------


def test_nesting_restores_the_outer_flags() -> None:
    with use_flags({"a": True}) as outer:
        with use_flags({"a": False}) as inner:
            assert current_flags() is inner
            assert not flagware.flags["a"]
        assert current_flags() is outer
        assert flagware.flags["a"]
    with pytest.raises(NoFlagContext):
        current_flags()


def test_reset_after_an_exception() -> None:
    with pytest.raises(RuntimeError, match="inside"), use_flags({"a": True}):
        raise RuntimeError("inside")
    assert not flagware.flags.active
    with use_flags({"a": True}) as outer:
        with pytest.raises(RuntimeError), use_flags({"a": False}):
            raise RuntimeError("inner")
        assert current_flags() is outer


def test_bad_mapping_activates_nothing() -> None:
    with pytest.raises(TypeError), use_flags({"a": 1}):  # type: ignore[dict-item]
        pass
    assert not flagware.flags.active


# --- threads ---------------------------------------------------------------------------------


def test_flags_do_not_leak_into_other_threads() -> None:
    seen: list[bool] = []
    with use_flags({"a": True}):
        thread = threading.Thread(target=lambda: seen.append(flagware.flags.active))
        thread.start()
        thread.join(timeout=10)
    assert seen == [False]


def test_each_thread_sees_its_own_flags() -> None:
    barrier = threading.Barrier(2, timeout=10)

    def run(value: bool) -> tuple[bool, bool]:
        with use_flags({"a": value}):
            barrier.wait()  # both threads are inside their use_flags block now
            result = flagware.flags["a"]
            barrier.wait()
        return result, flagware.flags.active

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(run, [True, False]))
    assert results == [(True, False), (False, False)]


def test_flags_set_in_a_thread_are_not_visible_here() -> None:
    entered, release = threading.Event(), threading.Event()

    def hold() -> None:
        with use_flags({"a": True}):
            entered.set()
            release.wait(timeout=10)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert entered.wait(timeout=10)
        assert not flagware.flags.active
    finally:
        release.set()
        thread.join(timeout=10)


# --- asyncio ---------------------------------------------------------------------------------


def test_task_started_inside_use_flags_sees_the_flags() -> None:
    async def read() -> bool:
        await asyncio.sleep(0)
        return flagware.flags["a"]

    async def main() -> bool:
        with use_flags({"a": False}):
            task = asyncio.create_task(read())
        return await task  # the task copied the context when it was created

    assert asyncio.run(main()) is False


def test_tasks_are_isolated_from_each_other() -> None:
    async def handle(value: bool, inside: list[bool], both_inside: asyncio.Event) -> bool:
        with use_flags({"a": value}):
            inside.append(value)
            if len(inside) == 2:
                both_inside.set()
            await both_inside.wait()  # both tasks are inside their blocks, interleaved
            return flagware.flags["a"]

    async def main() -> list[bool]:
        inside: list[bool] = []
        both_inside = asyncio.Event()
        results = await asyncio.gather(
            handle(True, inside, both_inside), handle(False, inside, both_inside)
        )
        assert inside == [True, False]
        assert not flagware.flags.active  # nothing leaked into the caller
        return results

    assert asyncio.run(main()) == [True, False]


def test_flags_set_in_a_task_do_not_leak_to_its_parent() -> None:
    async def child() -> None:
        with use_flags({"a": True}):
            await asyncio.sleep(0)

    async def main() -> bool:
        with use_flags({"a": False}):
            await asyncio.create_task(child())
            return flagware.flags["a"]

    assert asyncio.run(main()) is False
