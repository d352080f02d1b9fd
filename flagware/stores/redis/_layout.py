"""How a RedisStore namespace looks in Redis, and how to read it safely.

Every key of a namespace shares one hash tag, so the namespace lives in one slot of a
Redis Cluster and the scripts below may touch all of them::

    {flagware:<namespace>}:ruleset     hash: doc (canonical JSON), version, digest
    {flagware:<namespace>}:audit       stream: one entry per version (who, when, what, doc)
    {flagware:<namespace>}:changes     pub/sub channel: the new version after each write
    {flagware:<namespace>}:write-lock  held for a moment by the process that is writing
    {flagware:<namespace>}:exposures   stream: exposures (flagware.exposures.RedisStreamHook)
    {flagware:<namespace>}:exposures:last-seen  hash: flag -> last exposure (epoch seconds)

Anything can write into Redis, so nothing read from it is trusted: a ``version`` must be
a plain positive decimal integer, the ``doc`` must be there, and its SHA-256 must equal
``digest`` (a document edited in place, without a new version, would otherwise be served
by some processes and not by others). The scripts (:mod:`._scripts`) classify the hash the
same way, so a compare-and-set can name a hash that is *corrupt* and replace it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from flagware.ruleset import Ruleset

__all__ = [
    "CORRUPT",
    "EMPTY",
    "MAX_VERSION",
    "Head",
    "Keys",
    "Stamp",
    "Stored",
    "at_the_limit",
    "digest_of",
    "document_bytes",
    "exposures_key",
    "last_seen_key",
    "parse_version",
    "text",
]

# The highest version: far above what writes reach (a million a day for 2,700 years) and
# far below 2**53, where Lua's numbers stop being exact. A stored version above it is
# corrupt, and a write that would go above it is refused (only an outside writer can bring
# a namespace there).
MAX_VERSION = 10**12
ACTOR = "flagware"  # who the audit history names for what a process wrote back by itself
_VERSION = re.compile(rb"[1-9][0-9]{0,12}")
# Compare-and-set tokens for a hash that holds no version: nothing at all, or junk.
EMPTY = "0"
CORRUPT = "corrupt"


@dataclass(frozen=True)
class Keys:
    """The Redis keys and channel of one namespace."""

    ruleset: str
    audit: str
    channel: str
    write_lock: str

    @classmethod
    def of(cls, namespace: str) -> Keys:
        tag = f"{{flagware:{namespace}}}"
        return cls(f"{tag}:ruleset", f"{tag}:audit", f"{tag}:changes", f"{tag}:write-lock")


def exposures_key(namespace: str) -> str:
    """The stream :class:`~flagware.exposures.RedisStreamHook` appends exposures to."""
    return f"{{flagware:{namespace}}}:exposures"


def last_seen_key(namespace: str) -> str:
    """The hash of each flag's latest exposure: field = flag name, value = Unix time in
    whole seconds (written by the stream hook; ``flagware stale`` reads it)."""
    return f"{{flagware:{namespace}}}:exposures:last-seen"


def parse_version(raw: object) -> int | None:
    """A stored version (bytes or text), or None unless it is a plain positive integer."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "replace")
    if not isinstance(raw, bytes) or not _VERSION.fullmatch(raw) or int(raw) > MAX_VERSION:
        return None
    return int(raw)


def digest_of(doc: bytes) -> str:
    """The digest stored beside a document: its SHA-256, in hex."""
    return hashlib.sha256(doc).hexdigest()


def text(value: object, limit: int = 80) -> str:
    """Something read from Redis, printable in a log line (never raises)."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "backslashreplace")
    shown = repr(value)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


HeadState = Literal["empty", "ok", "corrupt"]


def _bytes(value: Any) -> bytes | None:
    return value if isinstance(value, bytes) else None


def _ascii(value: Any) -> str | None:
    return value.decode("ascii", "replace") if isinstance(value, bytes) else None


@dataclass(frozen=True)
class Head:
    """The small fields of the ruleset hash, and what the newest audit entry recorded."""

    kind: str  # the key's Redis type: "hash", or "none" when it does not exist
    raw_version: bytes | None
    digest: str | None
    has_doc: bool
    recorded_version: bytes | None = None  # of the newest audit entry
    recorded_digest: str | None = None
    doc_length: int = 0  # in bytes: an edit in place that kept the digest changes it

    @classmethod
    def from_reply(cls, reply: Any) -> Head:
        """What :data:`HEAD` and :data:`FETCH` return: type, version, digest, document (or
        whether there is one), and the newest audit entry's version and digest."""
        kind, raw_version, raw_digest, doc, recorded_version, recorded_digest = reply[:6]
        length = len(doc) if isinstance(doc, bytes) else reply[6] if len(reply) > 6 else 0
        return cls(
            _ascii(kind) or "none",
            _bytes(raw_version),
            _ascii(raw_digest),
            doc is not None and doc != 0,
            _bytes(recorded_version),
            _ascii(recorded_digest),
            int(length),
        )

    @property
    def version(self) -> int | None:
        return parse_version(self.raw_version)

    @property
    def state(self) -> HeadState:
        if self.kind == "none":
            return "empty"
        ok = self.kind == "hash" and self.version is not None and self.has_doc
        return "ok" if ok else "corrupt"

    @property
    def token(self) -> str:
        """What a compare-and-set against this state expects (as the scripts compute it)."""
        state = self.state
        if state == "ok":
            return str(self.version)
        return EMPTY if state == "empty" else CORRUPT

    def problem(self) -> str | None:
        """Why this hash cannot be served, before looking at the document; None if it may."""
        if self.state == "ok":
            recorded = parse_version(self.recorded_version)
            if (
                recorded == self.version
                and self.recorded_digest is not None
                and self.recorded_digest != self.digest
            ):
                return (
                    f"version {self.version} in Redis is not the document the audit history "
                    "recorded for it: it was changed in place, without a new version, and "
                    "processes that loaded it before would serve other rules"
                )
            return None
        if self.state == "empty":
            return None
        if self.kind != "hash":
            return f"the ruleset key holds a Redis {self.kind}, not a hash"
        if self.raw_version is None:
            return "the ruleset hash has no `version` field"
        if self.version is None:
            return (
                f"its `version` field is not a whole number from 1 to {MAX_VERSION:,}: "
                f"{text(self.raw_version)}"
            )
        return f"it has version {self.version} but no `doc` field"


@dataclass(frozen=True)
class Stamp:
    """The stored state a served ruleset came from: its digest field and length."""

    digest: str | None
    length: int


@dataclass(frozen=True)
class Stored:
    """The ruleset hash as one read found it: its small fields and the document."""

    head: Head
    doc: bytes | None


def document_bytes(ruleset: Ruleset) -> bytes:
    """A ruleset as Redis stores it (compact JSON)."""
    return ruleset._canonical.data


def at_the_limit(keys: Keys) -> str:
    """Why a namespace at the highest version takes no more writes, and what to do."""
    return (
        f"the next version would be above {MAX_VERSION:,}, the highest there is "
        "(only a write from outside flagware can bring a namespace there); delete the "
        f"namespace's keys ({keys.ruleset}, {keys.audit}) to start its versions over"
    )
