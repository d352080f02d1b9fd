"""The group's global options, as one object every command reads."""

from __future__ import annotations

import getpass
import os
import socket
from dataclasses import dataclass
from pathlib import Path

import click

__all__ = ["Settings", "default_actor", "get_settings"]


def default_actor() -> str:
    """``<os user>@<hostname> (cli)``: who the audit history names when --actor is not set."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        user = f"uid{os.getuid()}"
    return f"{user}@{socket.gethostname()} (cli)"


@dataclass(frozen=True)
class Settings:
    """Where the ruleset is (Redis or a rules file) and who is acting."""

    redis_url: str | None
    namespace: str
    rules: Path | None
    actor: str
    verbose: bool = False

    @property
    def has_store(self) -> bool:
        """Whether a store was chosen (--redis-url or --rules)."""
        return self.redis_url is not None or self.rules is not None

    def store_label(self) -> str:
        """The chosen store in a few words, for messages."""
        if self.redis_url is not None:
            return f"Redis namespace {self.namespace!r}"
        return f"rules file {self.rules}"


def get_settings() -> Settings:
    """The settings of the running command (set by the group's callback)."""
    found = click.get_current_context().find_object(Settings)
    if found is None:  # pragma: no cover - every command runs under the group
        raise RuntimeError("flagware command run outside the flagware group")
    return found
