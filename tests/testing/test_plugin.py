"""The pytest plugin as users meet it: pytest runs of small test files (pytester), with
the plugin loaded by the installed ``pytest11`` entry point."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import textwrap

import pytest

import flagware
from flagware.testing import TestFlags

pytest_plugins = ["pytester"]

USES_THE_FIXTURES = """
import pytest

import flagware

def test_flags_fixture(flagware_flags):
    flagware_flags.set("new_checkout", True)
    flagware_flags.set("button", "green")
    assert flagware.flags.is_enabled("new_checkout")
    assert flagware.flags.variant("button") == "green"
    flagware_flags.set("new_checkout", False)
    assert not flagware.flags.is_enabled("new_checkout")

def test_undone_at_teardown():
    assert not flagware.flags.active

def test_store_fixture(flagware_store):
    flagware_store.set("beta", True)
    assert flagware_store.engine().evaluate_all(None).is_enabled("beta")
    assert flagware_store.version == 2

def test_a_fresh_store_each_test(flagware_store):
    assert flagware_store.version == 1
    assert "beta" not in flagware_store.ruleset().flags

@pytest.mark.flagware_flags(new_checkout=True, button="green")
def test_marker_without_the_fixture():
    assert flagware.flags.is_enabled("new_checkout")
    assert flagware.flags.variant("button") == "green"

@pytest.mark.flagware_flags({"checkout.v2": False}, beta=True)
def test_marker_with_both_fixtures(flagware_flags, flagware_store):
    assert flagware_flags.as_dict() == {"checkout.v2": False, "beta": True}
    assert not flagware.flags.is_enabled("checkout.v2")
    flags = flagware_store.engine().evaluate_all(flagware.Account("a"))
    assert flags.is_enabled("beta") and not flags.is_enabled("checkout.v2")
