"""Walking the paths given: which files are Python, which are templates, which are skipped."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from flagware.lint._python import scan_python
from flagware.lint._references import Reference, Skipped
from flagware.lint._templates import scan_template

__all__ = ["PYTHON_SUFFIXES", "SKIPPED_DIRS", "TEMPLATE_SUFFIXES", "Scan", "scan"]

PYTHON_SUFFIXES = frozenset({".py", ".pyi"})
TEMPLATE_SUFFIXES = frozenset({".html", ".htm", ".jinja", ".jinja2", ".j2", ".djhtml", ".txt"})
SKIPPED_DIRS = frozenset(
    {"__pycache__", "node_modules", "venv", "site-packages", "build", "dist", "htmlcov"}
)
"""Folders never walked into (hidden ones, ``.venv`` and ``.git`` among them, neither)."""


@dataclass(frozen=True)
class Scan:
    """What a scan found: every flag read, and the files it read and could not read."""

    references: tuple[Reference, ...]
    files: int
    skipped: tuple[Skipped, ...] = field(default=())


def _excluded(path: Path, patterns: tuple[str, ...]) -> bool:
    text = path.as_posix()
    return any(
        fnmatch.fnmatch(text, pattern) or fnmatch.fnmatch(path.name, pattern)
        for pattern in patterns
    )


def _files(paths: Iterable[str | Path], exclude: tuple[str, ...]) -> Iterator[Path]:
    wanted = PYTHON_SUFFIXES | TEMPLATE_SUFFIXES
    for given in paths:
        root = Path(given)
        if root.is_file():  # named on the command line: scanned whatever its suffix
            if not _excluded(root, exclude):
                yield root
            continue
        if not root.is_dir():
            raise FileNotFoundError(f"no such file or folder: {given}")
        for path in sorted(root.rglob("*")):
            parts = path.relative_to(root).parts
            if any(p.startswith(".") or p in SKIPPED_DIRS for p in parts[:-1]):
                continue
            if path.suffix in wanted and path.is_file() and not _excluded(path, exclude):
                yield path


def scan(paths: Iterable[str | Path], *, exclude: Iterable[str] = ()) -> Scan:
    """Every flag read in the Python files and templates under ``paths``.

    Folders are walked (hidden folders and :data:`SKIPPED_DIRS` left out); ``exclude``
    holds glob patterns matched against each path and file name. A file that is not UTF-8
    or not valid Python is listed in ``skipped``, not raised. A path that does not exist
    raises FileNotFoundError.
    """
    references: list[Reference] = []
    skipped: list[Skipped] = []
    count = 0
    for path in _files(paths, tuple(exclude)):
        count += 1
        name = path.as_posix()
        try:
            source = path.read_text(encoding="utf-8")
            found = (
                scan_python(name, source)
                if path.suffix in PYTHON_SUFFIXES
                else scan_template(name, source)
            )
            references.extend(found)
        except (UnicodeDecodeError, SyntaxError, ValueError, OSError) as exc:
            skipped.append(Skipped(name, f"{type(exc).__name__}: {exc}"))
    references.sort(key=lambda r: (r.path, r.line, r.column))
    return Scan(tuple(references), count, tuple(skipped))
