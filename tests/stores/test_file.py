"""FileStore: the store contract for JSON, YAML and TOML files, plus file watching."""

from __future__ import annotations

import json
import logging
import os
import select
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w
import yaml

from flagware import FileStore, Ruleset, RulesetError, Store, StoreError, load_ruleset
from flagware.testing import DOC_A, DOC_B, INVALID, StoreContract, StoreFactory

FORMATS = ["json", "yaml", "toml"]
WAIT = 10.0  # seconds a watcher gets to notice a change before a test fails


def dump(doc: Any, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(doc)
    if fmt == "yaml":
        return yaml.safe_dump(doc)
    text: str = tomli_w.dumps(doc)
    return text


def write(path: Path, doc: Any) -> None:
    """Rewrite ``path`` in place, as a plain ``open(..., "w")`` does."""
    path.write_text(dump(doc, path.suffix.lstrip(".").replace("yml", "yaml")), encoding="utf-8")


def replace_atomically(path: Path, doc: Any) -> None:
    """Write a temporary file and rename it over ``path``, as editors do."""
    tmp = path.with_name(f".{path.name}.swp")
    tmp.write_text(dump(doc, path.suffix.lstrip(".")), encoding="utf-8")
    os.replace(tmp, path)


def wait_until(condition: Callable[[], bool], timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


@pytest.fixture
def stores() -> Iterator[list[FileStore]]:
    made: list[FileStore] = []
    yield made
    for store in made:
        store.close()


@pytest.fixture(params=FORMATS)
def fmt(request: pytest.FixtureRequest) -> str:
    format_name: str = request.param
    return format_name


@pytest.fixture
def path(tmp_path: Path, fmt: str) -> Path:
    file = tmp_path / f"flags.{fmt}"
    write(file, DOC_A)
    return file


@pytest.fixture
def open_store(stores: list[FileStore]) -> Callable[..., FileStore]:
    def open_(file: Path, poll_interval: float = 0) -> FileStore:
        store = FileStore(file, poll_interval=poll_interval)
        stores.append(store)
        return store

    return open_


class TestFileStore(StoreContract):
    @pytest.fixture(params=FORMATS)
    def make_store(
        self, request: pytest.FixtureRequest, tmp_path: Path, stores: list[FileStore]
    ) -> StoreFactory:
        def make(doc: dict[str, Any]) -> Store:
            file = tmp_path / f"flags-{len(stores)}.{request.param}"
            write(file, doc)
            store = FileStore(file, poll_interval=0)
            stores.append(store)
            return store

        return make


# --- start-up --------------------------------------------------------------------------------


def test_missing_file_at_start_raises_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"missing\.yaml"):
        FileStore(tmp_path / "missing.yaml", poll_interval=0)


def test_invalid_file_at_start_raises_ruleset_error(tmp_path: Path, fmt: str) -> None:
    file = tmp_path / f"flags.{fmt}"
    write(file, INVALID)
    with pytest.raises(RulesetError, match=r"flags\.beta\.strategies\[0\]\.percent"):
        FileStore(file, poll_interval=0)


def test_unparsable_file_at_start_raises_ruleset_error(tmp_path: Path, fmt: str) -> None:
    file = tmp_path / f"flags.{fmt}"
    file.write_text("{{{ not [ a document", encoding="utf-8")
    with pytest.raises(RulesetError, match=str(file)):
        FileStore(file, poll_interval=0)


def test_unknown_suffix_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "flags.ini"
    file.write_text("[flags]\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"\.ini"):
        FileStore(file, poll_interval=0)


def test_negative_poll_interval_is_refused(path: Path) -> None:
    with pytest.raises(ValueError, match="poll_interval"):
        FileStore(path, poll_interval=-1)


def test_yml_suffix(tmp_path: Path, open_store: Callable[..., FileStore]) -> None:
    file = tmp_path / "flags.yml"
    write(file, DOC_A)
    assert open_store(file).ruleset() == Ruleset.from_dict(DOC_A)


# --- reloading -------------------------------------------------------------------------------


def test_manual_reload_picks_up_an_edit(path: Path, open_store: Callable[..., FileStore]) -> None:
    store = open_store(path)
    assert store.reload() is False  # nothing changed yet
    write(path, DOC_B)
    assert store.reload() is True
    assert store.ruleset() == Ruleset.from_dict(DOC_B)
    assert store.reload() is False


def test_watcher_reloads_when_the_file_changes(
    path: Path, open_store: Callable[..., FileStore]
) -> None:
    store = open_store(path, poll_interval=0.05)
    expected = Ruleset.from_dict(DOC_B)
    write(path, DOC_B)
    assert wait_until(lambda: store.ruleset() == expected)
    assert store.engine().ruleset == expected


def test_watcher_picks_up_an_atomic_replace(
    path: Path, open_store: Callable[..., FileStore]
) -> None:
    store = open_store(path, poll_interval=0.05)
    received: list[Ruleset] = []
    store.subscribe(received.append)
    expected = Ruleset.from_dict(DOC_B)
    replace_atomically(path, DOC_B)
    assert wait_until(lambda: store.ruleset() == expected)
    assert wait_until(lambda: bool(received))
    assert received[-1] == expected


def test_touch_without_change_applies_nothing(
    path: Path, open_store: Callable[..., FileStore]
) -> None:
    store = open_store(path)
    version = store.version
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 5_000_000_000))
    assert store.reload() is False
    assert store.version == version


