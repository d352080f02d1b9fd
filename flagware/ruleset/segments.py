"""Segments: named audiences defined once in the ruleset and referenced from any flag.

``segments: {beta_customers: {strategies: [...]}}`` defines one; ``{type: segment, name:
beta_customers}`` in a flag's strategies matches where any of the segment's strategies
does. A segment may reference other segments, never in a cycle. Its percentage buckets are
salted with ``segment:<name>``, so "10 % of accounts" in a segment is the same 10 % in
every flag that uses it. The engine indexes a segment's strategies like the flag's own
(:meth:`Segment.alternatives`), so a segment costs a request no more than writing its
strategies into each flag would.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from flagware.ruleset._problems import problems_of, short
from flagware.ruleset._shape import count_values
from flagware.ruleset.documents import canonical_json, copy_document
from flagware.ruleset.limits import LIMITS
from flagware.strategies.calling import alternatives_of
from flagware.strategies.segment import SEGMENT_NAME

if TYPE_CHECKING:
    from flagware.ruleset.flag import StrategySpec
    from flagware.ruleset.limits import Problems, Totals
    from flagware.strategies.base import Piece

__all__ = [
    "MAX_NESTING",
    "Segment",
    "SegmentModel",
    "SegmentTable",
    "parse_segments",
    "referenced_segments",
    "segments_json",
]

MAX_NESTING = 8
"""Segments in the deepest chain of segments using segments."""

_NAME = re.compile(SEGMENT_NAME)

ParseStrategy = Callable[
    [Mapping[str, Any], str, "Problems", "Totals", Mapping[str, "Segment"]], "StrategySpec | None"
]


class SegmentTable(dict[str, "Segment"]):
    """The valid segments by name while a document is read, and every name it defines: a
    use of a segment that was refused says so, rather than calling it unknown."""

    __slots__ = ("defined",)

    def __init__(
        self, valid: Mapping[str, Segment] | None = None, defined: frozenset[str] = frozenset()
    ) -> None:
        super().__init__(valid or {})
        self.defined = defined


class SegmentModel(BaseModel):
    """One segment's document; its strategies are checked one by one, as a flag's are."""

    model_config = ConfigDict(extra="forbid")

    description: Annotated[StrictStr, Field(max_length=2_000)] = ""
    strategies: Annotated[
        list[dict[str, Any]], Field(min_length=1, max_length=LIMITS["strategies_per_flag"])
    ]


@dataclass(frozen=True, eq=False)
class Segment:
    """A named audience: on for an account where any of its strategies matches."""

    name: str
    strategies: tuple[StrategySpec, ...]
    description: str = ""
    # What the segment counts towards the document-wide limits (its values first), and
    # what each use counts again (the engine compiles it into every flag that uses it).
    _counts: tuple[int, ...] = field(default=(), repr=False, kw_only=True)

    @property
    def rollout_salt(self) -> str:
        """The salt of this segment's percentage buckets: the same in every flag."""
        return f"segment:{self.name}"

    @cached_property
    def alternatives(self) -> tuple[tuple[Piece, ...], ...]:
        """The segment as the engine compiles it: it holds where all the pieces of one
        alternative do (its rollouts hashed with the segment's salt)."""
        salt = self.rollout_salt
        return tuple(pieces for spec in self.strategies for pieces in alternatives_of(spec, salt))

    def to_dict(self) -> dict[str, Any]:
        """The segment's document form, defaults left out."""
        return copy_document(self._document)

    @cached_property
    def _document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"description": self.description} if self.description else {}
        doc["strategies"] = [s._shared_dict() for s in self.strategies]
        return doc


def referenced_segments(raw_strategies: Any) -> list[tuple[int, str]]:
    """The ``(index, name)`` of each raw strategy entry that references a segment."""
    if not isinstance(raw_strategies, list | tuple):
        return []
    return [
        (i, entry["name"])
        for i, entry in enumerate(raw_strategies)
        if isinstance(entry, Mapping)
        and entry.get("type") == "segment"
        and isinstance(entry.get("name"), str)
    ]


