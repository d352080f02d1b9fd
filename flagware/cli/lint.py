"""``flagware lint PATH...``: the flags the code reads, held against the ruleset, for CI."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from flagware.cli.connect import open_store
from flagware.cli.errors import ConfigError, Refused
from flagware.cli.output import echo, emit_json, json_option, printable

if TYPE_CHECKING:
    from flagware.lint import Report
    from flagware.ruleset import Ruleset

__all__ = ["lint"]

_KINDS = ("undefined", "unused", "dynamic")


def _fail_on(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    kinds = tuple(k.strip() for k in value.split(",") if k.strip())
    if kinds == ("none",):
        return ()
    wrong = [k for k in kinds if k not in _KINDS]
    if wrong:
        raise click.BadParameter(f"{', '.join(wrong)}: choose from {', '.join(_KINDS)}, or none")
    return kinds


def _ruleset(rules: Path | None) -> Ruleset:
    if rules is None:
        return open_store().ruleset()
    from flagware.cli.rules import problem_report, problems_of  # noqa: PLC0415

    ruleset, problems, more = problems_of(rules)
    if ruleset is None:
        raise Refused(problem_report(rules, problems, more))
    return ruleset


def _print(report: Report, failing: list[str]) -> None:
    for finding in report.undefined:
        for ref in finding.references:
            echo(f"{printable(ref.where)}: {printable(finding.message())}")
    for ref in report.dynamic:
        echo(f"{printable(ref.where)}: flag name computed at run time: {printable(ref.code)}")
    for skipped in report.skipped:
        echo(f"{printable(skipped.path)}: not scanned: {printable(skipped.error)}")
    if report.unused:
        names = ", ".join(printable(n) for n in report.unused)
        echo(f"defined but never read ({len(report.unused)}, removal candidates): {names}")
    counts = report.counts()
    echo(
        f"{report.files} files, {report.references} flag reads, {report.flags} flags defined: "
        f"{counts['undefined']} undefined, {counts['unused']} unused, "
        f"{counts['dynamic']} dynamic" + (f"; failing on {', '.join(failing)}" if failing else "")
    )


@click.command("lint", short_help="Check the code's flag reads against the ruleset.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--rules",
    "rules",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="FILE",
    help="The ruleset to check against [default: the store the global options choose].",
)
@click.option(
    "--fail-on",
    default="undefined",
    show_default=True,
    callback=_fail_on,
    metavar="KINDS",
    help="Findings that make the exit status 1: undefined, unused, dynamic (comma-separated), "
    "or none.",
)
@click.option("--exclude", multiple=True, metavar="GLOB", help="Leave out matching paths.")
@json_option
def lint(
    paths: tuple[Path, ...],
    rules: Path | None,
    fail_on: tuple[str, ...],
    exclude: tuple[str, ...],
    as_json: bool,
) -> None:
    """Scan Python files and Jinja/Django templates under PATHS for flag reads.

    \b
    Reports:
      undefined  read in code, not in the ruleset (a typo: released to everyone
                 under the default `unknown: released`), with the closest names
      unused     in the ruleset, read nowhere under PATHS: removal candidates
      dynamic    names computed at run time, which cannot be checked
    Exit status 1 when a kind named by --fail-on is found, 0 otherwise.
    """
    from flagware.lint import check, scan  # noqa: PLC0415 - only this command needs it

    ruleset = _ruleset(rules)
    try:
        found = scan(paths, exclude=exclude)
    except FileNotFoundError as exc:
        raise ConfigError(str(exc)) from None
    report = check(found, ruleset)
    failing = report.failing(fail_on)
    if as_json:
        emit_json({**report.to_dict(), "failing": failing, "ok": not failing})
    else:
        _print(report, list(failing))
    if failing:
        click.get_current_context().exit(1)
