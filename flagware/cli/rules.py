"""Whole rulesets: ``validate`` files, ``push`` one, ``pull`` the live one, ``diff`` them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

from flagware._presenting import document_diff
from flagware.cli.connect import is_placeholder, open_store
from flagware.cli.errors import ConfigError, Refused
from flagware.cli.impact import echo_impact, impact_of, sample_option
from flagware.cli.output import (
    echo,
    echo_diff,
    echo_document,
    emit_json,
    json_option,
    printable,
    summary_lines,
)
from flagware.cli.settings import get_settings
from flagware.errors import MORE_PROBLEMS, RulesetError, VersionConflict

if TYPE_CHECKING:
    from flagware.ruleset import Ruleset
    from flagware.ruleset.documents import Format
    from flagware.stores.store import Store

__all__ = ["diff", "pull", "push", "validate"]

existing_file = click.Path(exists=True, dir_okay=False, path_type=Path)


def problems_of(path: Path) -> tuple[Ruleset | None, list[str], bool]:
    """The ruleset in ``path``, or the problems that keep it from being one, and whether
    validation stopped before finding them all."""
    from flagware.ruleset import load_ruleset  # noqa: PLC0415

    try:
        return load_ruleset(path), [], False
    except RulesetError as exc:
        return None, list(exc.problems), exc.more
    except ValueError as exc:  # an unknown file suffix
        return None, [str(exc)], False
    except OSError as exc:
        return None, [f"cannot read the file: {exc.strerror or exc}"], False


def problem_report(path: Path, problems: list[str], more: bool = False) -> str:
    """A file's problems, one per line, each with its path in the document."""
    noun = "problem" if len(problems) == 1 else "problems"
    lines = [f"{printable(path)}: invalid ({len(problems)} {noun}{', and more' if more else ''})"]
    lines += [f"  - {printable(p)}" for p in problems]
    if more:
        lines.append(f"  {MORE_PROBLEMS}")
    return "\n".join(lines)


def live_document(store: Store) -> dict[str, Any]:
    """The ruleset the store serves, or an empty one if Redis holds none yet."""
    from flagware.ruleset import Ruleset  # noqa: PLC0415

    return Ruleset().to_dict() if is_placeholder(store) else store.ruleset().to_dict()


@click.command("validate", short_help="Check ruleset files; list every problem.")
@click.argument("files", nargs=-1, required=True, type=existing_file)
@json_option
def validate(files: tuple[Path, ...], as_json: bool) -> None:
    """Check ruleset files and list every problem with its path; exit 1 if any is invalid.

    Needs no store. Files are .yaml, .yml, .json or .toml.
    """
    results = []
    for path in files:
        ruleset, problems, more = problems_of(path)
        results.append(
            {
                "file": str(path),
                "valid": ruleset is not None,
                "flags": len(ruleset.flags) if ruleset else None,
                "test_users": len(ruleset.test_users) if ruleset else None,
                "segments": len(ruleset.segments) if ruleset else None,
                "problems": problems,
                "more_problems": more,
            }
        )
    if as_json:
        emit_json({"valid": all(r["valid"] for r in results), "files": results})
    else:
        for path, result in zip(files, results, strict=True):
            if result["valid"]:
                segments = f", {result['segments']} segments" if result["segments"] else ""
                counts = f"{result['flags']} flags, {result['test_users']} test users{segments}"
                echo(f"{path}: ok ({counts})")
            else:
                problems = cast("list[str]", result["problems"])
                echo(problem_report(path, problems, bool(result["more_problems"])))
    if not all(r["valid"] for r in results):
        click.get_current_context().exit(1)


