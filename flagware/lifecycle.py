"""Stale flags: the ones a team should clean up, and why.

A flag is stale when it is past its ``expires`` date; when it has been on for everyone, or
off for everyone, for ``days`` days without a break (judged from the audit history: every
recorded version since then has it in that state); or when exposures are recorded and no
code has read it for ``days`` days. A ``permanent`` flag (an operational switch) is never
stale. The clock is an argument, so a test or a report can ask "as of when".
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from flagware.ruleset.flag import Flag
    from flagware.stores.audit import Change
    from flagware.stores.store import Store

__all__ = [
    "HISTORY_LIMIT",
    "FlagFilter",
    "Reason",
    "StaleFlag",
    "read_exposures",
    "stale_flags",
    "stamp_created",
]

Reason = Literal["expired", "fully_on", "fully_off", "unused"]
HISTORY_LIMIT = 1_000
"""Audit entries read to judge how long a flag has been fully on or off (newest first)."""
_DAY = 86_400.0


@dataclass(frozen=True)
class StaleFlag:
    """One reason one flag is stale; ``since`` is when that started (Unix seconds)."""

    name: str
    reason: Reason
    detail: str
    since: float
    owner: str | None = None


def stamp_created(flag_doc: dict[str, Any], today: date | None = None) -> None:
    """Date a new flag's document ``created`` today (UTC), as the panel and the CLI do when
    they make one, so that ``stale`` can judge it; not if it has a date, or if its
    ``expires`` is earlier (``created`` may not come after it)."""
    day = today or datetime.now(timezone.utc).date()
    expires = flag_doc.get("expires")
    if "created" in flag_doc or (isinstance(expires, str) and expires < day.isoformat()):
        return
    flag_doc["created"] = day.isoformat()


@dataclass(frozen=True)
class FlagFilter:
    """Which flags a list shows (the CLI's ``list`` options, the panel's search box).

    ``search`` is a case-insensitive substring of the name; with ``match_metadata`` it may
    also match a tag or the owner (the panel's one box). Each of ``tags`` must be on the
    flag; ``owner`` matches case-insensitively; ``expired`` keeps flags whose ``expires``
    date has come (on ``today``, UTC if not given).
    """

    search: str = ""
    tags: tuple[str, ...] = ()
    owner: str | None = None
    expired: bool = False
    match_metadata: bool = False
    today: date | None = None

    def __call__(self, flag: Flag) -> bool:
        """Whether ``flag`` passes every given criterion."""
        needle = self.search.strip().lower()
        if needle and needle not in flag.name.lower():
            owner = (flag.owner or "").lower()
            if not (
                self.match_metadata
                and (needle in owner or any(needle in t.lower() for t in flag.tags))
            ):
                return False
        if any(tag not in flag.tags for tag in self.tags):
            return False
        if self.owner is not None and (flag.owner or "").lower() != self.owner.lower():
            return False
        today = self.today or datetime.now(timezone.utc).date()
        return not self.expired or (flag.expires is not None and flag.expires <= today)


def _state(flag: Mapping[str, Any] | None) -> Literal["on", "off"] | None:
    """``"on"`` for everyone, ``"off"`` for everyone (killed, no strategy, or only 0 %
    rollouts), else None."""
    if not isinstance(flag, Mapping):
        return None
    strategies = flag.get("strategies") or []
    if flag.get("enabled") is False or not strategies:
        return "off"
    if all(_zero_percent(s) for s in strategies):
        return "off"  # only 0 % rollouts: no account can match
    variants = flag.get("variants")
    if isinstance(variants, Mapping) and len(variants) > 1:
        return None  # an experiment: on for everyone, but the split still matters
    for strategy in strategies:
        if not isinstance(strategy, Mapping) or strategy.get("when"):
            continue
        kind = strategy.get("type")
        if kind == "everyone" or (kind == "percentage" and strategy.get("percent") == 100):
            return "on"
    return None


def _zero_percent(strategy: Any) -> bool:
    return (
        isinstance(strategy, Mapping)
        and strategy.get("type") == "percentage"
        and strategy.get("percent") == 0
    )


def _held_since(name: str, state: str, history: Sequence[Change]) -> float | None:
    """When ``name`` entered ``state``: the oldest of the newest recorded versions that
    all have it so. None if no recorded version does."""
    since = None
    for change in history:  # newest first
        if "document" in change.unreadable or not math.isfinite(change.at):
            continue
        flags = change.document.get("flags")
        flag = flags.get(name) if isinstance(flags, Mapping) else None
        if _state(flag) != state:
            break
        since = change.at
    return since


def _day_start(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp()


def read_exposures(store: Store) -> dict[str, float]:
    """The store's last-seen exposure times (flag -> Unix seconds), if it keeps them:
    a Redis store whose ``RedisStreamHook`` writes the hash. Empty otherwise."""
    if type(store).__name__ != "RedisStore":  # the only store with a last-seen hash
        return {}
    from flagware.exposures.redis_stream import read_last_seen  # noqa: PLC0415 - redis extra
    from flagware.stores.redis import RedisStore  # noqa: PLC0415

    return read_last_seen(store) if isinstance(store, RedisStore) else {}


def stale_flags(
    store: Store,
    *,
    days: int = 30,
    now: float | datetime | None = None,
    last_seen: Mapping[str, float] | None = None,
    history_limit: int = HISTORY_LIMIT,
) -> list[StaleFlag]:
    """Every reason each flag of ``store`` is stale, by flag name.

    :param days: how long a flag must have been fully on/off, or unread, to count.
    :param now: the clock (Unix seconds or an aware datetime); the current time if None.
    :param last_seen: flag -> last exposure; read from the store (:func:`read_exposures`)
        if None. With no exposures recorded at all, the "unused" reason is not judged.
    """
    if days < 0:
        raise ValueError(f"days must not be negative, got {days}")
    at = time.time() if now is None else now.timestamp() if isinstance(now, datetime) else now
    cutoff = at - days * _DAY
    today = datetime.fromtimestamp(at, timezone.utc).date()
    seen = read_exposures(store) if last_seen is None else last_seen
    ruleset = store.ruleset()
    history: list[Change] | None = None
    found: list[StaleFlag] = []
    # Read by other flags even if no code reads it: not unused.
    required = {p.flag for flag in ruleset.flags.values() for p in flag.prerequisites}
    for name in sorted(ruleset.flags):
        flag = ruleset.flags[name]
        if flag.permanent:
            continue
        reasons: list[tuple[Reason, str, float]] = []
        if flag.expires is not None and flag.expires <= today:
            reasons.append(("expired", f"expired on {flag.expires}", _day_start(flag.expires)))
        state = _state(flag._document)
        if state == "on" and flag.prerequisites:
            state = None  # on only as far as its prerequisites are, which are judged on their own
        if state is not None:
            if history is None:
                history = store.history(limit=history_limit)
            since = _held_since(name, state, history)
            if since is not None and since <= cutoff:
                held = int((at - since) // _DAY)
                verb = "on for everyone" if state == "on" else "off for everyone"
                kind: Reason = "fully_on" if state == "on" else "fully_off"
                reasons.append((kind, f"{verb} for {held} days", since))
        if seen and name not in required:
            last = seen.get(name)
            if last is not None and last <= cutoff:
                reasons.append(("unused", f"no exposure in {int((at - last) // _DAY)} days", last))
            elif last is None and flag.created is not None:
                created = _day_start(flag.created)
                if created <= cutoff:
                    reasons.append(("unused", f"never exposed; created {flag.created}", created))
        found.extend(StaleFlag(name, *reason, owner=flag.owner) for reason in reasons)
    return found
