"""What a process makes of what it reads from Redis, including after Redis lost data.

Nothing read from Redis is trusted. A document that is corrupt, invalid, or changed in
place without a new version (its digest no longer matches) is refused, and the last good
ruleset keeps serving; a save replaces it.

When Redis loses data the rule is: **what Redis holds wins, and versions only go up.**
An empty namespace is never "no flags" (with ``unknown: released`` that would release
every unfinished feature): the first process that notices writes back the newest ruleset
it knows, under its own version, but only into an empty namespace. A document someone
writes meanwhile (``flagware push`` into the empty namespace, or an older backup that
came back) is never overwritten by such a restore: the processes that served a higher
version renumber it above theirs, so every process applies it, and record the version
they served in the audit history, so it can be restored by hand.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flagware.errors import MORE_PROBLEMS, RulesetError
from flagware.ruleset import Ruleset
from flagware.stores.audit import parse_audit_entry, summarize
from flagware.stores.backend import Loaded, Served, Unservable
from flagware.stores.redis import _layout as layout
from flagware.stores.redis._layout import Head, Stamp, Stored, digest_of, document_bytes

if TYPE_CHECKING:
    from flagware.stores.redis.backend import RedisBackend

__all__ = ["RESTORE_ACTION", "load", "restore_missing", "verify"]

logger = logging.getLogger("flagware")
RESTORE_ACTION = "restore after data loss"
_LOOKS = 5  # a restore or renumber raced with another process: look again, this often


def load(backend: RedisBackend, served: Served | None) -> Loaded | None:
    """What Redis holds, if it is not what we serve; restores or renumbers after a loss.

    Raises :class:`Unservable` for what must not be served (remembered, so the same
    stored state is not fetched and validated again on every poll).
    """
    for _ in range(_LOOKS):
        done, loaded = _look(backend, served)
        if done:
            return loaded
    return None


def _look(backend: RedisBackend, served: Served | None) -> tuple[bool, Loaded | None]:
    """One look; ``(False, None)`` if Redis changed under us and must be looked at again."""
    head = backend.head()
    if head.state == "empty":
        if restore_missing(backend, served):
            return False, None
        return True, None  # nothing anywhere: keep what we serve (fail closed)
    version_served = served.version if served is not None else 0
    ours = served is not None and served.source == backend.name
    if head.state == "ok" and ours and head.version == version_served:
        if served is not None and served.stamp != Stamp(head.digest, head.doc_length):
            problem = (
                f"version {version_served} in Redis was changed without a new version (its "
                "digest changed); this process keeps serving the rules it loaded as that version"
            )
            raise Unservable(problem, state=("in place", head.raw_version, head.digest))
        backend.refused = None
        return True, None
    state = (head.raw_version, head.digest, head.state)
    if isinstance(backend.refused, Unservable) and backend.refused.state == state:
        raise backend.refused  # already looked at, and refused: wait for a new write
    stored = backend.fetch()
    if stored.head != head:
        return False, None
    try:
        version, ruleset = verify(backend, stored, served.ruleset if served is not None else None)
    except (Unservable, RulesetError) as exc:
        backend.refused = _refusal(exc, head, state, version_served)
        raise backend.refused from None
    doc = stored.doc or b""
    stamp = Stamp(digest_of(doc), len(doc))
    if served is not None and served.source in ("redis", "snapshot") and version < version_served:
        try:
            renumbered = _renumber(backend, head, stamp, ruleset, served)
        except Unservable as exc:
            raise Unservable(exc.problem, state=state) from None
        if renumbered is None:
            return False, None
        version = renumbered
    backend.refused = None
    return True, Loaded(version, ruleset, stamp)


def verify(
    backend: RedisBackend, stored: Stored, previous: Ruleset | None = None
) -> tuple[int, Ruleset]:
    """The version and ruleset of a stored hash, or :class:`Unservable` saying why not
    (read as an edit of ``previous``, what we serve, if given)."""
    head, doc = stored.head, stored.doc
    problem = head.problem()
    if problem is not None or head.version is None or doc is None:
        raise Unservable(problem or "the ruleset hash is empty")
    if head.digest is not None and head.digest != digest_of(doc):
        raise Unservable(
            f"the document of version {head.version} does not match the `digest` beside "
            "it: it was written or changed without updating the digest, and processes "
            "that loaded this version before would serve other rules; save a new version"
        )
    return head.version, backend.parse(doc, previous)


def _refusal(exc: Exception, head: Head, state: object, served: int) -> Unservable:
    what = f"version {head.version}" if head.version is not None else "the ruleset"
    if isinstance(exc, RulesetError):
        count = len(exc.problems)
        lines = "".join(f"\n  - {p}" for p in exc.problems)
        lines += f"\n  {MORE_PROBLEMS}" if exc.more else ""
        problem = f"it is invalid ({count} problem{'s' if count != 1 else ''}){lines}"
    else:
        problem = str(exc)
    log = f"rejected {what} in Redis; keeping version {served or 'none'}:\n{exc}"
    return Unservable(problem, state=state, log=log)


def restore_missing(backend: RedisBackend, served: Served | None) -> bool:
    """The namespace is empty: put back the newest ruleset we know, unless someone
    already did (or wrote one). Returns whether there was one to put back."""
    if served is not None and served.source in ("redis", "snapshot"):
        version, ruleset, action = served.version, served.ruleset, RESTORE_ACTION
    elif backend.snapshot is not None and (kept := backend.snapshot.read()) is not None:
        (version, ruleset), action = kept, RESTORE_ACTION
    elif backend.bootstrap is not None:
        version, ruleset, action = 0, backend.bootstrap, "bootstrap"
    else:
        return False
    version = max(version, 1)
    doc = document_bytes(ruleset)
    summary = summarize(None, ruleset.to_dict()) if action == "bootstrap" else {}
    restored = _restore(backend, doc, version, action, summary, force=False)
    if restored == -1:  # only the hash was lost: the stream holds a newer version
        recorded = _newest_recorded(backend)
        if recorded is not None:
            doc, version = recorded
            action = RESTORE_ACTION
        restored = _restore(backend, doc, version, action, {}, force=True)
    if restored and action == "bootstrap":
        logger.info("flagware: %s seeded an empty Redis with its bootstrap", backend.describe())
    elif restored:
        logger.warning(
            "flagware: %s found no ruleset in Redis and restored version %d",
            backend.describe(),
            version,
        )
    return True


def _renumber(
    backend: RedisBackend, head: Head, stamp: Stamp, ruleset: Ruleset, served: Served
) -> int | None:
    """Redis holds an older version than ours (written after it lost data, or a backup):
    keep it, under a version above ours. None if Redis changed meanwhile."""
    served_doc = document_bytes(served.ruleset)
    keys = backend.keys
    ok, version = backend.renumber_script(
        keys=[keys.ruleset, keys.audit],
        args=[
            head.raw_version or b"",
            head.digest or "",
            served.version,
            served_doc,
            layout.ACTOR,
            time.time(),
            json.dumps(summarize(served.ruleset._shared_document(), ruleset._shared_document())),
            keys.channel,
            backend.history_length,
            stamp.digest or "",
            backend.publish,
            digest_of(served_doc),
        ],
    )
    if ok == -1:
        raise Unservable(layout.at_the_limit(keys))
    if not ok:
        return None
    logger.warning(
        "flagware: %s found version %s in Redis, older than the version %d it served "
        "(Redis lost data, then was written to, or a backup came back); serving it as "
        "version %s. Version %d is kept in the history: `flagware restore %d` brings it back",
        backend.describe(),
        layout.text(head.raw_version),
        served.version,
        layout.text(version),
        served.version,
        served.version,
    )
    return layout.parse_version(version)


def _newest_recorded(backend: RedisBackend) -> tuple[bytes, int] | None:
    """The newest audit entry's document (as stored, so its digest holds) and version,
    if it is a valid ruleset."""
    entries = backend.client.xrevrange(backend.keys.audit, count=1)
    if not entries:
        return None
    raw = entries[0][1] or {}
    change, doc = parse_audit_entry(raw), raw.get(b"doc")
    if change is None or not isinstance(doc, bytes) or "document" in change.unreadable:
        return None
    try:
        backend.parse(doc)
    except RulesetError:
        return None
    return doc, change.version


def _restore(
    backend: RedisBackend,
    doc: bytes,
    version: int,
    action: str,
    summary: Mapping[str, Any],
    *,
    force: bool,
) -> int:
    """Run the restore script: 1 restored, 0 the namespace is not empty, -1 refused
    (the audit stream recorded a newer version)."""
    args: list[Any] = [
        doc, digest_of(doc), version, layout.ACTOR, time.time(), backend.keys.channel,
        backend.history_length, action, json.dumps(summary), backend.publish,
        "force" if force else "",
    ]  # fmt: skip
    return int(backend.restore_script(keys=[backend.keys.ruleset, backend.keys.audit], args=args))
