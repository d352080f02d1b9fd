"""A ruleset's canonical JSON, assembled from its flags', and a new document read against it.

The canonical JSON of a ruleset (sorted keys, no spaces: :func:`canonical_json`) is its
flags' canonical JSON joined in name order between a fixed head and tail, so it is
assembled from texts each flag computes once. And a stored document that shares most of
its bytes with the one a process serves is read by decoding only the bytes in between:
a flag whose bytes (and the delimiters around them) are unchanged is the same flag, and
keeps its validated and compiled form. Whatever is in doubt is left to a full read.
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from itertools import accumulate
from operator import attrgetter, sub
from typing import TYPE_CHECKING, Any

from flagware.ruleset.documents import SCHEMA_VERSION, canonical_json

if TYPE_CHECKING:
    from flagware.ruleset.flag import Flag

__all__ = ["Canonical", "assemble", "reassemble", "reread"]

REASSEMBLE_LIMIT = 8
"""Past this many changed flags, :func:`reassemble` leaves it to :func:`assemble`."""
HEAD = b'{"flags":{'
TAIL = b'},"schema":'
_DOCUMENT = attrgetter("_document")


@dataclass(frozen=True, slots=True)
class Canonical:
    """The canonical JSON bytes of a ruleset, and where each flag's ``"name":{...}`` is."""

    data: bytes
    names: tuple[str, ...]  # sorted, as in ``data``
    starts: tuple[int, ...]  # offset of each flag's key
    ends: tuple[int, ...]  # offset just past each flag's value
    flags_end: int  # offset of the ``}`` that closes ``flags``


def assemble(
    flags: Mapping[str, Flag], test_users: frozenset[str], unknown: str, segments: bytes = b""
) -> Canonical:
    """The canonical JSON of a ruleset with these parts (equal to ``canonical_json`` of its
    document, which the tests check), from the flags' cached texts."""
    names = sorted(flags)
    pieces = [flags[name]._segment for name in names]
    # Each segment starts one delimiter past the end of the one before.
    sizes = list(map(len, pieces))
    ends = tuple(accumulate(map((1).__add__, sizes), initial=len(HEAD) - 1))[1:]
    starts = tuple(map(sub, ends, sizes))
    body = b",".join(pieces)
    return Canonical(
        HEAD + body + _tail(test_users, unknown, segments),
        tuple(names),
        tuple(starts),
        tuple(ends),
        len(HEAD) + len(body),
    )


def _tail(test_users: frozenset[str], unknown: str, segments: bytes) -> bytes:
    """What follows the flags: ``segments`` is their canonical JSON, or empty if none."""
    return b'},"schema":%d%s,"test_users":%s,"unknown":%s}' % (
        SCHEMA_VERSION,
        b',"segments":' + segments if segments else b"",
        canonical_json(sorted(test_users)).encode("ascii"),
        canonical_json(unknown).encode("ascii"),
    )


def _shifted(offsets: tuple[int, ...], delta: int) -> tuple[int, ...]:
    return tuple(map(delta.__add__, offsets)) if delta else offsets


def reassemble(
    old: Canonical,
    flags: Mapping[str, Flag],
    changed: Collection[str],
    *,
    test_users: frozenset[str],
    unknown: str,
    segments: bytes = b"",
) -> Canonical | None:
    """``assemble(flags, test_users, unknown)`` from ``old``, the canonical JSON of a
    ruleset whose flags are these but for the ones named in ``changed``: each changed flag's
    bytes spliced in (a copy of the text per flag) instead of every flag's joined. None
    past :data:`REASSEMBLE_LIMIT` changed flags, where assembling is as cheap."""
    if len(changed) > REASSEMBLE_LIMIT:
        return None
    data, names, starts, ends = old.data, old.names, old.starts, old.ends
    flags_end = old.flags_end
    for name in sorted(changed):
        i = bisect_left(names, name)
        present = i < len(names) and names[i] == name
        flag = flags.get(name)
        if flag is None and not present:
            continue
        if flag is None:  # removed, with the comma after it (before it, if it is last)
            if i < len(names) - 1:
                cut_from, cut_to = starts[i], starts[i + 1]
            else:
                cut_from, cut_to = (ends[i - 1] if i else starts[i]), ends[i]
            delta = cut_from - cut_to
            data = data[:cut_from] + data[cut_to:]
            names = names[:i] + names[i + 1 :]
            starts = starts[:i] + _shifted(starts[i + 1 :], delta)
            ends = ends[:i] + _shifted(ends[i + 1 :], delta)
        else:
            segment = flag._segment
            if present:  # replaced
                at, stop, piece, rest = starts[i], ends[i], segment, i + 1
                start = at
            elif i < len(names):  # added before names[i]
                at = stop = start = starts[i]
                piece, rest = segment + b",", i
            elif i:  # added last, after a comma
                at = stop = ends[i - 1]
                piece, rest, start = b"," + segment, i, at + 1
            else:  # the only flag
                at = stop = start = len(HEAD)
                piece, rest = segment, i
            delta = len(piece) - (stop - at)
            data = data[:at] + piece + data[stop:]
            names = (*names[:i], name, *names[rest:])
            starts = (*starts[:i], start, *_shifted(starts[rest:], delta))
            ends = (*ends[:i], start + len(segment), *_shifted(ends[rest:], delta))
        flags_end += delta
    if len(names) != len(flags):
        return None  # ``changed`` did not name every difference: assemble instead
    tail = _tail(test_users, unknown, segments)
    if data[flags_end:] != tail:
        data = data[:flags_end] + tail
    return Canonical(data, names, starts, ends, flags_end)


