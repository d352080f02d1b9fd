"""Ruleset documents: the validated dataclasses, their one parser, and their text forms.

``documents`` reads and writes text (JSON, YAML, TOML, canonical JSON); ``parse`` checks a
document and reports every problem with its path; ``flag`` and ``model`` are the
dataclasses it builds, with ``segments`` (shared audiences) and ``prerequisites`` (flags
that require flags); ``load`` joins them (text or file in, :class:`Ruleset` out).
"""

from __future__ import annotations

from flagware.ruleset.documents import (
    MAX_DOCUMENT_BYTES,
    SCHEMA_VERSION,
    Format,
    UnknownPolicy,
    canonical_json,
)
from flagware.ruleset.flag import Flag, StrategySpec
from flagware.ruleset.load import load_ruleset, parse_text
from flagware.ruleset.model import Ruleset
from flagware.ruleset.prerequisites import Prerequisite
from flagware.ruleset.segments import Segment

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "SCHEMA_VERSION",
    "Flag",
    "Format",
    "Prerequisite",
    "Ruleset",
    "Segment",
    "StrategySpec",
    "UnknownPolicy",
    "canonical_json",
    "load_ruleset",
    "parse_text",
]
