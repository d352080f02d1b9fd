"""Hypothesis strategies the property tests share: values of every type a parser can hand
over, valid ruleset documents with every feature, documents one edit away from valid, and
accounts with anything in them."""

from __future__ import annotations

import copy
import math
from datetime import date, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from flagware.ruleset.parse import RESERVED_VARIANTS

# --- Values. ---------------------------------------------------------------------------------

# Text with everything in it: lone surrogates (json.loads("\"\\ud800\"") makes one), control
# characters, non-ASCII.
any_text = st.text(st.characters(exclude_categories=()), max_size=40)
KEYS = [
    "schema",
    "test_users",
    "unknown",
    "flags",
    "description",
    "enabled",
    "salt",
    "owner",
    "tags",
    "permanent",
    "created",
    "expires",
    "strategies",
    "variants",
    "segments",
    "prerequisites",
    "flag",
    "variant",
    "name",
    "type",
    "ids",
    "digits",
    "percent",
    "attribute",
    "op",
    "values",
    "when",
    "after",
    "before",
]
INTERESTING: list[Any] = [
    0,
    1,
    -1,
    100,
    101,
    2**63,
    -(2**63) - 1,
    10**400,
    0.5,
    100.0000001,
    -0.0,
    math.inf,
    -math.inf,
    math.nan,
    1e-320,
    True,
    False,
    None,
    "",
    " ",
    "on",
    "off",
    "NO",
    "released",
    "hidden",
    "everyone",
    "percentage",
    "accounts",
    "last_digit",
    "attribute",
    "schedule",
    "regex",
    "in",
    "eq",
    "(a)\\1",
    "(",
    "a" * 300,
    "2026-12-01T00:00:00Z",
    "2026-12-01T00:00:00",
    "2026-13-45T99:99:99Z",
    "9999-12-31T23:59:59+14:00",
    "0001-01-01T00:00:00-12:00",
    "\x00",
    "\ud800",
    "é",
]
# What YAML and TOML loaders can produce besides JSON's types.
PARSER_EXTRAS = st.one_of(
    st.binary(max_size=10),
    st.dates(),
    st.datetimes(timezones=st.none() | st.just(timezone.utc)),
    st.times(),
    st.just(datetime.max.replace(tzinfo=timezone(timedelta(hours=-23, minutes=-59)))),
    st.just(date.min),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    any_text,
    st.sampled_from(INTERESTING),
)
json_like = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.sampled_from(KEYS) | any_text, children, max_size=5)
    ),
    max_leaves=15,
)
# Anything a YAML document can turn into: JSON's values, and bytes, dates, times, sets,
# tuples (YAML's !!omap and !!pairs are lists of tuples), integer and float keys.
loaded_like = st.recursive(
    scalars | PARSER_EXTRAS,
    lambda children: (
        st.lists(children, max_size=5)
        | st.lists(children, max_size=4).map(tuple)
        | st.frozensets(st.integers() | any_text, max_size=4)
        | st.sets(st.integers() | any_text, max_size=4)
        | st.dictionaries(
            st.sampled_from(KEYS) | any_text | st.integers() | st.booleans() | st.none(),
            children,
            max_size=5,
        )
    ),
    max_leaves=15,
)

# --- Valid documents. -------------------------------------------------------------------------

# Names built from the grammar's alphabets (cheaper to draw than st.from_regex).
_FIRST = "abcxyzABCXYZ_"
_REST = "abcxyzABCXYZ_019.-"
_names = st.builds(str.__add__, st.sampled_from(_FIRST), st.text(_REST, max_size=12))
FLAG_NAME = st.sampled_from(["new_checkout", "dark_mode", "a.b-c", "_", "Z" * 100]) | _names
VARIANT_NAME = (st.sampled_from(["control", "green", "B", "_x.y-z"]) | _names).filter(
    lambda v: v.lower() not in RESERVED_VARIANTS
)
ATTRIBUTES = ["country", "plan", "age", "tags", "beta", "ns:weird.name-1"]
ACCOUNT_IDS = ["acct-1", "acct-2", "acct-42", "testuser1", "é", "x" * 256]
account_id = st.sampled_from(ACCOUNT_IDS) | st.text(min_size=1, max_size=20)
condition_value = st.one_of(
    st.sampled_from(["NL", "DE", "pro", "free", "", "x"]),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.text(max_size=10),
)
PATTERNS = ["^N", "L$", "pro", "^(D|U)", ".", "", "(?i)nl", "[a-z]+\\d*", "\\pL"]
OPS = ["eq", "ne", "in", "not_in", "lt", "lte", "gt", "gte", "contains"]