def _common_prefix(a: bytes, b: bytes, limit: int) -> int:
    """How many leading bytes ``a`` and ``b`` share (at most ``limit``), by halving."""
    low, high = 0, limit
    while low < high:
        middle = (low + high + 1) // 2
        if a[low:middle] == b[low:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _common_suffix(a: bytes, b: bytes, limit: int) -> int:
    """How many trailing bytes ``a`` and ``b`` share (at most ``limit``)."""
    low, high = 0, limit
    na, nb = len(a), len(b)
    while low < high:
        middle = (low + high + 1) // 2
        if a[na - middle : na - low] == b[nb - middle : nb - low]:
            low = middle
        else:
            high = middle - 1
    return low


def _documents(flags: Mapping[str, Flag], names: tuple[str, ...]) -> dict[str, Any]:
    """``{name: flag's own document}``, at C speed."""
    return dict(zip(names, map(_DOCUMENT, map(flags.__getitem__, names)), strict=True))


def reread(
    old: Canonical, flags: Mapping[str, Flag], raw: bytes
) -> tuple[dict[str, Any], frozenset[str], dict[str, Any] | None] | None:
    """``raw`` read as an edit of ``old``: its flags, as a mapping whose unchanged flags are
    the old flags' own documents; the names of the others (decoded, or gone); and its other
    top-level keys if they changed (else None). None when ``raw`` cannot be read this way.

    A flag counts as unchanged when its bytes are; the delimiters around the bytes in
    between are not checked here: the caller compares the canonical JSON of what it
    built with ``raw``, and reads ``raw`` whole if they differ.
    """
    if not raw.startswith(HEAD):
        return None
    data = old.data
    if raw == data:
        return _documents(flags, old.names), frozenset(), None
    tail = data[old.flags_end :]
    top = None
    if raw.endswith(tail):
        flags_end = len(raw) - len(tail)
    else:  # test users or the policy changed: the tail is the last `},"schema":`
        flags_end = raw.rfind(TAIL, len(HEAD) - 1)
        if flags_end < 0:
            return None
        try:
            top = json.loads(b"{" + raw[flags_end + 2 :])
        except (ValueError, RecursionError):
            return None
    before, after = data[: old.flags_end], raw[:flags_end]
    limit = min(len(before), len(after))
    prefix = _common_prefix(before, after, limit)
    suffix = _common_suffix(before, after, limit)  # may overlap the prefix: a flag is in both
    shift = len(after) - len(before)
    count = len(old.names)
    # The flags wholly before the first difference, and wholly after the last one.
    first = bisect_right(old.ends, prefix)
    last = max(first, bisect_left(old.starts, len(before) - suffix))
    start = old.ends[first - 1] + 1 if first else len(HEAD)
    stop = old.starts[last] + shift - 1 if last < count else flags_end
    decoded: dict[str, Any] = {}
    if start < stop:
        try:
            decoded = json.loads(b"{" + raw[start:stop] + b"}")
        except (ValueError, RecursionError):
            return None
    # What was decoded may still hold unchanged flags (edits on both sides of them): a
    # flag whose canonical text is the old one's is the old one.
    changed = set(old.names[first:last])
    for name, value in decoded.items():
        known = flags.get(name)
        if known is not None and canonical_json(value).encode() == known._canonical:
            decoded[name] = known._document
            changed.discard(name)
        else:
            changed.add(name)
    document = _documents(flags, old.names[:first])
    document.update(decoded)
    document.update(_documents(flags, old.names[last:]))
    return document, frozenset(changed), top
