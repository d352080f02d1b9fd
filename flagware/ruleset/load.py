"""Raw text or a file to a validated :class:`~flagware.Ruleset`: the one way every store,
the snapshot and the CLI read a ruleset."""

from __future__ import annotations

import os

from flagware.ruleset.documents import MAX_DOCUMENT_BYTES, Format, decode_document, format_of
from flagware.ruleset.model import Ruleset

__all__ = ["load_ruleset", "parse_text"]


def parse_text(raw: str | bytes, fmt: Format = "json", *, source: str | None = None) -> Ruleset:
    """Decode ``raw`` as ``fmt`` and validate it; one :class:`~flagware.RulesetError` names
    every problem (``source``, a file path or a Redis key, heads the message)."""
    return Ruleset.from_dict(decode_document(raw, fmt, source=source), source=source)


def load_ruleset(path: str | os.PathLike[str]) -> Ruleset:
    """Load and validate a ruleset file (``.json``, ``.yaml``, ``.yml`` or ``.toml``)."""
    fmt = format_of(path)
    with open(path, "rb") as f:
        data = f.read(MAX_DOCUMENT_BYTES + 1)
    return parse_text(data, fmt, source=str(path))
