"""What a RedisStore keeps in Redis, written and read directly, as another tool would.

Tests use these to play the part of a writer outside flagware (a script, an operator with
redis-cli, a restored backup) and to look at what the store wrote.
"""

from __future__ import annotations

import hashlib

import redis


def keys(namespace: str) -> tuple[str, str, str]:
    """The ruleset hash, the audit stream and the change channel of a namespace."""
    tag = f"{{flagware:{namespace}}}"
    return f"{tag}:ruleset", f"{tag}:audit", f"{tag}:changes"


def digest(doc: bytes | str) -> str:
    """The ``digest`` field a document is stored with: its SHA-256 in hex."""
    return hashlib.sha256(doc.encode() if isinstance(doc, str) else doc).hexdigest()


def write_ruleset(
    client: redis.Redis,
    namespace: str,
    doc: bytes | str,
    version: int | bytes | str,
    *,
    publish: bool = True,
    with_digest: bool = True,
) -> None:
    """Replace the stored document and version, as a careful outside writer would (with
    its digest), or a careless one (``with_digest=False``: the old digest stays)."""
    key, _, channel = keys(namespace)
    fields: dict[str, bytes | str | int] = {"doc": doc, "version": version}
    if with_digest:
        fields["digest"] = digest(doc)
    client.hset(key, mapping=fields)
    if publish:
        client.publish(channel, version)
