"""The flagware package as it was at a git revision, for benchmarks that time old against new.

A benchmark given ``--against REV`` runs the same work in child processes on both copies,
round by round, and prints the paired ratio: a before/after that does not depend on how
fast the machine is that day (on a shared 2-core VM, the same code's timings move by 2x
between hours).
"""

from __future__ import annotations

import compileall
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

__all__ = ["ROOT", "checkout", "compiled", "on_path"]


def compiled(tree: Path) -> Path:
    """``tree`` with its ``flagware`` package's bytecode written, as ``pip install`` does.

    Where ``PYTHONDONTWRITEBYTECODE`` is set, each child process would otherwise compile
    the package's modules from source, which no installed copy does.
    """
    compileall.compile_dir(tree / "flagware", quiet=1)
    return tree


def checkout(rev: str, into: Path) -> Path:
    """The ``flagware`` package as it is at git revision ``rev``, under ``into``, compiled."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "flagware"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return compiled(into)


def on_path(tree: Path, code: str) -> list[str]:
    """A ``python -c`` command running ``code`` with ``tree``'s flagware first on the path."""
    return [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(tree)!r}); {code}"]