def _order(raw: Mapping[str, Any], problems: Problems) -> list[str]:
    """The segment names with each after those it references; a cycle, or nesting deeper
    than :data:`MAX_NESTING`, is a problem, and its segments are left out."""
    bodies = {name: body for name, body in raw.items() if isinstance(body, Mapping)}
    # A reference to a segment that is not there (or not a mapping) is the referencing
    # strategy's problem, reported when it is validated.
    references = {
        name: [
            (i, target)
            for i, target in referenced_segments(body.get("strategies"))
            if target in bodies
        ]
        for name, body in bodies.items()
    }
    done: dict[str, bool] = {}  # name -> whether it can be parsed
    order: list[str] = []
    for start in references:
        stack: list[tuple[str, int]] = [(start, 0)]
        on_path = {start}
        while stack:
            name, at = stack[-1]
            if name in done:
                stack.pop()
                on_path.discard(name)
                continue
            edges = references[name]
            if at < len(edges):
                stack[-1] = (name, at + 1)
                i, target = edges[at]
                if target in on_path:
                    cycle = [n for n, _ in stack[[n for n, _ in stack].index(target) :]]
                    problems.append(
                        f"segments.{name}.strategies[{i}].name: segments form a cycle: "
                        + " -> ".join([*cycle, target])
                    )
                    for n in cycle:
                        done[n] = False
                elif target not in done:
                    stack.append((target, 0))
                    on_path.add(target)
                continue
            stack.pop()
            on_path.discard(name)
            ok = all(done.get(target, False) for _, target in edges)
            done.setdefault(name, ok)
            if done[name]:
                order.append(name)
    return _shallow(order, references, problems)


def _shallow(
    order: list[str], references: Mapping[str, list[tuple[int, str]]], problems: Problems
) -> list[str]:
    """``order`` without the segments nested deeper than :data:`MAX_NESTING` (evaluating
    one recurses once a level), each such segment named once."""
    depth: dict[str, int] = {}
    kept = []
    for name in order:  # each after the segments it uses
        inner = [depth.get(target) for _, target in references[name]]
        if any(d is None for d in inner):
            continue  # uses one left out: its own problem says why
        depth[name] = 1 + max((d for d in inner if d is not None), default=0)
        if depth[name] > MAX_NESTING:
            del depth[name]
            problems.append(
                f"segments.{name}: segments may use segments at most {MAX_NESTING} deep"
            )
            continue
        kept.append(name)
    return kept


def parse_segments(
    raw: Any, problems: Problems, totals: Totals, parse_strategy: ParseStrategy
) -> SegmentTable:
    """The valid segments of a document's ``segments`` (its problems added to
    ``problems``), in the document's order."""
    if not isinstance(raw, Mapping) or not raw:
        return SegmentTable()
    for name in raw:
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            problems.append(f"segments[{short(name)}]: segment name must match {SEGMENT_NAME}")
    named = {k: v for k, v in raw.items() if isinstance(k, str) and _NAME.fullmatch(k)}
    for name, body in named.items():
        if not isinstance(body, Mapping):
            problems.append(f"segments.{name}: must be a mapping with `strategies`")
    parsed = SegmentTable(defined=frozenset(named))
    for name in _order(named, problems):
        if problems.full:
            problems.more = problems.more or not problems.halted
            break
        segment = _parse_segment(
            name, named[name], problems, totals, segments=parsed, parse_strategy=parse_strategy
        )
        if segment is not None:
            parsed[name] = segment
    return SegmentTable({name: parsed[name] for name in named if name in parsed}, parsed.defined)


def _parse_segment(
    name: str,
    body: Mapping[str, Any],
    problems: Problems,
    totals: Totals,
    *,
    segments: Mapping[str, Segment],
    parse_strategy: ParseStrategy,
) -> Segment | None:
    path = f"segments.{name}"
    before = len(problems)
    counted = totals.snapshot()
    try:
        model: SegmentModel | None = SegmentModel.model_validate(body)
    except ValidationError as exc:
        problems.extend(problems_of(path, exc, problems.room))
        model = None
    specs = []
    raw_strategies = body.get("strategies")
    if isinstance(raw_strategies, list | tuple):
        for i, entry in enumerate(raw_strategies[: LIMITS["strategies_per_flag"]]):
            if isinstance(entry, Mapping):
                spec = parse_strategy(entry, f"{path}.strategies[{i}]", problems, totals, segments)
                if spec is not None:
                    specs.append(spec)
    if model is None or len(problems) > before:
        return None
    counts = (count_values(body), *totals.since(counted))
    return Segment(name, tuple(specs), model.description, _counts=counts)


def segments_json(segments: Mapping[str, Segment]) -> bytes:
    """``{name: document}`` as canonical JSON: what an edit compares to keep the segments."""
    return canonical_json({n: s._document for n, s in segments.items()}).encode("ascii")
