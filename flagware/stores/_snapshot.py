"""The last-known-good snapshot: the newest ruleset a store applied, kept on local disk.

A process that starts while its shared backend is unreachable serves the snapshot instead
of failing closed. The file is trusted only if it belongs to this user and nobody else
may write it, so another local user cannot plant rules.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Mapping
from hashlib import sha256
from pathlib import Path

from flagware.ruleset import MAX_DOCUMENT_BYTES, Ruleset

__all__ = ["Snapshot", "private_cache_dir", "trusted"]

logger = logging.getLogger("flagware")


class Snapshot:
    """One snapshot file: ``write`` after each applied version, ``read`` at a cold start."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    @classmethod
    def default_for(cls, where: str, namespace: str) -> Snapshot | None:
        """The snapshot in this user's private cache directory for one backend location
        and namespace; None (with a warning) if there is no private directory."""
        directory = private_cache_dir()
        if directory is None:
            logger.warning(
                "flagware: no private directory for snapshots; cold starts without "
                "Redis will fail closed (pass snapshot_path=)"
            )
            return None
        digest = sha256(f"{where}|{namespace}".encode()).hexdigest()[:12]
        return cls(directory / f"{namespace}-{digest}.json")

    def __repr__(self) -> str:
        return f"Snapshot({str(self.path)!r})"

    def write(self, version: int, ruleset: Ruleset) -> None:
        """Replace the file atomically; a failure is logged, never raised."""
        data = json.dumps(
            {"flagware_snapshot": 1, "version": version, "document": ruleset.to_dict()}
        )
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(data)
            os.replace(tmp, self.path)
        except OSError as exc:
            logger.warning("flagware: cannot write the snapshot %s: %s", self.path, exc)

    def read(self) -> tuple[int, Ruleset] | None:
        """The version and ruleset kept, or None if there is none that can be trusted."""
        if not self.path.exists():
            return None
        if not trusted(self.path):
            logger.error(
                "flagware: ignoring the snapshot %s: it must belong to this user and not be "
                "writable by others",
                self.path,
            )
            return None
        try:
            data = json.loads(self.path.read_bytes()[: MAX_DOCUMENT_BYTES + 1])
            if not isinstance(data, Mapping) or type(data.get("version")) is not int:
                raise ValueError("not a flagware snapshot")
            ruleset = Ruleset.from_dict(data.get("document"), source=str(self.path))
        except (OSError, ValueError, RecursionError) as exc:  # RulesetError is a ValueError
            logger.error("flagware: ignoring the unreadable snapshot %s: %s", self.path, exc)
            return None
        return data["version"], ruleset


def private_cache_dir() -> Path | None:
    """A directory only this user can write: ~/.cache/flagware, else one in the temp dir."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    candidates = [Path(base) / "flagware", Path(tempfile.gettempdir()) / f"flagware-{os.getuid()}"]
    for directory in candidates:
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            continue
        if trusted(directory):
            return directory
    return None


def trusted(path: Path) -> bool:
    """Whether ``path`` belongs to this user and nobody else may write it (no planting)."""
    try:
        st = path.lstat()
    except OSError:
        return False
    return st.st_uid == os.getuid() and not st.st_mode & 0o022