# Strategies are built once, at import: a composite that builds new ones on every draw
# spends most of its time validating them (that doubled the nightly run).
_regex_values = st.lists(st.sampled_from(PATTERNS), min_size=1, max_size=3)
_other_values = st.lists(condition_value, min_size=1, max_size=4)
_attribute_names = st.sampled_from(ATTRIBUTES)
_ops = st.sampled_from([*OPS, "regex"])


@st.composite
def _conditions(draw: st.DrawFn) -> dict[str, Any]:
    op = draw(_ops)
    values = draw(_regex_values if op == "regex" else _other_values)
    return {"attribute": draw(_attribute_names), "op": op, "values": values}


conditions = _conditions()
TIMES = st.datetimes(
    min_value=datetime(1970, 1, 2),
    max_value=datetime(2200, 1, 1),
    timezones=st.just(timezone.utc) | st.just(timezone(timedelta(hours=5, minutes=30))),
)
_two_times = st.lists(TIMES, min_size=2, max_size=2, unique=True)
_bounds = st.sampled_from(["after", "before", "both"])


@st.composite
def _schedules(draw: st.DrawFn) -> dict[str, Any]:
    first, second = sorted(draw(_two_times))
    which = draw(_bounds)
    out: dict[str, Any] = {"type": "schedule"}
    if which in ("after", "both"):
        out["after"] = first.isoformat()
    if which in ("before", "both"):
        out["before"] = second.isoformat()
    return out


strategy_bodies = st.one_of(
    st.just({"type": "everyone"}),
    st.builds(
        lambda ids: {"type": "accounts", "ids": ids}, st.lists(account_id, min_size=1, max_size=4)
    ),
    st.builds(
        lambda digits: {"type": "last_digit", "digits": digits},
        st.lists(st.integers(0, 9), min_size=1, max_size=10, unique=True),
    ),
    st.builds(
        lambda p: {"type": "percentage", "percent": p},
        # Multiples of 0.01, the rollout's step (validation refuses finer ones).
        st.integers(0, 10_000).map(lambda hundredths: hundredths / 100)
        | st.integers(0, 100)
        | st.sampled_from([0.01, 12.5, 99.99]),
    ),
    conditions.map(lambda c: {"type": "attribute", **c}),
    _schedules(),
)
strategy_entries = st.builds(
    lambda body, when: {**body, "when": when} if when else body,
    strategy_bodies,
    st.lists(conditions, max_size=2),
)
_variant_names = st.lists(VARIANT_NAME, min_size=1, max_size=4, unique_by=str.lower)
_cuts = st.lists(st.integers(1, 99), min_size=3, max_size=3, unique=True)


@st.composite
def _variant_weights(draw: st.DrawFn) -> dict[str, int]:
    """Up to four variants whose whole-number weights sum to 100."""
    names = draw(_variant_names)
    cuts = sorted(draw(_cuts))[: len(names) - 1]
    bounds = [0, *cuts, 100]
    return {name: bounds[i + 1] - bounds[i] for i, name in enumerate(names)}


variant_weights = _variant_weights()
_chance = st.integers(0, 5)


@st.composite
def _flags(draw: st.DrawFn) -> dict[str, Any]:
    flag: dict[str, Any] = {"strategies": draw(_strategy_lists)}
    extras = draw(_chance)  # one optional field or none, mostly
    if extras in (1, 5):
        flag["description"] = draw(_descriptions)
    if extras in (2, 5):
        flag["enabled"] = False
    if extras == 3:
        flag["salt"] = draw(_salts)
    if extras in (4, 5):
        flag["variants"] = draw(variant_weights)
    if draw(_chance) == 0:
        flag.update(draw(_lifecycle))
    return flag


