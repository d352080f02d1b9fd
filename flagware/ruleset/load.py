"""Raw text or a file to a validated :class:`~flagware.Ruleset`: the one way every store,
the snapshot and the CLI read a ruleset."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flagware.errors import RulesetError
from flagware.ruleset.documents import MAX_DOCUMENT_BYTES, Format, decode_document, format_of
from flagware.ruleset.model import Ruleset

__all__ = ["RulesetLike", "coerce_ruleset", "load_ruleset", "parse_text"]

RulesetLike = Ruleset | Mapping[str, Any]
"""What a store accepts as a ruleset: a Ruleset, or a document to validate."""


def parse_text(
    raw: str | bytes,
    fmt: Format = "json",
    *,
    source: str | None = None,
    previous: Ruleset | None = None,
) -> Ruleset:
    """Decode ``raw`` as ``fmt`` and validate it; one :class:`~flagware.RulesetError` names
    every problem (``source``, a file path or a Redis key, heads the message).

    With ``previous``, canonical JSON (what stores write) that differs from
    ``previous``'s in a few flags costs only those flags: the rest are ``previous``'s.
    """
    if (
        previous is not None
        and fmt == "json"
        and isinstance(raw, bytes)
        and len(raw) <= MAX_DOCUMENT_BYTES
    ):
        edit = previous._reread(raw)
        if edit is not None:
            try:
                ruleset = previous._edited(*edit, source=source)
            except RulesetError:
                pass  # the full read names every problem, as it always does
            else:
                # The canonical text of what was built is what is stored: then it is what a
                # full read gives (rulesets round-trip through it). Else read it whole.
                if ruleset._canonical.data == raw:
                    return ruleset
    return Ruleset.from_dict(decode_document(raw, fmt, source=source), source=source)


def load_ruleset(path: str | os.PathLike[str]) -> Ruleset:
    """Load and validate a ruleset file (``.json``, ``.yaml``, ``.yml`` or ``.toml``)."""
    fmt = format_of(path)
    with open(path, "rb") as f:
        data = f.read(MAX_DOCUMENT_BYTES + 1)
    return parse_text(data, fmt, source=str(path))


def coerce_ruleset(value: RulesetLike, *, source: str | None = None) -> Ruleset:
    """A Ruleset as is, or a document validated into one (raises RulesetError)."""
    if isinstance(value, Ruleset):
        return value
    if isinstance(value, Mapping):
        return Ruleset.from_dict(value, source=source)
    raise TypeError(f"expected a Ruleset or a ruleset document (dict), got {type(value).__name__}")