@click.command("push", short_help="Make a ruleset file the live ruleset.")
@click.argument("file", type=existing_file)
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.option(
    "--expect-version",
    type=click.IntRange(min=0),
    metavar="N",
    help="Refuse (exit 1) unless the live version is N (0: no ruleset yet).",
)
@sample_option
@json_option
def push(
    file: Path, dry_run: bool, expect_version: int | None, sample: Path | None, as_json: bool
) -> None:
    """Validate FILE and make it the live ruleset, as one new version.

    An invalid file is refused (exit 1) and nothing is written. Pushing what is already
    live writes nothing.
    """
    from flagware.ruleset import canonical_json  # noqa: PLC0415
    from flagware.stores.audit import summarize  # noqa: PLC0415

    ruleset, problems, more = problems_of(file)
    if ruleset is None:
        raise Refused(problem_report(file, problems, more) + "\nnothing was written")
    store = open_store(need_ruleset=False)
    live_version = 0 if is_placeholder(store) else store.version
    if expect_version is not None and expect_version != live_version:
        raise Refused(
            f"the live ruleset is version {live_version}, not {expect_version}; "
            "pull it, merge, and push again"
        )
    if sample is not None and not dry_run:
        raise click.UsageError("--sample previews a change: give --dry-run too")
    impact = None if sample is None else impact_of(store.ruleset(), ruleset, sample)
    new_doc = ruleset.to_dict()
    before: dict[str, Any] = live_document(store)
    version: int | None = None
    if not dry_run and canonical_json(before) != canonical_json(new_doc):
        if expect_version is None:
            commit = store.update(lambda doc: ruleset, actor=get_settings().actor, action="push")
            before = commit.before or before  # what this push replaced, for the summary
            version = commit.version if commit.changed else None
        else:
            try:
                version = store.save(
                    ruleset,
                    actor=get_settings().actor,
                    expected_version=expect_version,
                    action="push",
                ).version
            except VersionConflict as exc:
                raise Refused(f"{exc}; nothing was written") from None
    summary = summarize(before, new_doc)
    if as_json:
        emit_json(
            {
                "file": str(file),
                "dry_run": dry_run,
                "changed": bool(summary),
                "version": version if version is not None else live_version,
                "summary": summary,
                **({} if impact is None else {"impact": impact.to_dict()}),
            }
        )
        return
    if not summary:
        echo(f"{file} is already the live ruleset (version {live_version}); nothing written")
        return
    if version is None:
        echo(f"dry run: pushing {file} over version {live_version} would change:")
    else:
        echo(f"pushed {file}: now version {version}")
    for line in summary_lines(summary):
        echo(f"  {line}")
    echo_impact(impact)


@click.command("pull", short_help="Print or save the live ruleset.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to this file (its extension picks the format) instead of stdout.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["yaml", "json", "toml"]),
    help="Document format (default: YAML, or what the -o file's extension says).",
)
def pull(output: Path | None, fmt: str | None) -> None:
    """Print the live ruleset (YAML by default), or write it to a file."""
    from flagware.ruleset.documents import dump_document, format_of  # noqa: PLC0415

    chosen: Format
    if fmt is not None:
        chosen = cast("Format", fmt)
    elif output is not None:
        try:
            chosen = format_of(output)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="-o/--output") from None
    else:
        chosen = "yaml"
    store = open_store()
    doc = store.ruleset().to_dict()
    try:
        text = dump_document(doc, chosen)
    except ImportError as exc:
        raise ConfigError(str(exc)) from None
    if output is None:
        echo_document(doc, text, chosen)
        return
    output.write_text(text, encoding="utf-8")
    flags = len(store.ruleset().flags)
    echo(f"wrote {output}: version {store.version}, {flags} flags")


class _DiffTrouble(Refused):
    """Exit 2, as diff(1) does for trouble (1 means "different")."""

    exit_code = 2


@click.command("diff", short_help="Diff the live ruleset against a file.")
@click.argument("file", type=existing_file)
@json_option
def diff(file: Path, as_json: bool) -> None:
    """Show how FILE differs from the live ruleset, as a unified diff.

    Exit 0: the same; 1: different; 2 or 3: trouble (2: FILE invalid; 3: store unavailable).
    """
    from flagware.stores.audit import summarize  # noqa: PLC0415

    ruleset, problems, more = problems_of(file)
    if ruleset is None:
        raise _DiffTrouble(problem_report(file, problems, more))
    store = open_store()
    live, new = store.ruleset().to_dict(), ruleset.to_dict()
    lines = document_diff(
        live, new, old_label=f"live (version {store.version})", new_label=str(file)
    )
    if as_json:
        emit_json(
            {
                "file": str(file),
                "live_version": store.version,
                "different": bool(lines),
                "summary": summarize(live, new),
            }
        )
    else:
        echo_diff(lines)
    if lines:
        click.get_current_context().exit(1)
