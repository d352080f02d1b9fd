"""The README and docs/ say what is true: their Python runs, their links resolve.

Every ```python block in README.md and docs/*.md is executed. The blocks of one page run in
order in one namespace and one temporary working directory, like a session at the
prompt, so a block may use what an earlier block on its page defined. Two HTML comments,
on the line right before a fence, change that:

- ``<!-- file: NAME -->`` writes the block's text to NAME in the page's directory first
  (a YAML ruleset the next block loads, say);
- ``<!-- not-run: REASON -->`` leaves a Python block out of the session (it needs a
  server); it must still parse and import only names flagware has, and there may only
  be a few.

Fences must be balanced (an unclosed one swallows the rest of the page when rendered),
and every relative link must name a file that exists (and a heading there, if it has a
``#fragment``).
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

import flagware
from flagware.strategies import unregister_strategy
from flagware.strategies.registry import registered_types

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
RUN_PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MAX_OPT_OUTS = 6

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<marker>`{3,}|~{3,})(?P<info>.*)$")
_MARKER = re.compile(r"^\s*<!--\s*(?P<kind>not-run|file):\s*(?P<value>.*?)\s*-->\s*$")
_LINK = re.compile(r"\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")
_HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*#*\s*$")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    info: str
    text: str
    marker: tuple[str, str] | None  # ("not-run" | "file", value) from the line before

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def _name(page: Path) -> str:
    return str(page.relative_to(ROOT))


def parse(page: Path) -> tuple[list[Block], list[str]]:
    """The fenced blocks of a page, and what is wrong with its fences."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    problems: list[str] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        marker, indent = opening["marker"], len(opening["indent"])
        start, body = i, []
        previous = next((s for s in reversed(lines[:i]) if s.strip()), "")
        found = _MARKER.match(previous)
        i += 1
        while i < len(lines):
            closing = _FENCE.match(lines[i])
            if closing and closing["marker"][0] == marker[0]:
                if len(closing["marker"]) >= len(marker) and not closing["info"].strip():
                    break
                if closing["info"].strip() and len(closing["marker"]) >= len(marker):
                    problems.append(
                        f"{_name(page)}:{i + 1}: text after a closing fence does not close "
                        f"it: {lines[i].strip()!r}"
                    )
            body.append(lines[i][indent:] if lines[i][:indent].isspace() else lines[i])
            i += 1
        else:
            problems.append(f"{_name(page)}:{start + 1}: this fence is never closed")
        blocks.append(
            Block(
                page=page,
                line=start + 1,
                info=opening["info"].strip(),
                text="\n".join(body) + "\n",
                marker=(found["kind"], found["value"]) if found else None,
            )
        )
        i += 1
    return blocks, problems


def python_blocks() -> list[Block]:
    return [b for page in RUN_PAGES for b in parse(page)[0] if b.info == "python"]


def opted_out() -> list[Block]:
    return [b for b in python_blocks() if b.marker and b.marker[0] == "not-run"]


def _close_stores(namespace: dict[str, object]) -> None:
    for value in namespace.values():
        if isinstance(value, flagware.Store):
            value.close()


@pytest.mark.parametrize("page", RUN_PAGES, ids=_name)
def test_python_blocks_run(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocks, _ = parse(page)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    strategies = set(registered_types())
    try:
        for block in blocks:
            if block.marker and block.marker[0] == "file":
                (tmp_path / block.marker[1]).write_text(block.text, encoding="utf-8")
            if block.info != "python" or (block.marker and block.marker[0] == "not-run"):
                continue
            code = compile(block.text, block.where, "exec")
            try:
                exec(code, namespace)
            except Exception as exc:
                pytest.fail(f"the python block at {block.where} fails: {exc!r}")
    finally:
        _close_stores(namespace)
        for name in set(registered_types()) - strategies:
            unregister_strategy(name)


@pytest.mark.parametrize("block", opted_out(), ids=lambda b: b.where)
def test_a_block_not_run_still_reads_and_names_what_exists(block: Block) -> None:
    """A block that needs a server is not run, but it must be valid Python, and every
    name it imports from flagware must exist."""
    tree = ast.parse(compile(block.text, block.where, "exec", ast.PyCF_ONLY_AST))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("flagware"):
            module = importlib.import_module(node.module or "")
            missing = [a.name for a in node.names if not hasattr(module, a.name)]
            assert missing == [], f"{block.where}: {node.module} has no {missing}"
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "flagware"
        ):
            assert hasattr(flagware, node.attr), f"{block.where}: no flagware.{node.attr}"


def test_opt_outs_are_few() -> None:
    blocks, skipped = python_blocks(), opted_out()
    assert len(blocks) - len(skipped) >= 20, "the docs should show code that runs"
    assert len(skipped) <= MAX_OPT_OUTS, [b.where for b in skipped]


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_fences_are_balanced(page: Path) -> None:
    _, problems = parse(page)
    assert problems == []


def slug(title: str) -> str:
    """The anchor GitHub gives a heading."""
    title = re.sub(r"[`*_]|<[^>]+>", "", title).strip().lower()
    return re.sub(r"[^\w\- ]", "", title).replace(" ", "-")


def _prose(page: Path) -> str:
    """The page without its code: links in code blocks and spans are not links."""
    text = page.read_text(encoding="utf-8")
    lines = text.splitlines()
    for block in parse(page)[0]:
        end = block.line + block.text.count("\n")
        for n in range(block.line - 1, min(end + 1, len(lines))):
            lines[n] = ""
    return re.sub(r"`[^`\n]*`", "", "\n".join(lines))


def anchors(page: Path) -> set[str]:
    return {slug(m["title"]) for m in map(_HEADING.match, _prose(page).splitlines()) if m}


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_relative_links_resolve(page: Path) -> None:
    broken = []
    for match in _LINK.finditer(_prose(page)):
        target = match["target"]
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        path, _, fragment = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif fragment and file.suffix == ".md" and fragment not in anchors(file):
            broken.append(f"{target}: no heading #{fragment} in {file.name}")
    assert broken == []


def test_docs_pages_are_linked_from_the_readme() -> None:
    readme = _prose(ROOT / "README.md")
    missing = [
        p.name for p in sorted((ROOT / "docs").glob("*.md")) if f"docs/{p.name}" not in readme
    ]
    assert missing == []


def test_one_version_number() -> None:
    assert flagware.__version__ == importlib.metadata.version("flagware")
