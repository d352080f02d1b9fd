"""Every limit a ruleset document must keep, and the running totals that enforce them.

The document-wide limits keep the cost of a request bounded whatever is stored; they are
counted from the raw document as validation walks it, and the first one exceeded ends the
walk, so a document far over a limit costs no more to refuse than one at it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from operator import sub
from typing import TYPE_CHECKING, Any

from flagware.errors import RulesetError
from flagware.ruleset.documents import MAX_DOCUMENT_BYTES
from flagware.ruleset.prerequisites import MAX_CHAIN, MAX_PREREQUISITES
from flagware.strategies.accounts import MAX_IDS
from flagware.strategies.attribute import Attribute
from flagware.strategies.conditions import (
    MAX_PATTERNS,
    MAX_REGEX_LENGTH,
    MAX_REGEX_PROGRAM,
    MAX_VALUES,
    REGEX_MAX_MEM,
)

if TYPE_CHECKING:
    from flagware.ruleset.flag import StrategySpec
    from flagware.strategies.conditions import Condition

__all__ = ["LIMITS", "MAX_PROBLEMS", "NO_COUNTS", "Problems", "Totals"]

# Every limit a ruleset document must keep, in one table (README, "Validation", lists them).
# The document-wide ones are what keeps the cost of a request bounded whatever is stored:
# the engine answers eq/in conditions, allowlists, last digits and rollouts from indexes,
# but calls the other checks one by one.
LIMITS: Mapping[str, int] = {
    # the document as a whole
    "document_bytes": MAX_DOCUMENT_BYTES,  # as JSON, YAML or TOML text
    "nodes": 2_000_000,  # values in the whole document
    "depth": 16,  # nesting of mappings and lists
    "flags": 50_000,
    "segments": 1_000,
    "test_users": 10_000,
    # each flag, strategy and condition
    "strategies_per_flag": 100,
    "conditions_per_strategy": 20,
    "variants_per_flag": 100,
    "prerequisites_per_flag": MAX_PREREQUISITES,
    "prerequisite_chain": MAX_CHAIN,  # flags in the longest chain of prerequisites
    "ids_per_strategy": MAX_IDS,  # an accounts allowlist
    "values_per_condition": MAX_VALUES,
    "regex_length": MAX_REGEX_LENGTH,  # characters of one pattern
    "regex_patterns_per_condition": MAX_PATTERNS,
    "regex_program_per_condition": MAX_REGEX_PROGRAM,  # RE2 instructions, patterns together
    "regex_memory_per_condition": REGEX_MAX_MEM,  # bytes RE2 may use: program and DFA cache
    # the whole ruleset
    "strategies": 100_000,
    "conditions": 20_000,  # attribute strategies and `when` entries
    "checks": 10_000,  # schedules, custom strategies, conditions other than eq/in
    "regex_conditions": 20,  # each one is a search of the text, whatever its patterns
    "regex_patterns": 50,
    "regex_program": 10_000,  # RE2 instructions of all regex conditions
    "contains_texts": 1_000,  # text values of contains conditions: a substring search each
    "copied_values": 2_000_000,  # values segments copy into the flags using them
}

# What each document-wide limit counts, for its error message.
_COUNTED = {
    "strategies": "strategies",
    "conditions": "conditions (attribute strategies and `when` entries)",
    "checks": (
        "per-request checks (schedule and custom strategies; ne, not_in, lt, lte, gt, gte, "
        "contains and regex conditions)"
    ),
    "regex_conditions": "regex conditions",
    "regex_patterns": "regex patterns",
    "regex_program": "RE2 instructions of compiled regex conditions",
    "contains_texts": "text values of contains conditions",
    "copied_values": "values the flags' segments copy into them",
}

# What a flag counts (``Flag._counts``: its values, then each total above) when it has none.
NO_COUNTS = (0,) * (1 + len(_COUNTED))

# A RulesetError lists at most this many problems; validation stops once it has them.
MAX_PROBLEMS = 100


class Problems:
    """The problems found so far, at most ``MAX_PROBLEMS`` of them.

    ``full`` tells the walk to stop: past the cap, finding more costs time and tells the
    author nothing they can act on before fixing the first ones.
    """

    __slots__ = ("halted", "lines", "more")

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.more = False  # some problems were dropped, or part of the document unchecked
        # A document-wide limit was exceeded: checking the rest is moot, and the problem says
        # so itself (no "and more" line).
        self.halted = False

    def __len__(self) -> int:
        return len(self.lines)

    @property
    def full(self) -> bool:
        """Whether to stop: the cap is reached, or a document-wide limit exceeded."""
        return self.halted or len(self.lines) >= MAX_PROBLEMS

    @property
    def room(self) -> int:
        return MAX_PROBLEMS - len(self.lines)

    def append(self, line: str) -> None:
        if self.full:
            self.more = True
        else:
            self.lines.append(line)

    def extend(self, lines: list[str]) -> None:
        if len(lines) > self.room:
            self.more = True
        self.lines.extend(lines[: self.room])

    def error(self, source: str | None) -> RulesetError:
        return RulesetError(self.lines, source=source, more=self.more)


class Totals:
    """Running totals of the document-wide limits; the first one exceeded halts validation.

    Counted from the raw document before a strategy is validated, so that a document far
    over a limit (800,000 regexes) costs no more than one at the limit.
    """

    __slots__ = ("counts", "problems")

    def __init__(self, problems: Problems) -> None:
        self.problems = problems
        self.counts = dict.fromkeys(_COUNTED, 0)

    def add(self, name: str, amount: int, path: str) -> bool:
        """Count ``amount`` more at ``path``; False (and a problem) if that is over the limit."""
        total = self.counts[name] = self.counts[name] + amount
        if total <= LIMITS[name]:
            return True
        self.problems.append(
            f"{path}: the ruleset is over its limit of {LIMITS[name]:,} {_COUNTED[name]} "
            f"({total:,} counted up to here)"
        )
        self.problems.halted = True
        return False

    def snapshot(self) -> tuple[int, ...]:
        """The totals so far, for :meth:`since`."""
        return tuple(self.counts.values())

    def since(self, snapshot: tuple[int, ...]) -> tuple[int, ...]:
        """What was counted since ``snapshot``: one flag's share, kept with it."""
        return tuple(map(sub, self.counts.values(), snapshot))

    def add_counts(self, flags: Iterable[tuple[int, ...]], path: str) -> bool:
        """Count flags validated before, from what each counted then (its ``_counts``:
        values, then :meth:`since`'s)."""
        columns = zip(*list(flags), strict=True)
        next(columns, None)  # the values, which the shape check counted
        return all(
            self.add(name, sum(column), path)
            for name, column in zip(self.counts, columns, strict=True)
        )

    def add_strategy(self, raw: Mapping[str, Any], custom: bool, path: str) -> bool:
        """Count one raw strategy entry and its conditions."""
        kind = raw.get("type")
        if not self.add("strategies", 1, path):
            return False
        if (kind == "schedule" or custom) and not self.add("checks", 1, path):
            return False
        conditions: list[tuple[str, Any]] = [(path, raw)] if kind == "attribute" else []
        when = raw.get("when")
        if when and isinstance(when, list | tuple):
            limit = LIMITS["conditions_per_strategy"]
            conditions.extend((f"{path}.when[{i}]", c) for i, c in enumerate(when[:limit]))
        elif not conditions:  # the common case
            return True
        return all(self._add_condition(c, where) for where, c in conditions)

    def _add_condition(self, raw: Any, path: str) -> bool:
        if not isinstance(raw, Mapping):
            return True
        op, values = raw.get("op"), raw.get("values")
        if not isinstance(values, list | tuple):
            values = ()
        if not self.add("conditions", 1, path):
            return False
        if op not in ("eq", "in") and not self.add("checks", 1, path):
            return False
        if op == "regex":
            count = min(len(values), MAX_PATTERNS + 1)
            return self.add("regex_conditions", 1, path) and self.add(
                "regex_patterns", count, f"{path}.values"
            )
        if op == "contains":
            texts = sum(isinstance(v, str) for v in values[: MAX_VALUES + 1])
            return self.add("contains_texts", texts, f"{path}.values")
        return True

    def add_copies(
        self, raw_when: Any, when: tuple[Condition, ...], values: int, copies: int, path: str
    ) -> bool:
        """Count ``copies`` more of a ``when`` list of ``values`` values (the conditions of
        a segment's use, compiled into each of the segment's strategies), at the cost of
        counting one."""
        if copies <= 0 or not when:
            return True
        one = Totals(Problems())
        one.add_strategy({"type": "everyone", "when": raw_when}, False, path)
        one.counts["strategies"] = 0
        one.counts["regex_program"] = sum(c.program_size for c in when if c.op == "regex")
        one.counts["copied_values"] = values
        return all(
            self.add(name, amount * copies, path) for name, amount in one.counts.items() if amount
        )

    def add_programs(self, spec: StrategySpec, path: str) -> bool:
        """Count the compiled size of the strategy's regex conditions, once validated."""
        located: list[tuple[str, Condition]] = []
        if type(spec.strategy) is Attribute and spec.strategy.op == "regex":  # no ABC check
            located.append((path, spec.strategy))
        if spec.when:  # `op` is a plain field; program_size compiles
            located.extend(
                (f"{path}.when[{i}]", c) for i, c in enumerate(spec.when) if c.op == "regex"
            )
        if not located:  # the common case
            return True
        return all(self.add("regex_program", c.program_size, f"{w}.values") for w, c in located)
