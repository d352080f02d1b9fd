"""The public surface: what `import flagware` offers, as CONTRACT.md names it."""

from __future__ import annotations

import subprocess
import sys

import flagware

CONTRACT_NAMES = {
    "Account",
    "Engine",
    "FileStore",
    "FlagSet",
    "MemoryStore",
    "NoFlagContext",
    "RedisStore",
    "Ruleset",
    "RulesetError",
    "Strategy",
    "current_flags",
    "flags",
    "load_ruleset",
    "register_strategy",
    "use_flags",
}


def test_all_lists_exactly_the_public_names() -> None:
    # Most names are imported on first read (PEP 562); dir() lists them all the same.
    public = {name for name in dir(flagware) if not name.startswith("_")}
    # Submodules (and `typing`) and the `annotations` future import are not API.
    incidental = {
        name for name in public if type(getattr(flagware, name)).__name__ in {"module", "_Feature"}
    }
    assert set(flagware.__all__) == public - incidental
    for name in flagware.__all__:
        assert getattr(flagware, name) is not None
        assert name in vars(flagware)  # kept after the first read


def test_importing_flagware_imports_no_engine_store_or_validator() -> None:
    code = "import sys, flagware; print(sorted(sys.modules))"
    modules = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    for heavy in ("pydantic", "flagware.engine", "flagware.stores", "redis", "yaml"):
        assert f"'{heavy}'" not in modules, heavy


def test_contract_names_are_exported() -> None:
    assert set(flagware.__all__) >= CONTRACT_NAMES


def test_error_tree() -> None:
    assert issubclass(flagware.RulesetError, flagware.FlagwareError)
    assert issubclass(flagware.RulesetError, ValueError)
    assert issubclass(flagware.NoFlagContext, LookupError)
    assert issubclass(flagware.StrategyRegistrationError, ValueError)
    assert issubclass(flagware.StoreError, flagware.FlagwareError)


def test_package_is_typed() -> None:
    from importlib import resources

    assert resources.files("flagware").joinpath("py.typed").is_file()


def test_error_tree_tells_what_to_do() -> None:
    # A missing name is a KeyError too; "try again", "unavailable" and "reload and merge"
    # are three different errors under StoreError.
    for missing in (flagware.UnknownFlag, flagware.UnknownVersion):
        assert issubclass(missing, flagware.NotFound)
        assert issubclass(missing, KeyError)
        assert issubclass(missing, flagware.FlagwareError)
    kinds = (flagware.StoreUnavailable, flagware.WriteContention, flagware.VersionConflict)
    for kind in kinds:
        assert issubclass(kind, flagware.StoreError)
        assert [other for other in kinds if issubclass(kind, other)] == [kind]
    assert str(flagware.UnknownFlag("beta")) == "no flag named 'beta'"
