"""What a store serves when its shared backend cannot give it a ruleset at start-up.

In order: the last-known-good snapshot on local disk, else the ``bootstrap`` ruleset the
application passed, else it *fails closed*: every flag off for everyone, test users
included. Failing open (``unknown: released`` over an empty ruleset) would release every
unfinished feature, so it is never the default.
"""

from __future__ import annotations

import logging
import os

from flagware.ruleset import Ruleset, load_ruleset
from flagware.ruleset.load import RulesetLike, coerce_ruleset
from flagware.stores._snapshot import Snapshot

__all__ = ["FAIL_CLOSED", "cold_start", "load_bootstrap"]

logger = logging.getLogger("flagware")

FAIL_CLOSED = Ruleset(unknown="hidden")
"""Every flag off for everyone: what a cold start with nothing to load serves."""


def load_bootstrap(bootstrap: RulesetLike | str | os.PathLike[str] | None) -> Ruleset | None:
    """A bootstrap given as a path, a document or a Ruleset, validated at configuration
    time (a bad one raises at once)."""
    if bootstrap is None:
        return None
    if isinstance(bootstrap, str | os.PathLike):
        return load_ruleset(bootstrap)
    return coerce_ruleset(bootstrap, source="bootstrap")


def cold_start(
    snapshot: Snapshot | None, bootstrap: Ruleset | None, describe: str, label: str
) -> tuple[int, Ruleset, str]:
    """The version, ruleset and source to serve when the backend gave nothing."""
    kept = snapshot.read() if snapshot is not None else None
    if kept is not None:
        version, ruleset = kept
        logger.warning(
            "flagware: %s cannot load from %s; serving the snapshot of version %d (%s)",
            describe,
            label,
            version,
            snapshot.path if snapshot is not None else "",
        )
        return version, ruleset, "snapshot"
    if bootstrap is not None:
        logger.warning("flagware: %s serves its bootstrap ruleset", describe)
        return 0, bootstrap, "bootstrap"
    logger.error(
        "flagware: %s has no ruleset (%s unavailable or empty, no snapshot, no "
        "bootstrap): FAILING CLOSED, every flag is off for everyone, test users "
        "included, until a ruleset is loaded",
        describe,
        label,
    )
    return 0, FAIL_CLOSED, "fail-closed"
