"""Turn an untrusted document into a :class:`~flagware.Ruleset`, or explain everything wrong.

Validation walks the document piece by piece (top level, each flag, each strategy, each
``when`` condition) so that one bad flag does not hide the problems of the others, and
every problem carries its path. Limits on size and nesting come first, so a hostile
document is refused before any real work is spent on it; document-wide limits (``LIMITS``)
are counted as the walk goes, and the first one exceeded ends it, so that a document far
over a limit costs no more to refuse than one at it. The walk also ends after
``MAX_PROBLEMS`` problems: the cost of an error stays linear in the document, and bounded.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Set
from operator import sub
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    ValidationError,
    field_validator,
)

from flagware.errors import RulesetError
from flagware.ruleset._problems import problems_of, short
from flagware.ruleset._shape import check_shape, count_values
from flagware.ruleset.documents import FLAG_NAME, VARIANT_NAME, UnknownPolicy, canonical_json
from flagware.ruleset.flag import Flag, StrategySpec, assemble
from flagware.ruleset.lifecycle import LifecycleFields, lifecycle_of
from flagware.ruleset.limits import LIMITS, Problems, Totals
from flagware.ruleset.prerequisites import (
    MAX_PREREQUISITES,
    Prerequisite,
    PrerequisiteModel,
    prerequisite_problems,
)
from flagware.ruleset.segments import Segment, SegmentTable, parse_segments
from flagware.strategies.base import BuiltinStrategy, listed
from flagware.strategies.conditions import Condition
from flagware.strategies.registry import CustomStrategyType, lookup, registered_types
from flagware.strategies.segment import InSegment

__all__ = ["FLAG_KEYS", "FLAG_NAME", "VARIANT_NAME", "Base", "Parsed", "parse"]


class Parsed(NamedTuple):
    """A validated document, in the parts a Ruleset is made of."""

    flags: dict[str, Flag]
    test_users: frozenset[str]
    unknown: UnknownPolicy
    counts: tuple[int, ...] | None = None  # what the flags count together, for an edit
    segments: dict[str, Segment] = {}  # noqa: RUF012 - a NamedTuple's default, never mutated


_FLAG_NAME = re.compile(FLAG_NAME)
# Words the override header gives a meaning of their own (on/off), so no variant may use them.
RESERVED_VARIANTS = frozenset({"on", "off", "true", "false"})

AccountId = Annotated[StrictStr, Field(min_length=1, max_length=256)]
Weight = Annotated[float, Field(strict=True, gt=0, le=100, allow_inf_nan=False)]


class DocumentModel(BaseModel):
    """The top level of a ruleset document; each flag is checked on its own afterwards."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    schema_version: Literal[1] = Field(default=1, alias="schema")
    test_users: Annotated[list[AccountId], Field(max_length=LIMITS["test_users"])] = []
    unknown: Literal["released", "hidden"] = "released"
    # Keys and values are checked flag by flag, with paths, in _parse_flag.
    flags: Annotated[dict[Any, Any], Field(max_length=LIMITS["flags"])] = {}
    # And segment by segment, in flagware.ruleset.segments.
    segments: Annotated[dict[Any, Any], Field(max_length=LIMITS["segments"])] = {}

    @field_validator("schema_version", mode="before")
    @classmethod
    def _not_a_bool(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError(f"Input should be 1, got {value!r}")
        return value


class FlagModel(LifecycleFields, BaseModel):
    """One flag; its strategies are checked one by one against their own types."""

    model_config = ConfigDict(extra="forbid")

    description: Annotated[StrictStr, Field(max_length=2_000)] = ""
    enabled: StrictBool = True
    client: Annotated[StrictBool, Field(description="Tell browsers this flag's value.")] = False
    salt: Annotated[StrictStr, Field(min_length=1, max_length=128)] | None = None
    strategies: Annotated[
        list[dict[str, Any]], Field(max_length=LIMITS["strategies_per_flag"])
    ] = ()  # type: ignore[assignment]  # pydantic would deep-copy a list default per flag
    prerequisites: Annotated[
        list[PrerequisiteModel],
        Field(max_length=MAX_PREREQUISITES, description="Flags that must be on first."),
    ] = ()  # type: ignore[assignment]  # an immutable default, as above
    variants: (
        Annotated[
            dict[Annotated[str, Field(pattern=VARIANT_NAME)], Weight],
            Field(min_length=1, max_length=LIMITS["variants_per_flag"]),
        ]
        | None
    ) = None

    @field_validator("variants")
    @classmethod
    def _weights(cls, variants: dict[str, float] | None) -> dict[str, float] | None:
        if variants is None:
            return None
        wrong = []
        reserved = sorted(RESERVED_VARIANTS.intersection(v.lower() for v in variants))
        if reserved:
            wrong.append(f"variant names {reserved} are reserved (the override header uses them)")
        total = math.fsum(variants.values())
        if abs(total - 100) > 1e-6:
            wrong.append(f"variant weights must sum to 100, got {total:g}")
        if wrong:
            raise ValueError("; ".join(wrong))
        return variants


# The keys a flag's document may have: what an editor of some of them must keep of the rest.
FLAG_KEYS: tuple[str, ...] = tuple(FlagModel.model_fields)


class WhenModel(BaseModel):
    """A strategy's ``when`` list: conditions that must all hold."""

    when: Annotated[list[Condition], Field(max_length=LIMITS["conditions_per_strategy"])]


def _parse_strategy(
    raw: Mapping[str, Any],
    path: str,
    problems: Problems,
    totals: Totals,
    segments: Mapping[str, Segment],
) -> StrategySpec | None:
    spec = _validate_strategy(raw, path, problems, totals, segments)
    if spec is not None and not totals.add_programs(spec, path):
        return None
    return spec


def _validate_strategy(
    raw: Mapping[str, Any],
    path: str,
    problems: Problems,
    totals: Totals,
    segments: Mapping[str, Segment],
) -> StrategySpec | None:
    kind = raw.get("type")
    if not isinstance(kind, str):
        problems.append(f"{path}.type: is required (one of {', '.join(registered_types())})")
        return None
    entry = lookup(kind)
    if entry is None:
        problems.append(
            f"{path}.type: unknown strategy type {kind!r}; built in or registered: "
            f"{', '.join(registered_types())} (register custom ones with "
            f"@flagware.register_strategy before loading the ruleset)"
        )
        return None
    if not totals.add_strategy(raw, isinstance(entry, CustomStrategyType), path):
        return None
    params = {k: v for k, v in raw.items() if k not in ("type", "when")}
    when: tuple[Condition, ...] = ()
    ok = True
    if "when" in raw:
        try:
            when = tuple(WhenModel.model_validate({"when": raw["when"]}).when)
        except ValidationError as exc:
            problems.extend(problems_of(path, exc, problems.room))
            ok = False
    if isinstance(entry, CustomStrategyType):
        try:
            validated = entry.params.model_validate(params)
        except ValidationError as exc:
            problems.extend(problems_of(path, exc, problems.room))
            return None
        kwargs = {name: getattr(validated, name) for name in type(validated).model_fields}
        kwargs.update(validated.model_extra or {})
        try:
            instance = entry.cls(**kwargs)
            stored = validated.model_dump(mode="json", exclude_unset=True)
        except Exception as exc:  # the application's code: any failure is a bad document
            problems.append(f"{path}: strategy {kind!r} rejected its parameters: {exc!r}")
            return None
        return (
            assemble(StrategySpec, type=kind, strategy=instance, params=stored, when=when)
            if ok
            else None
        )
    builtin: type[BuiltinStrategy] = entry
    try:
        strategy = builtin.model_validate(params)
    except ValidationError as exc:
        problems.extend(problems_of(path, exc, problems.room))
        return None
    if type(strategy) is InSegment:  # no isinstance: pydantic's metaclass is an ABCMeta
        segment = segments.get(strategy.name)
        if segment is None:
            if isinstance(segments, SegmentTable) and strategy.name in segments.defined:
                problems.append(
                    f"{path}.name: segment {strategy.name!r} was refused (see the problems "
                    f"under segments)"
                )
                return None
            defined = listed(sorted(segments)) or "none"
            problems.append(f"{path}.name: unknown segment {strategy.name!r} (defined: {defined})")
            return None
        # The engine compiles the segment into each flag using it: each use counts it again,
        # its values included, and the use's `when` once for each of the segment's strategies.
        copies = len(segment.alternatives) - 1
        if not (
            totals.add_counts([segment._counts], path)
            and totals.add("copied_values", segment._counts[0], path)
            and totals.add_copies(
                raw.get("when"), when, count_values(raw.get("when")), copies, path
            )
        ):
            return None
        strategy = strategy.bound(segment)
    stored = strategy.model_dump(mode="json", exclude_none=True)
    return (
        assemble(StrategySpec, type=kind, strategy=strategy, params=stored, when=when)
        if ok
        else None
    )


def _parse_flag(
    name: Any,
    raw: Any,
    problems: Problems,
    totals: Totals,
    nodes: int | None,
    *,
    segments: Mapping[str, Segment],
) -> Flag | None:
    if not isinstance(name, str) or not _FLAG_NAME.fullmatch(name):
        problems.append(f"flags[{short(name)}]: flag name must match {FLAG_NAME}")
        return None
    path = f"flags.{name}"
    if raw is None:
        raw = {}
    if type(raw) is not dict and not isinstance(raw, Mapping):  # exact type first: no ABC
        problems.append(f"{path}: must be a mapping of flag settings (or empty), got {short(raw)}")
        return None
    before = len(problems)
    counted = totals.snapshot()
    try:
        model: FlagModel | None = FlagModel.model_validate(raw)
    except ValidationError as exc:
        problems.extend(problems_of(path, exc, problems.room))
        model = None
    # Strategies are checked even when the flag's other keys are wrong, to report everything.
    raw_strategies = raw.get("strategies")
    strategies = []
    if isinstance(raw_strategies, list | tuple):  # a tuple from Python code, or a draft
        for i, raw_strategy in enumerate(raw_strategies[: LIMITS["strategies_per_flag"]]):
            if problems.full:
                problems.more = problems.more or not problems.halted
                return None
            if type(raw_strategy) is dict or isinstance(raw_strategy, Mapping):
                where = f"{path}.strategies[{i}]"
                spec = _parse_strategy(raw_strategy, where, problems, totals, segments)
                if spec is not None:
                    strategies.append(spec)
    if model is None or len(problems) > before:
        return None
    return assemble(
        Flag,
        name=name,
        description=model.description,
        enabled=model.enabled,
        client=model.client,
        strategies=tuple(strategies),
        # In name order, as the canonical JSON every store writes has them: buckets follow
        # the order, and a process must not assign other variants than one reading it back.
        variants=() if model.variants is None else tuple(sorted(model.variants.items())),
        salt=model.salt,
        prerequisites=_prerequisites(model),
        **lifecycle_of(model),
        _counts=None if nodes is None else (nodes, *totals.since(counted)),
    )


def _prerequisites(model: FlagModel) -> tuple[Prerequisite, ...]:
    """The flag's prerequisites; most flags have none, and build no generator for them."""
    if not model.prerequisites:
        return ()
    return tuple([Prerequisite(p.flag, p.variant) for p in model.prerequisites])


class Base(NamedTuple):
    """A valid ruleset's flags and what they count together (``Flag._counts`` summed),
    which an edit of a few of them starts from."""

    flags: Mapping[str, Flag]
    counts: tuple[int, ...]
    segments: Mapping[str, Segment]
    segments_json: bytes  # their canonical JSON: an edit that keeps it keeps them


def parse(
    doc: Any,
    *,
    source: str | None = None,
    base: Base | None = None,
    changed: Set[str] = frozenset(),
) -> Parsed:
    """Validate a whole document; raise one :class:`RulesetError` listing every problem.

    Returns the parts of a :class:`~flagware.Ruleset` (which ``Ruleset.from_dict`` builds).
    With ``base``, ``doc`` is an edit of it in which only the flags named in ``changed``
    may differ (the caller vouches for the rest: a store's edit, or a stored document read
    against the one served): those are validated, the others kept, and the document-wide
    limits count them all.
    """
    if not isinstance(doc, Mapping):
        raise RulesetError(
            [f"<document>: must be a mapping with `flags`, got {type(doc).__name__}"],
            source=source,
        )
    raw_flags = doc.get("flags")
    if base is not None and not _same_segments(doc.get("segments"), base):
        base = None  # every flag may read a segment: a new one is a new ruleset
    kept: tuple[int, ...] | None = None
    walk: list[Any] | None = None
    if base is not None and isinstance(raw_flags, Mapping):
        gone = [c for name in changed if (flag := base.flags.get(name)) and (c := flag._counts)]
        kept = (
            tuple(map(sub, base.counts, map(sum, zip(*gone, strict=True)))) if gone else base.counts
        )
        walk = sorted(raw_flags.keys() & changed, key=str)
    shape = check_shape(doc, walk, kept[0] if kept else 0)
    if isinstance(shape, str):
        raise RulesetError([f"<document>: {shape}"], source=source)
    problems = Problems()
    totals = Totals(problems)
    try:
        top = DocumentModel.model_validate(doc)
    except ValidationError as exc:
        problems.extend(problems_of("", exc))
        top = None
    if base is not None and base.segments:
        segments = dict(base.segments)
        totals.add_counts([s._counts for s in segments.values()], "segments")
    else:
        segments = parse_segments(doc.get("segments"), problems, totals, _parse_strategy)
    flags: dict[str, Flag] = {}
    if base is not None and kept is not None and walk is not None and raw_flags is not None:
        totals.add_counts([kept], "flags")  # a part of a valid ruleset: within every limit
        flags = dict(base.flags)
        for name in changed - raw_flags.keys():
            flags.pop(name, None)
        added = _parse_flags(raw_flags, walk, flags, problems, totals, shape, segments)
        if added or list(flags) != list(raw_flags):  # in the document's order, as read whole
            flags = {name: flags[name] for name in raw_flags if name in flags}
    elif isinstance(raw_flags, Mapping):
        _parse_flags(raw_flags, raw_flags, flags, problems, totals, shape, segments)
    if not problems.full and not problems.halted:
        named = raw_flags.keys() if isinstance(raw_flags, Mapping) else flags.keys()
        problems.extend(prerequisite_problems(flags, named))
    if problems or top is None:
        raise problems.error(source)
    counts = None
    if kept is not None and walk is not None:
        new = [c for name in walk if (flag := flags.get(name)) and (c := flag._counts)]
        counts = tuple(map(sum, zip(kept, *new, strict=True)))
    return Parsed(flags, frozenset(top.test_users), top.unknown, counts, segments)


def _parse_flags(  # noqa: PLR0917 - the parts of one walk, passed along
    raw_flags: Mapping[Any, Any],
    names: Iterable[Any],
    flags: dict[str, Flag],
    problems: Problems,
    totals: Totals,
    shape: Mapping[Any, int],
    segments: Mapping[str, Segment],
) -> bool:
    """Validate the flags ``names`` of ``raw_flags`` into ``flags``; whether one was new."""
    added = False
    for name in names:
        if problems.full:
            problems.more = problems.more or not problems.halted
            break
        flag = _parse_flag(
            name, raw_flags[name], problems, totals, shape.get(name), segments=segments
        )
        if flag is None:
            flags.pop(name, None)  # an edit's refused flag: its old version is not checked
        else:
            added = added or name not in flags
            flags[name] = flag
    return added


def _same_segments(raw: Any, base: Base) -> bool:
    """Whether a document's ``segments`` are the base's (compared as canonical JSON, in
    which ``true`` and ``1`` differ)."""
    if not raw:
        return not base.segments
    try:
        return canonical_json(raw).encode() == base.segments_json
    except (TypeError, ValueError):
        return False