@st.composite
def _lifecycle_fields(draw: st.DrawFn) -> dict[str, Any]:
    """Some of the lifecycle keys, consistent: `expires` not before `created`, nor permanent."""
    meta: dict[str, Any] = {}
    if draw(st.booleans()):
        meta["owner"] = draw(st.from_regex(r"[A-Za-z][a-z@. -]{0,15}", fullmatch=True))
    meta["tags"] = draw(st.lists(st.sampled_from(["ui", "q3", "ops", "beta/2"]), unique=True))
    created = draw(st.dates(date(2020, 1, 1), date(2030, 1, 1)))
    if draw(st.booleans()):
        meta["created"] = created.isoformat()
    if draw(st.booleans()):
        meta["permanent"] = True
    elif draw(st.booleans()):
        meta["expires"] = (created + timedelta(days=draw(st.integers(0, 400)))).isoformat()
    return meta


_lifecycle = _lifecycle_fields()


_strategy_lists = st.lists(strategy_entries, max_size=3)
_descriptions = st.text(max_size=30)
_salts = st.text(min_size=1, max_size=10)
flags = _flags()
_flag_maps = st.dictionaries(FLAG_NAME, flags, max_size=4)
_test_user_lists = st.lists(account_id, max_size=3)
_policies = st.sampled_from(["released", "hidden"])


def _no_regex(entry: dict[str, Any]) -> bool:
    """Whether a strategy entry has no regex condition: each use of a segment counts it
    again, and a few uses of one regex go over the ruleset's RE2 budget."""
    conditions = [entry, *entry.get("when", [])]
    return all(c.get("op") != "regex" for c in conditions)


_segment_lists = st.lists(strategy_entries.filter(_no_regex), min_size=1, max_size=2)
_segment_names = st.sampled_from(["beta_customers", "eu", "s.1"])
_segment_maps = st.dictionaries(_segment_names, _segment_lists, max_size=2)


@st.composite
def _segments_and_prerequisites(draw: st.DrawFn, doc: dict[str, Any]) -> None:
    """Segments (the second may use the first), referenced from some flags; and flags
    requiring earlier flags, or a variant of one."""
    drawn = draw(_segment_maps)
    segments: dict[str, Any] = {}
    for name, strategies in drawn.items():
        uses = [{"type": "segment", "name": next(iter(segments))}] if segments else []
        segments[name] = {"strategies": [*strategies, *uses[: draw(st.integers(0, 1))]]}
    if segments:
        doc["segments"] = segments
    names = list(doc["flags"])
    for i, name in enumerate(names):
        flag = doc["flags"][name]
        if segments and draw(_chance) == 0:
            reference = {"type": "segment", "name": draw(st.sampled_from(list(segments)))}
            flag["strategies"] = [*flag["strategies"], reference]
        if i and draw(_chance) == 0:
            other = draw(st.sampled_from(names[:i]))
            entry: dict[str, Any] = {"flag": other}
            variants = doc["flags"][other].get("variants")
            if variants and draw(st.booleans()):
                entry["variant"] = draw(st.sampled_from(sorted(variants)))
            flag["prerequisites"] = [entry]


