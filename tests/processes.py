"""Server processes for the tests: start one in a process group of its own, wait (bounded)
until it is ready, and always stop the whole group afterwards, whatever the tests did."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from tests.redis_server import free_port

__all__ = ["REPO_ROOT", "free_port", "serving", "stop_group"]

REPO_ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


def stop_group(proc: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> None:
    """Terminate ``proc``'s process group, then kill whatever is left of it (the workers
    of a master that died first)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    if proc.poll() is None:
        proc.wait(timeout=timeout)


@contextlib.contextmanager
def serving(
    command: list[str],
    env: Mapping[str, str],
    ready: Callable[[], bool],
    log_path: Path,
    start_timeout: float = START_TIMEOUT,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` (output to ``log_path``) until the block ends, once ``ready()``."""
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + start_timeout
            while True:
                with contextlib.suppress(OSError):
                    if ready():
                        break
                if proc.poll() is not None or time.monotonic() > deadline:
                    what = (
                        f"exited with {proc.returncode}"
                        if proc.poll() is not None
                        else f"not ready after {start_timeout:g}s"
                    )
                    raise RuntimeError(
                        f"server {what}: {' '.join(command)}\n"
                        + log_path.read_text(errors="replace")
                    )
                time.sleep(0.05)
            yield proc
        finally:
            stop_group(proc)