def test_bad_edit_keeps_the_last_good_ruleset_and_logs(
    path: Path, open_store: Callable[..., FileStore], caplog: pytest.LogCaptureFixture
) -> None:
    store = open_store(path)
    good = store.ruleset()
    write(path, INVALID)
    with caplog.at_level(logging.ERROR, logger="flagware"):
        assert store.reload() is False
    assert store.ruleset() is good
    errors = [r for r in caplog.records if r.name == "flagware" and r.levelno == logging.ERROR]
    assert errors
    assert "flags.beta.strategies[0].percent" in errors[-1].getMessage()
    assert str(path) in errors[-1].getMessage()


def test_saving_the_last_good_ruleset_over_a_bad_edit_repairs_the_file(
    path: Path, open_store: Callable[..., FileStore]
) -> None:
    store = open_store(path)
    good = store.ruleset()
    write(path, INVALID)
    store.save(good)  # the same rules the store serves: still a write, over the bad file
    assert load_ruleset(path) == good
    assert FileStore(path, poll_interval=0).ruleset() == good


def test_recovers_when_the_file_is_fixed(
    path: Path, open_store: Callable[..., FileStore], caplog: pytest.LogCaptureFixture
) -> None:
    store = open_store(path)
    write(path, INVALID)
    with caplog.at_level(logging.INFO, logger="flagware"):
        store.reload()
        write(path, DOC_B)
        assert store.reload() is True
    assert store.ruleset() == Ruleset.from_dict(DOC_B)
    assert any("valid again" in r.getMessage() for r in caplog.records)


def test_watcher_survives_a_bad_edit(
    path: Path, open_store: Callable[..., FileStore], caplog: pytest.LogCaptureFixture
) -> None:
    store = open_store(path, poll_interval=0.05)
    good = store.ruleset()
    with caplog.at_level(logging.ERROR, logger="flagware"):
        replace_atomically(path, INVALID)
        assert wait_until(lambda: any("rejected an edit" in r.getMessage() for r in caplog.records))
    assert store.ruleset() is good
    expected = Ruleset.from_dict(DOC_B)
    replace_atomically(path, DOC_B)
    assert wait_until(lambda: store.ruleset() == expected)


def test_deleted_file_keeps_the_last_good_ruleset(
    path: Path, open_store: Callable[..., FileStore], caplog: pytest.LogCaptureFixture
) -> None:
    store = open_store(path)
    good = store.ruleset()
    path.unlink()
    with caplog.at_level(logging.ERROR, logger="flagware"):
        assert store.reload() is False
        assert store.reload() is False
    assert store.ruleset() is good
    assert len([r for r in caplog.records if "cannot read" in r.getMessage()]) == 1
    write(path, DOC_B)
    assert store.reload() is True
    assert store.ruleset() == Ruleset.from_dict(DOC_B)