@st.composite
def _valid_documents(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {"flags": draw(_flag_maps)}
    tops = draw(st.integers(0, 15))  # which optional top-level keys: a bit each
    if tops & 1:
        doc["schema"] = 1
    if tops & 2:
        doc["test_users"] = draw(_test_user_lists)
    if tops & 4:
        doc["unknown"] = draw(_policies)
    if tops & 8:
        draw(_segments_and_prerequisites(doc))
    return doc


def valid_documents() -> st.SearchStrategy[dict[str, Any]]:
    """A ruleset document that must validate: every strategy type, `when`, variants,
    salts, kill switches, test users and both `unknown` policies."""
    return _valid_document_strategy


_valid_document_strategy = _valid_documents()


def _slots(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside ``value`` (dict keys and list indexes), itself first."""
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _slots(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _slots(child, (*path, index))
    return found


_actions = st.sampled_from(["replace"] * 4 + ["delete", "add"])
_new_keys = st.sampled_from(KEYS) | any_text | st.integers()


@st.composite
def near_valid_documents(draw: st.DrawFn) -> Any:
    """A valid document with one field replaced by a random value of a random type (or,
    now and then, removed, or a key added beside it)."""
    doc = draw(_valid_document_strategy)
    path = draw(st.sampled_from(_slots(doc)))
    replacement = draw(loaded_like)
    if not path:
        return replacement
    mutated = copy.deepcopy(doc)
    parent = mutated
    for part in path[:-1]:
        parent = parent[part]
    action = draw(_actions)
    if action == "replace":
        parent[path[-1]] = replacement
    elif action == "delete":
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[draw(_new_keys)] = replacement
    else:
        parent.insert(path[-1], replacement)
    return mutated


# --- Override headers and tokens. ------------------------------------------------------------

# Text near the grammar: its own characters, and the ones that must break it.
near_header = st.text(
    alphabet=st.sampled_from(list("abcXYZ_019.-=, \t\r\n\x00\x7f\x85\u00e9\u2028=on off")),
    max_size=120,
)
entry = st.builds(
    lambda name, value: f"{name}={value}",
    FLAG_NAME,
    st.sampled_from(["on", "off", "true", "FALSE", "1", "0", "On"]) | VARIANT_NAME,
)
# Well-formed entries repeated (a flag named twice breaks the header), and distinct ones
# around and past the count (50) and size (2 KiB) limits, or hundreds of KiB past them.
many_entries = st.builds(
    lambda entries, sep, repeat: sep.join(entries * repeat),
    st.lists(entry, min_size=1, max_size=8),
    st.sampled_from([",", ", ", " ,\t", ",,"]),
    st.integers(1, 3) | st.sampled_from([1_000, 5_000]),
) | st.builds(
    lambda count, width, value: ", ".join(f"f{i:0{width}d}={value}" for i in range(count)),
    st.integers(1, 120) | st.sampled_from([49, 50, 51, 10_000]),
    st.integers(1, 40),
    st.sampled_from(["on", "off", "green"]),
)
override_headers = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=200),
    st.binary(max_size=200),
    near_header,
    many_entries,
    many_entries.map(lambda h: h.encode("ascii")),
    st.builds(str.__add__, many_entries, any_text),
)


@st.composite
def token_mutations(draw: st.DrawFn, token: str) -> str:
    """``token`` with one to three characters inserted, deleted or replaced, or cut short,
    or lengthened."""
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(token)))
        action = draw(st.sampled_from(["insert", "delete", "replace", "truncate", "append"]))
        char = draw(
            st.sampled_from(list("AZaz09-_.=+/!*~ \n")) | st.characters(exclude_categories=())
        )
        if action == "insert":
            token = token[:at] + char + token[at:]
        elif action == "delete":
            token = token[:at] + token[at + 1 :]
        elif action == "replace":
            token = token[:at] + char + token[at + 1 :]
        elif action == "truncate":
            token = token[:at]
        else:
            token = token + char
    return token


# --- Accounts. --------------------------------------------------------------------------------

attribute_values = st.one_of(
    loaded_like,
    condition_value,
    st.lists(condition_value, max_size=4),
    st.builds(object),
)


_identifiers = account_id | st.text(st.characters(exclude_categories=()), min_size=1)
_numbers = st.none() | st.integers() | st.sampled_from([0, -1, 10**30, -(10**30)])
_attribute_maps = st.dictionaries(
    st.sampled_from(ATTRIBUTES) | st.text(max_size=8), attribute_values, max_size=4
)


def _account(identifier: str, number: int | None, attributes: dict[str, Any]) -> Any:
    from flagware import Account

    return Account(identifier, number=number, attributes=attributes)


_accounts = st.builds(_account, _identifiers, _numbers, _attribute_maps)


def accounts() -> st.SearchStrategy[Any]:
    """Any Account: any id (surrogates included), any number, attributes of any type."""
    return _accounts
