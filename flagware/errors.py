"""Every exception flagware raises on purpose.

::

    FlagwareError
     ├── RulesetError (also ValueError)      a ruleset document failed validation
     ├── StrategyRegistrationError (also ValueError)
     │                                       a custom strategy name is taken or malformed
     ├── NoFlagContext (also LookupError)    flags were read outside a request or use_flags()
     ├── NotFound (also KeyError)            a name the ruleset or its history does not hold
     │    ├── UnknownFlag                    no flag of that name (``store.delete_flag``, ...)
     │    ├── UnknownSegment                 no segment of that name (``delete_segment``)
     │    └── UnknownVersion                 no recorded version of that number (``restore``)
     └── StoreError                          a store could not load or save a ruleset
          ├── StoreUnavailable               its backend cannot be reached: retry later
          ├── WriteContention                other writers kept winning: try again
          └── VersionConflict                the ruleset moved on since the version you
                                             expected: reload, merge, and save again
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "MORE_PROBLEMS",
    "FlagwareError",
    "NoFlagContext",
    "NotFound",
    "RulesetError",
    "StoreError",
    "StoreUnavailable",
    "StrategyRegistrationError",
    "UnknownFlag",
    "UnknownSegment",
    "UnknownVersion",
    "VersionConflict",
    "WriteContention",
]


MORE_PROBLEMS = "... and more problems; fix these first"
"""The last line of a :class:`RulesetError` whose validation stopped early."""


class FlagwareError(Exception):
    """Root of flagware's own errors: ``except FlagwareError`` catches them all."""


class RulesetError(FlagwareError, ValueError):
    """A ruleset document is invalid.

    ``problems`` holds every problem found, each as ``"path: message"`` where the path names
    the flag, strategy and field (``flags.beta.strategies[2].percent``), so one failed
    validation tells the author everything to fix.

    Validation stops after a bounded number of problems (a document with 30,000 bad ids
    would otherwise cost as much to report as to fix); ``more`` is then True and the
    message ends with a line saying so.
    """

    def __init__(
        self, problems: Iterable[str], *, source: str | None = None, more: bool = False
    ) -> None:
        self.problems: tuple[str, ...] = tuple(problems) or ("invalid ruleset",)
        self.source = source
        self.more = more
        where = f" in {source}" if source else ""
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        lines = "\n".join(f"  - {p}" for p in self.problems)
        if more:
            lines += f"\n  {MORE_PROBLEMS}"
            noun += ", and more"
        super().__init__(f"invalid ruleset{where} ({count} {noun}):\n{lines}")


class StrategyRegistrationError(FlagwareError, ValueError):
    """A custom strategy could not be registered (name taken, malformed, or not a Strategy)."""


class NoFlagContext(FlagwareError, LookupError):
    """Flags were read where no FlagSet is active."""

    def __init__(self) -> None:
        super().__init__(
            "no feature flags are active in this context. Wrap the app in "
            "flagware's WSGI/ASGI middleware, or activate flags yourself with "
            "`with flagware.use_flags(engine.evaluate_all(account)):` "
            "(in tests and background jobs, `use_flags({'name': True})` works too)."
        )


class StoreError(FlagwareError):
    """A store could not read or write its ruleset (the last good ruleset keeps serving)."""


class StoreUnavailable(StoreError):
    """The store's backend (Redis, the file) cannot be reached or read just now.

    Requests are not affected: the last good ruleset keeps serving. A write may be retried
    once the backend is back.
    """


class WriteContention(StoreError):
    """A write kept losing its compare-and-set to other writers, or could not get its turn;
    nothing was written. Trying again later is safe."""


class VersionConflict(StoreError):
    """A write expected a version of the ruleset that is no longer the current one.

    Unlike :class:`WriteContention`, trying again is not enough: reload the ruleset, merge
    your change into it, and save against the new version.
    """


class NotFound(FlagwareError, KeyError):
    """A flag or a recorded version that is not there (also a ``KeyError``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return self.message


class UnknownFlag(NotFound):
    """The ruleset has no flag of this name; ``name`` holds it."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no flag named {name!r}")
        self.name = name


class UnknownSegment(NotFound):
    """The ruleset has no segment of this name; ``name`` holds it."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no segment named {name!r}")
        self.name = name


class UnknownVersion(NotFound):
    """No recorded change has this version (it is older than the history kept, or never
    existed); ``version`` holds it."""

    def __init__(self, version: int) -> None:
        super().__init__(f"version {version} is not in the recorded history")
        self.version = version
