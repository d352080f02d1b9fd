"""A scan held against a ruleset: flags read but not defined, defined but not read, dynamic.

A flag the code reads and the ruleset lacks is the dangerous finding: under the default
``unknown: released`` policy it is on for everyone, so a typo in a name ships the feature.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from flagware.lint._references import Reference, Skipped

if TYPE_CHECKING:
    from flagware.lint._scan import Scan
    from flagware.ruleset import Ruleset

__all__ = ["FINDINGS", "Finding", "Report", "check"]

FindingKind = Literal["undefined", "unused", "dynamic"]
FINDINGS: tuple[FindingKind, ...] = ("undefined", "unused", "dynamic")


@dataclass(frozen=True)
class Finding:
    """A flag read in code that the ruleset does not define, with every place it is read."""

    flag: str
    references: tuple[Reference, ...]
    did_you_mean: tuple[str, ...]
    released: bool  # what the ruleset's `unknown` policy makes of it

    def message(self) -> str:
        """``undefined flag 'new_chekout' (did you mean new_checkout?): released ...``."""
        hint = f" (did you mean {', '.join(self.did_you_mean)}?)" if self.did_you_mean else ""
        effect = (
            "on for everyone (unknown: released)"
            if self.released
            else "off for everyone (unknown: hidden)"
        )
        return f"undefined flag {self.flag!r}{hint}: {effect}"


@dataclass(frozen=True)
class Report:
    """What :func:`check` found."""

    undefined: tuple[Finding, ...]
    unused: tuple[str, ...]  # defined, never read nor required: candidates for removal
    dynamic: tuple[Reference, ...]  # names the scan could not resolve
    skipped: tuple[Skipped, ...]
    files: int
    references: int
    flags: int
    unknown: str

    def counts(self) -> dict[FindingKind, int]:
        """How many of each finding."""
        return {
            "undefined": len(self.undefined),
            "unused": len(self.unused),
            "dynamic": len(self.dynamic),
        }

    def failing(self, fail_on: Iterable[str]) -> list[FindingKind]:
        """The kinds among ``fail_on`` that were found."""
        counts = self.counts()
        return [kind for kind in FINDINGS if kind in set(fail_on) and counts[kind]]

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (what ``flagware lint --json`` prints)."""

        def where(ref: Reference) -> dict[str, Any]:
            entry: dict[str, Any] = {
                "path": ref.path,
                "line": ref.line,
                "column": ref.column,
                "kind": ref.kind,
            }
            if ref.name is None:
                entry["code"] = ref.code
            return entry

        return {
            "ruleset": {"flags": self.flags, "unknown": self.unknown},
            "scanned": {"files": self.files, "references": self.references},
            "undefined": [
                {
                    "flag": f.flag,
                    "released": f.released,
                    "did_you_mean": list(f.did_you_mean),
                    "references": [where(r) for r in f.references],
                }
                for f in self.undefined
            ],
            "unused": list(self.unused),
            "dynamic": [where(r) for r in self.dynamic],
            "skipped": [{"path": s.path, "error": s.error} for s in self.skipped],
            "counts": self.counts(),
        }


def _close(name: str, defined: list[str]) -> tuple[str, ...]:
    return tuple(difflib.get_close_matches(name, defined, n=3, cutoff=0.75))


def check(scan: Scan, ruleset: Ruleset) -> Report:
    """Hold ``scan`` against ``ruleset``."""
    defined: Mapping[str, Any] = ruleset.flags
    names = sorted(defined)
    by_name: dict[str, list[Reference]] = {}
    dynamic: list[Reference] = []
    for ref in scan.references:
        if ref.name is None:
            dynamic.append(ref)
        else:
            by_name.setdefault(ref.name, []).append(ref)
    undefined = tuple(
        Finding(name, tuple(refs), _close(name, names), ruleset.unknown == "released")
        for name, refs in sorted(by_name.items())
        if name not in defined
    )
    # A flag other flags require is in use, read by the code or not.
    required = {p.flag for flag in defined.values() for p in flag.prerequisites}
    return Report(
        undefined=undefined,
        unused=tuple(name for name in names if name not in by_name and name not in required),
        dynamic=tuple(dynamic),
        skipped=scan.skipped,
        files=scan.files,
        references=len(scan.references),
        flags=len(defined),
        unknown=ruleset.unknown,
    )
