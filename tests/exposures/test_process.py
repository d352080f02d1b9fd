"""Exposures at process exit and across fork(), in a real child interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import os, sys
    import flagware, flagware.exposures as fx
    from flagware.exposures import JsonLinesHook

    store = flagware.MemoryStore({"flags": {"beta": {"strategies": [{"type": "everyone"}]}}})
    fx.configure(interval=3600)  # only the exit flush can deliver
    fx.add_hook(JsonLinesHook(sys.argv[1]))

    def expose(account):
        flags = fx.record_exposures(store.engine().evaluate_all(flagware.Account(account)), store)
        flags["beta"]

    expose("parent-before-fork")
    pid = os.fork()
    if pid == 0:  # the child: the parent's queue is not its own to deliver
        assert fx.stats().queued == 0, fx.stats()
        expose("child")
        fx.flush()
        os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0
    expose("parent-after-fork")
    # no flush: atexit delivers both of the parent's exposures
    """
)


def test_exit_flushes_and_a_forked_child_starts_empty(tmp_path: Path) -> None:
    out = tmp_path / "exposures.jsonl"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(out)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    accounts = sorted(json.loads(line)["account_id"] for line in out.read_text().splitlines())
    assert accounts == ["child", "parent-after-fork", "parent-before-fork"]