"""


def test_fixtures_and_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app=USES_THE_FIXTURES)
    result = pytester.runpytest("--strict-markers", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6)


def test_marks_on_the_module_and_class_apply_the_closest_winning(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_marks="""
        import pytest
        import flagware

        pytestmark = pytest.mark.flagware_flags(a=True, b=True, c=True)

        @pytest.mark.flagware_flags(b=False)
        class TestCheckout:
            @pytest.mark.flagware_flags(c="green")
            def test_closest_wins(self):
                assert flagware.flags.as_dict() == {"a": True, "b": False, "c": True}
                assert flagware.flags.variant("c") == "green"

            def test_class_mark(self):
                assert not flagware.flags.is_enabled("b")
        """
    )
    pytester.runpytest("--strict-markers").assert_outcomes(passed=2)


def test_the_store_is_closed_at_teardown(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_closed="""
        closed = []

        def test_uses_it(flagware_store):
            flagware_store.close = lambda: closed.append(flagware_store)

        def test_closed_after():
            assert len(closed) == 1
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_a_bad_marker_value_errors_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_bad="""
        import pytest

        @pytest.mark.flagware_flags(beta=3)
        def test_value():
            pass

        @pytest.mark.flagware_flags("beta")
        def test_args():
            pass

        @pytest.mark.flagware_flags({"not a name": True})
        def test_store_validates(flagware_store):
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines(["*RulesetError*", "*not a name*"])
    result.stdout.fnmatch_lines(
        ["*TypeError: flag 'beta': expected a bool or a variant name, got 3*"]
    )
    result.stdout.fnmatch_lines(["*takes one mapping and keyword flags*"])


def test_the_marker_is_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.flagware_flags(values=None, /, **flags):*"])
    fixtures = pytester.runpytest("--fixtures")
    fixtures.stdout.fnmatch_lines(["flagware_flags*", "flagware_store*"])


def test_the_entry_point_is_installed() -> None:
    (entry,) = [
        ep
        for ep in importlib.metadata.distribution("flagware").entry_points
        if ep.group == "pytest11"
    ]
    assert (entry.name, entry.value) == ("flagware", "flagware.testing.plugin")
    assert entry.load() is sys.modules["flagware.testing.plugin"]


def test_it_can_be_turned_off(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_off="def test_no_fixture(flagware_flags):\n    pass\n")
    result = pytester.runpytest("-p", "no:flagware")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'flagware_flags' not found*"])


def test_loaded_by_module_name_without_autoload(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(test_app=USES_THE_FIXTURES)
    result = pytester.runpytest_subprocess("-p", "flagware.testing.plugin", "--strict-markers")
    result.assert_outcomes(passed=6)


def test_a_python_O_session_is_not_broken(pytester: pytest.Pytester) -> None:
    """Under -O the plugin and its fixtures work, and the store contract loads. The test
    file checks without assert, which -O strips."""
    pytester.makepyfile(
        test_optimized="""
        import sys
        import pytest
        import flagware

        def test_fixtures(flagware_flags, flagware_store):
            if not sys.flags.optimize:
                pytest.fail("not running under -O")
            flagware_flags.set("beta", False)
            flagware_store.set("beta", True)
            if flagware.flags.is_enabled("beta"):
                pytest.fail("flagware_flags.set was not applied")
            if not flagware_store.engine().evaluate_all(None).is_enabled("beta"):
                pytest.fail("flagware_store.set was not applied")

        @pytest.mark.flagware_flags(beta=False)
        def test_marker():
            if flagware.flags.is_enabled("beta"):
                pytest.fail("the marker was not applied")

        def test_the_contract_loads():
            from flagware.testing import StoreContract, WriteContract
            if not issubclass(StoreContract, WriteContract):
                pytest.fail("not the store contract")
        """
    )
    result = pytester.run(
        sys.executable, "-O", "-m", "pytest", "-p", "no:cacheprovider", "--strict-markers"
    )
    result.assert_outcomes(passed=3, warnings=1)  # pytest's own warning about -O
    assert result.ret == 0


def test_under_python_O_the_store_contract_still_fails_a_broken_store(
    pytester: pytest.Pytester,
) -> None:
    # Its checks raise instead of asserting, so -O strips none of them: a store that
    # forgets a save fails, with the values compared.
    pytester.makepyfile(
        test_broken="""
        import pytest
        from flagware import MemoryStore
        from flagware.testing import StoreContract

        class Forgetful(MemoryStore):
            def save(self, ruleset, **kwargs):
                return self.version

        class TestForgetful(StoreContract):
            @pytest.fixture
            def make_store(self):
                return Forgetful
        """
    )
    result = pytester.run(
        sys.executable,
        "-O",
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-k",
        "test_save_a_ruleset_replaces_the_ruleset or test_ruleset_is_the_loaded_document",
    )
    result.assert_outcomes(passed=1, failed=1, warnings=1)  # pytest's own warning about -O
    result.stdout.fnmatch_lines(
        ["*ContractFailure: expected <Ruleset 3 flags*, got <Ruleset 2 flags*"]
    )


def test_loading_the_plugin_imports_nothing_heavy() -> None:
    code = textwrap.dedent(
        """
        import sys
        import flagware.testing.plugin
        print(sorted(sys.modules))
        """
    )
    modules = subprocess.run(
        [sys.executable, "-O", "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    for heavy in ("pydantic", "flagware.engine", "flagware.stores", "flagware.context", "yaml"):
        assert f"'{heavy}'" not in modules, heavy
    assert "'pytest'" in modules


def test_testdata_works_without_asserts_or_pytest() -> None:
    code = textwrap.dedent(
        """
        import sys
        import flagware.testing
        td = flagware.testing.TestData()
        td.update(td.flag("beta").for_accounts("acct-1"))
        with flagware.testing.TestFlags({"beta": True}):
            import flagware
            ok = flagware.flags.is_enabled("beta")
        print(ok, td.engine().is_released_to("beta", flagware.Account("acct-1")))
        print("pytest" in sys.modules)
        """
    )
    ran = subprocess.run(
        [sys.executable, "-O", "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert ran.stdout.split() == ["True", "True", "False"]


def test_the_outer_session_has_the_plugin_too(flagware_flags: TestFlags) -> None:
    flagware_flags.set("beta", False)
    assert flagware.current_flags() is flagware_flags.flagset
    assert not flagware.flags.is_enabled("beta")