def test_closed_store_stops_watching(path: Path, open_store: Callable[..., FileStore]) -> None:
    store = open_store(path, poll_interval=0.05)
    store.close()
    write(path, DOC_B)
    time.sleep(0.3)  # several poll intervals: a live watcher would have reloaded
    assert store.ruleset() == Ruleset.from_dict(DOC_A)
    assert store.reload() is True  # reloading by hand still works


# --- saving ----------------------------------------------------------------------------------


def test_save_writes_a_file_load_ruleset_reads_back(
    path: Path, open_store: Callable[..., FileStore]
) -> None:
    store = open_store(path)
    store.save(DOC_B)
    assert load_ruleset(path) == Ruleset.from_dict(DOC_B)
    assert load_ruleset(path) == store.ruleset()
    assert FileStore(path, poll_interval=0).ruleset() == store.ruleset()


def test_invalid_save_leaves_the_file_alone(
    path: Path, open_store: Callable[..., FileStore]
) -> None:
    store = open_store(path)
    before = path.read_bytes()
    with pytest.raises(RulesetError):
        store.save(INVALID)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_save_leaves_no_temporary_files(path: Path, open_store: Callable[..., FileStore]) -> None:
    store = open_store(path, poll_interval=0.05)
    store.save(DOC_B)
    store.save(DOC_A)
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    assert store.ruleset() == Ruleset.from_dict(DOC_A)


def test_save_is_seen_by_a_second_store_on_the_same_file(
    path: Path, open_store: Callable[..., FileStore]
) -> None:
    writer = open_store(path)
    reader = open_store(path, poll_interval=0.05)
    writer.save(DOC_B)
    expected = Ruleset.from_dict(DOC_B)
    assert wait_until(lambda: reader.ruleset() == expected)


# --- fork ------------------------------------------------------------------------------------


def _child_reports_reload(store: FileStore, path: Path, write_end: int) -> None:
    """Runs in the forked child: change the file, wait for the watcher, report, exit."""
    status = 1
    try:
        expected = Ruleset.from_dict(DOC_B)
        replace_atomically(path, DOC_B)
        ok = wait_until(lambda: store.ruleset() == expected)
        os.write(write_end, b"reloaded" if ok else b"stale")
        status = 0
    finally:
        os._exit(status)


def test_forked_child_gets_a_working_watcher(
    path: Path, open_store: Callable[..., FileStore]
) -> None:
    store = open_store(path, poll_interval=0.05)
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12+ warns about fork() in a process with threads; that is the point here.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        os.close(read_end)
        _child_reports_reload(store, path, write_end)
    os.close(write_end)
    try:
        ready, _, _ = select.select([read_end], [], [], WAIT + 10)
        report = os.read(read_end, 100) if ready else b"timeout"
    finally:
        os.close(read_end)
        if report == b"timeout":
            os.kill(pid, 9)
        _, status = os.waitpid(pid, 0)
    assert report == b"reloaded"
    assert os.waitstatus_to_exitcode(status) == 0


def test_save_keeps_the_file_permissions(path: Path, open_store: Callable[..., FileStore]) -> None:
    # Other processes (web workers running as another user) must still be able to read it.
    path.chmod(0o644)
    store = open_store(path)
    store.save(DOC_B)
    assert path.stat().st_mode & 0o777 == 0o644


def test_an_edit_builds_on_a_hand_edit_made_since_the_last_poll(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"flags": {"beta": {"strategies": []}}}))
    store = FileStore(path, poll_interval=0)  # no watcher: only the edit itself can notice
    try:
        path.write_text(json.dumps({"flags": {"beta": {"strategies": []}, "hand": {}}}))
        store.set_flag("api", {"strategies": [{"type": "everyone"}]})
        assert set(store.ruleset().flags) == {"beta", "hand", "api"}
        assert set(json.loads(path.read_text())["flags"]) == {"beta", "hand", "api"}
    finally:
        store.close()
