"""Code references: which flags the code reads, held against the ruleset (``flagware lint``).

``scan(paths)`` finds every flag read in Python files (by their syntax tree) and in Jinja
and Django templates; ``check(scan, ruleset)`` reports flags read but not defined (a typo
there is released to everyone by default), flags defined but never read (removal
candidates), and names computed at run time that it cannot check::

    from flagware.lint import check, scan
    report = check(scan(["src", "templates"]), flagware.load_ruleset("flags.yaml"))
    for finding in report.undefined:
        print(finding.message())
"""

from __future__ import annotations

from flagware.lint._references import Reference, Skipped
from flagware.lint._report import FINDINGS, Finding, Report, check
from flagware.lint._scan import Scan, scan

__all__ = ["FINDINGS", "Finding", "Reference", "Report", "Scan", "Skipped", "check", "scan"]
