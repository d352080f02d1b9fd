"""flagware against the SDKs a user would pick instead, all offline, evaluating locally.

Run it from the repository root::

    pip install -e ".[bench]"
    python benchmarks/bench_peers.py [--rounds 5] [--sizes 10,100,1000] [--json]

The peers, each kept off the network (the benchmark also makes every socket ``connect``
and DNS look-up raise, so a peer that tried would fail the run):

- **GrowthBook** (``growthbook``): a ``GrowthBook`` built with ``features=`` (no
  ``api_host``/``client_key``, so it never fetches); one instance, ``set_attributes`` per
  account, then ``is_on(key)``. It has no all-features call, so "all values" loops over
  ``is_on``. (One instance per request, the pattern in its docs, costs more: it converts
  the feature dicts on every construction.)
- **LaunchDarkly** (``launchdarkly-server-sdk``): ``LDClient`` with the file data source
  (``Files.new_data_source``, full flag JSON written to a temporary file, since TestData
  cannot express percentage rollouts), ``send_events=False``, ``diagnostic_opt_out=True``.
  All values: ``all_flags_state(context).to_values_map()``; one flag: ``variation``.
- **Flagsmith** (``flagsmith-flag-engine``): the engine its SDKs run in local evaluation
  mode, fed an ``EvaluationContext``. All values: ``get_evaluation_result(context)``. The
  engine has no single-flag call (the SDK's ``get_identity_flags`` evaluates everything
  too), so its single-flag figure is that call plus one read.
- **Unleash** (``UnleashClient``): bootstrapped from an in-memory cache,
  ``disable_metrics=True``, ``disable_registration=True``, ``initialize_client(
  fetch_toggles=False)``: it never calls its server. No all-features call either, so "all
  values" loops over ``is_enabled``.

The workload is bench_engine's ``make_document`` (10 / 100 / 1,000 flags: 20 % on/off,
20 % allowlists of 50 ids, 30 % percentage rollouts, 20 % ``country in [..]`` and
``plan == ..``, 10 % last digit of the account number) and its 500 accounts, with the
ruleset's one test user dropped (no account is that user). Each flag becomes the
peer's own rule format:

=============  ===============  ==================  ==================  =================
flagware       GrowthBook       LaunchDarkly        Flagsmith           Unleash
=============  ===============  ==================  ==================  =================
on / off       defaultValue     on + fallthrough    feature enabled     enabled + default
allowlist      ``id $in``       individual targets  segment: identifier ``userWithId``
                                                    IN (an override)
percentage     force rule with  fallthrough         segment:            ``flexibleRollout``
               ``coverage``     rollout (weights    PERCENTAGE_SPLIT    (whole percents:
               (hash v2)        of 100,000)                             12.5 -> 13)
2 attributes   condition        rule, 2 ``in``      segment, IN + EQUAL ``default`` with 2
                                clauses                                 IN constraints
last digit     ``last_digit     rule clause         segment:            constraint
               $in``            ``last_digit in``   ``last_digit`` IN   ``last_digit`` IN
=============  ===============  ==================  ==================  =================

Each peer gets a ``last_digit`` attribute (trait, property) holding ``number % 10``:
none of them has a "last digit of a number" rule, so the account's last digit is sent as
an attribute and matched with the peer's ``in``.

What is measured, per account, in one process:

- **all values**: a ``{flag: value}`` mapping of every flag (flagware:
  ``engine.evaluate_all(account).as_dict()``);
- **one flag**: what a request handler asks. For flagware, **read**: ``fs.is_enabled(flag)``
  on the request's FlagSet, the one the middleware makes (``engine.evaluate_all(account,
  lazy=True)``), read for the first time, so the read evaluates that one flag. A FlagSet
  keeps its answers, so each pass gets fresh ones, made per account outside the timed
  part, as the peers' user objects are. Also printed: **evaluate_all+read**, the same
  with the FlagSet's creation timed, and ``engine.is_released_to(flag, account)`` (no
  FlagSet). For the peers, their single-flag call (GrowthBook's includes its
  ``set_attributes``, 0.2 µs). Account *i* checks flag *i* mod 10, so the checks follow
  the mix (those ten flags are one of each slot of it). Ratios: peer / flagware read.

Each SDK's user object (flagware ``Account``, LaunchDarkly ``Context``, the dicts of the
others) is built once per account outside the timed loop. The SDKs are measured
round-robin within each round (the order rotates between rounds); each figure is the
median over rounds, and each ratio is the median of the per-round ratios peer / flagware.
A slow SDK is timed on the first *n* of the 500 accounts, *n* chosen once so that a pass
takes half the time budget (at least 10). Import time: ``import <sdk>`` timed inside a fresh
interpreter, median of several. RSS: a fresh process per SDK loads the 1,000-flag ruleset,
evaluates one account and reads ``VmRSS`` from ``/proc/self/status``; "over bare" is
that minus the same process loading nothing.

Correctness checks, which fail the run (exit status 1) when they do not hold: every
deterministic flag (all but the rollouts) has the same value in flagware and in every
peer, for every account and ruleset size, and each SDK's single-flag answer matches its
all-values answer; each rollout flag of the 100-flag ruleset reaches its configured
percentage within 2 points in every SDK, over 5,000 other accounts (``--fraction-accounts``).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent

# Only the standard library is imported here: the child processes that measure memory
# load one SDK each, so each SDK (and flagware itself) is imported where it is used.

SDKS = ("flagware", "growthbook", "launchdarkly", "flagsmith", "unleash")
PEERS = SDKS[1:]
DISTRIBUTIONS = {
    "flagware": "flagware",
    "growthbook": "growthbook",
    "launchdarkly": "launchdarkly-server-sdk",
    "flagsmith": "flagsmith-flag-engine",
    "unleash": "UnleashClient",
}
IMPORTS = {
    "flagware": "import flagware",
    "growthbook": "import growthbook",
    "launchdarkly": "import ldclient; from ldclient.integrations import Files",
    "flagsmith": "import flag_engine.engine",
    "unleash": "import UnleashClient",
}
DETERMINISTIC = frozenset({"off", "everyone", "accounts", "attribute", "last_digit"})
FRACTION_TOLERANCE = 2.0  # percentage points
PROBES = 10  # account i checks flag i mod 10 in the single-flag measurement


class Person(NamedTuple):
    """An account, SDK-neutral (flagware's ``Account`` fields)."""

    id: str
    number: int
    country: str
    plan: str

    @property
    def last_digit(self) -> int:
        return self.number % 10


@dataclass
class Sdk:
    """One SDK loaded with a ruleset: how to make its user and ask it for flags."""

    name: str
    prepare: Callable[[Person], Any]
    all_values: Callable[[Any], dict[str, bool]]
    one: Callable[[Any, str], bool]
    close: Callable[[], None] = lambda: None
    # The per-request object ``one`` reads, made from the user outside the timed part, a
    # fresh one per pass (flagware's FlagSet); None: ``one`` takes the user.
    request: Callable[[Any], Any] | None = None
    timed_all: bool = True  # whether the all-values call is timed for this row


FLAGWARE_ROWS = ("flagware", "flagware evaluate_all+read", "flagware is_released_to")


# --- the workload, as each SDK's rules -----------------------------------------------------


def kind_and_strategy(flag: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The kind of a ``make_document`` flag ("off", "percentage", ...) and its strategy."""
    if not flag.get("enabled", True):
        return "off", {}
    strategies = flag["strategies"]
    if len(strategies) != 1:
        raise ValueError(f"expected one strategy per flag, got {strategies!r}")
    strategy: dict[str, Any] = strategies[0]
    kind: str = strategy["type"]
    if kind not in DETERMINISTIC | {"percentage"}:
        raise ValueError(f"no translation for strategy type {kind!r}")
    return kind, strategy


def conditions(strategy: dict[str, Any]) -> list[tuple[str, str, list[Any]]]:
    """An attribute strategy and its ``when`` as ``(attribute, op, values)``, op in/eq."""
    out = []
    for part in (strategy, *strategy.get("when", ())):
        if part["op"] not in ("in", "eq"):
            raise ValueError(f"no translation for operator {part['op']!r}")
        out.append((part["attribute"], part["op"], list(part["values"])))
    return out


def growthbook_features(doc: dict[str, Any]) -> dict[str, Any]:
    features: dict[str, Any] = {}
    for name, flag in doc["flags"].items():
        kind, strategy = kind_and_strategy(flag)
        rule: dict[str, Any] = {"force": True}
        if kind == "accounts":
            rule["condition"] = {"id": {"$in": strategy["ids"]}}
        elif kind == "percentage":
            rule.update(coverage=strategy["percent"] / 100, hashAttribute="id", hashVersion=2)
        elif kind == "attribute":
            rule["condition"] = {
                attribute: {"$in": values} if op == "in" else values[0]
                for attribute, op, values in conditions(strategy)
            }
        elif kind == "last_digit":
            rule["condition"] = {"last_digit": {"$in": strategy["digits"]}}
        if kind in ("off", "everyone"):
            features[name] = {"defaultValue": kind == "everyone", "rules": []}
        else:
            features[name] = {"defaultValue": False, "rules": [rule]}
    return features


def launchdarkly_flags(doc: dict[str, Any]) -> dict[str, Any]:
    flags: dict[str, Any] = {}
    for name, flag in doc["flags"].items():
        kind, strategy = kind_and_strategy(flag)
        ld: dict[str, Any] = {
            "key": name,
            "version": 1,
            "on": kind != "off",
            "variations": [False, True],
            "offVariation": 0,
            "fallthrough": {"variation": 1 if kind == "everyone" else 0},
            "salt": name,
            "targets": [],
            "contextTargets": [],
            "rules": [],
            "prerequisites": [],
        }
        clauses: list[tuple[str, list[Any]]] = []
        if kind == "accounts":
            ld["targets"] = [{"values": strategy["ids"], "variation": 1}]
        elif kind == "percentage":
            weight = round(strategy["percent"] * 1000)  # LaunchDarkly weights: of 100,000
            ld["fallthrough"] = {
                "rollout": {
                    "variations": [
                        {"variation": 1, "weight": weight},
                        {"variation": 0, "weight": 100_000 - weight},
                    ]
                }
            }
        elif kind == "attribute":
            clauses = [(attribute, values) for attribute, _, values in conditions(strategy)]
        elif kind == "last_digit":
            clauses = [("last_digit", list(strategy["digits"]))]
        if clauses:
            ld["rules"] = [
                {
                    "id": f"{name}-rule",
                    "clauses": [
                        {"attribute": attribute, "op": "in", "values": values, "negate": False}
                        for attribute, values in clauses
                    ],
                    "variation": 1,
                }
            ]
        flags[name] = ld
    return {"flags": flags}


def flagsmith_context(doc: dict[str, Any]) -> dict[str, Any]:
    """An ``EvaluationContext`` without identity: the environment's features and segments."""
    features: dict[str, Any] = {}
    segments: dict[str, Any] = {}
    for name, flag in doc["flags"].items():
        kind, strategy = kind_and_strategy(flag)
        features[name] = {"key": name, "name": name, "enabled": kind == "everyone", "value": None}
        if kind in ("off", "everyone"):
            continue
        if kind == "accounts":
            found = [
                {"property": "$.identity.identifier", "operator": "IN", "value": strategy["ids"]}
            ]
        elif kind == "percentage":
            found = [
                {"property": "", "operator": "PERCENTAGE_SPLIT", "value": str(strategy["percent"])}
            ]
        elif kind == "attribute":
            found = [
                {"property": attribute, "operator": "IN", "value": [str(v) for v in values]}
                if op == "in"
                else {"property": attribute, "operator": "EQUAL", "value": str(values[0])}
                for attribute, op, values in conditions(strategy)
            ]
        else:  # last_digit
            found = [
                {
                    "property": "last_digit",
                    "operator": "IN",
                    "value": [str(d) for d in strategy["digits"]],
                }
            ]
        key = f"segment-{name}"
        segments[key] = {
            "key": key,
            "name": key,
            "rules": [{"type": "ALL", "conditions": found}],
            "overrides": [
                {"key": name, "name": name, "enabled": True, "value": None, "priority": 0}
            ],
        }
    return {
        "environment": {"key": "bench", "name": "bench"},
        "features": features,
        "segments": segments,
    }


def unleash_features(doc: dict[str, Any]) -> dict[str, Any]:
    features = []
    for name, flag in doc["flags"].items():
        kind, strategy = kind_and_strategy(flag)
        found: dict[str, Any] = {"name": "default", "parameters": {}}
        if kind == "accounts":
            found = {"name": "userWithId", "parameters": {"userIds": ",".join(strategy["ids"])}}
        elif kind == "percentage":
            # Unleash rolls out whole percents only (a "12.5" disables the strategy).
            whole = math.floor(strategy["percent"] + 0.5)
            found = {
                "name": "flexibleRollout",
                "parameters": {"rollout": str(whole), "stickiness": "userId", "groupId": name},
            }
        elif kind in ("attribute", "last_digit"):
            pairs = (
                [(a, v) for a, _, v in conditions(strategy)]
                if kind == "attribute"
                else [("last_digit", strategy["digits"])]
            )
            found["constraints"] = [
                {"contextName": a, "operator": "IN", "values": [str(x) for x in v]}
                for a, v in pairs
            ]
        features.append(
            {
                "name": name,
                "type": "release",
                "project": "default",
                "enabled": kind != "off",
                "strategies": [found],
            }
        )
    return {"version": 1, "features": features}


# --- loading each SDK ----------------------------------------------------------------------


def load_flagware(doc: dict[str, Any], *, row: str = "flagware") -> Sdk:
    """flagware, its one-flag call as in ``row`` (one of :data:`FLAGWARE_ROWS`)."""
    import flagware  # noqa: PLC0415

    engine = flagware.Engine(flagware.Ruleset.from_dict(doc))

    def prepare(p: Person) -> flagware.Account:
        attributes = {"country": p.country, "plan": p.plan}
        return flagware.Account(id=p.id, number=p.number, attributes=attributes)

    def all_values(account: flagware.Account) -> dict[str, bool]:
        return engine.evaluate_all(account).as_dict()

    def request(account: flagware.Account) -> flagware.FlagSet:
        return engine.evaluate_all(account, lazy=True)  # what the middleware does

    def evaluated_and_read(account: flagware.Account, name: str) -> bool:
        return engine.evaluate_all(account, lazy=True).is_enabled(name)

    def released(account: flagware.Account, name: str) -> bool:
        return engine.is_released_to(name, account)

    if row == "flagware is_released_to":
        return Sdk(row, prepare, all_values, released, timed_all=False)
    if row == "flagware evaluate_all+read":
        return Sdk(row, prepare, all_values, evaluated_and_read, timed_all=False)
    # The read is the app's own call, unwrapped: fs.is_enabled(name).
    return Sdk(row, prepare, all_values, flagware.FlagSet.is_enabled, request=request)


def load_growthbook(doc: dict[str, Any]) -> Sdk:
    from growthbook import GrowthBook  # noqa: PLC0415

    gb = GrowthBook(features=growthbook_features(doc))
    names = list(doc["flags"])

    def prepare(p: Person) -> dict[str, Any]:
        return {"id": p.id, "country": p.country, "plan": p.plan, "last_digit": p.last_digit}

    def all_values(attributes: dict[str, Any]) -> dict[str, bool]:
        gb.set_attributes(attributes)
        is_on = gb.is_on
        return {name: is_on(name) for name in names}

    def one(attributes: dict[str, Any], name: str) -> bool:
        gb.set_attributes(attributes)
        return gb.is_on(name)

    return Sdk("growthbook", prepare, all_values, one, gb.destroy)


def load_launchdarkly(doc: dict[str, Any]) -> Sdk:
    from ldclient.client import LDClient  # noqa: PLC0415
    from ldclient.config import Config  # noqa: PLC0415
    from ldclient.context import Context  # noqa: PLC0415
    from ldclient.integrations import Files  # noqa: PLC0415

    folder = tempfile.TemporaryDirectory(prefix="bench-peers-ld-")
    path = os.path.join(folder.name, "flags.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(launchdarkly_flags(doc), f)
    config = Config(
        "bench-offline",
        update_processor_class=Files.new_data_source(paths=[path]),
        send_events=False,
        diagnostic_opt_out=True,
    )
    client = LDClient(config, start_wait=5)
    if not client.is_initialized():
        raise RuntimeError("LaunchDarkly's file data source did not load the flags")

    def prepare(p: Person) -> Context:
        builder = Context.builder(p.id).set("country", p.country).set("plan", p.plan)
        return builder.set("last_digit", p.last_digit).build()

    def all_values(context: Context) -> dict[str, bool]:
        values: dict[str, bool] = client.all_flags_state(context).to_values_map()
        return values

    def one(context: Context, name: str) -> bool:
        return bool(client.variation(name, context, False))

    def close() -> None:
        client.close()  # type: ignore[no-untyped-call]
        folder.cleanup()

    return Sdk("launchdarkly", prepare, all_values, one, close)


def load_flagsmith(doc: dict[str, Any]) -> Sdk:
    from flag_engine.engine import get_evaluation_result  # noqa: PLC0415

    environment = flagsmith_context(doc)

    def prepare(p: Person) -> dict[str, Any]:
        traits = {"country": p.country, "plan": p.plan, "last_digit": p.last_digit}
        identity = {"identifier": p.id, "key": f"bench_{p.id}", "traits": traits}
        return {**environment, "identity": identity}

    def all_values(context: Any) -> dict[str, bool]:
        flags = get_evaluation_result(context)["flags"]
        return {name: flag["enabled"] for name, flag in flags.items()}

    def one(context: Any, name: str) -> bool:
        return get_evaluation_result(context)["flags"][name]["enabled"]

    return Sdk("flagsmith", prepare, all_values, one)


def load_unleash(doc: dict[str, Any]) -> Sdk:
    from UnleashClient import UnleashClient  # type: ignore[attr-defined]  # noqa: PLC0415
    from UnleashClient.cache import BaseCache  # noqa: PLC0415
    from UnleashClient.constants import FEATURES_URL  # noqa: PLC0415
    from UnleashClient.utils import InstanceAllowType  # noqa: PLC0415

    class MemoryCache(BaseCache):
        """The bootstrap, in memory: the default FileCache would write to the user's disk."""

        def __init__(self, features: dict[str, Any]) -> None:
            self._data: dict[str, Any] = {FEATURES_URL: json.dumps(features)}
            self.bootstrapped = True

        def set(self, key: str, value: Any) -> None:
            self._data[key] = value

        def mset(self, data: dict[str, Any]) -> None:
            self._data.update(data)

        def get(self, key: str, default: Any | None = None) -> Any:
            return self._data.get(key, default)

        def exists(self, key: str) -> bool:
            return key in self._data

        def destroy(self) -> None:
            self._data.clear()

    client = UnleashClient(
        "http://127.0.0.1:9/never-called",
        "bench-peers",
        disable_metrics=True,
        disable_registration=True,
        refresh_interval=86_400,
        cache=MemoryCache(unleash_features(doc)),
        multiple_instance_mode=InstanceAllowType.SILENTLY_ALLOW,
    )
    client.initialize_client(fetch_toggles=False)
    names = list(doc["flags"])
    if set(client.feature_definitions()) != set(names):
        raise RuntimeError("Unleash did not take the bootstrapped features")

    def prepare(p: Person) -> dict[str, Any]:
        properties = {"country": p.country, "plan": p.plan, "last_digit": str(p.last_digit)}
        return {"userId": p.id, "properties": properties}

    def all_values(context: dict[str, Any]) -> dict[str, bool]:
        is_enabled = client.is_enabled
        return {name: is_enabled(name, context) for name in names}

    def one(context: dict[str, Any], name: str) -> bool:
        return client.is_enabled(name, context)

    return Sdk("unleash", prepare, all_values, one, client.destroy)


LOADERS: dict[str, Callable[[dict[str, Any]], Sdk]] = {
    "flagware": load_flagware,
    "growthbook": load_growthbook,
    "launchdarkly": load_launchdarkly,
    "flagsmith": load_flagsmith,
    "unleash": load_unleash,
}


# --- measuring ------------------------------------------------------------------------------


def forbid_network() -> None:
    """Make every outgoing connection and DNS look-up raise: the benchmark is offline."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"bench_peers runs offline, yet something tried the network: {args}")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.socket.connect_ex = refuse  # type: ignore[method-assign]
    socket.getaddrinfo = refuse
    socket.create_connection = refuse


def timed(run_pass: Callable[[], float], n: int, budget_s: float) -> float:
    """µs per item of ``run_pass`` (``n`` items; it returns the seconds it timed), repeated
    until ``budget_s`` has passed."""
    gc.collect()
    gc.disable()
    try:
        passes, spent, start = 0, 0.0, time.perf_counter()
        while True:
            spent += run_pass()
            passes += 1
            if time.perf_counter() - start >= budget_s:
                return spent / (passes * n) * 1e6
    finally:
        gc.enable()


@dataclass
class Measurement:
    """One timed call of one SDK at one size, over a fixed sample of the accounts."""

    fn: Callable[[Any], Any] | Callable[[Any, str], Any]
    items: list[Any]  # users, or (user, flag) pairs
    pairs: bool
    request: Callable[[Any], Any] | None = None  # see Sdk.request

    def run_pass(self) -> float:
        """One pass over the items; the seconds it took, the requests' making excluded."""
        items = self.items
        if self.request is not None:  # fresh per pass: a FlagSet keeps what it has read
            make = self.request
            items = [(make(user), name) for user, name in items]
        start = time.perf_counter()
        if self.pairs:
            one = self.fn
            for user, name in items:
                one(user, name)  # type: ignore[call-arg]
        else:
            fn = self.fn
            for user in items:
                fn(user)  # type: ignore[call-arg]
        return time.perf_counter() - start

    def calibrate(self, budget_s: float) -> None:
        """Keep as many items as a pass can do in half the budget (10 at least)."""
        trial = Measurement(self.fn, self.items[:10], self.pairs, self.request)
        trial.run_pass()  # warm-up
        start = time.perf_counter()
        trial.run_pass()
        per_item = (time.perf_counter() - start) / len(trial.items)
        keep = max(10, min(len(self.items), int(budget_s / 2 / max(per_item, 1e-9))))
        self.items = self.items[:keep]

    def __call__(self, budget_s: float) -> float:
        return timed(self.run_pass, len(self.items), budget_s)


def measure(
    loaded: dict[int, dict[str, Sdk]], people: list[Person], rounds: int, budget_s: float
) -> tuple[dict[str, dict[int, list[float]]], dict[str, int]]:
    """Round-robin timings: ``{row: {size: [µs per round]}}`` and each row's sample size."""
    plan: list[tuple[str, int, Measurement]] = []
    for size, sdks in loaded.items():
        names = list(sdks["flagware"].all_values(sdks["flagware"].prepare(people[0])))
        probes = names[:PROBES]
        for sdk in sdks.values():
            users = [sdk.prepare(p) for p in people]
            pairs = [(u, probes[i % len(probes)]) for i, u in enumerate(users)]
            if sdk.timed_all:
                plan.append((f"all:{sdk.name}", size, Measurement(sdk.all_values, users, False)))
            one = Measurement(sdk.one, pairs, True, sdk.request)
            plan.append((f"one:{sdk.name}", size, one))
    for _, _, m in plan:
        m.calibrate(budget_s)
    results: dict[str, dict[int, list[float]]] = {}
    for r in range(rounds):
        shift = r % len(plan)
        for row, size, m in plan[shift:] + plan[:shift]:
            results.setdefault(row, {}).setdefault(size, []).append(m(budget_s))
        print(f"  round {r + 1}/{rounds} done", file=sys.stderr)
    samples = {f"{row}@{size}": len(m.items) for row, size, m in plan}
    return results, samples


def paired_ratio(peer: list[float], base: list[float]) -> float:
    """Median of the per-round ratios peer / base."""
    return statistics.median(p / b for p, b in zip(peer, base, strict=True))


# --- correctness ----------------------------------------------------------------------------


def check_agreement(
    doc: dict[str, Any], sdks: dict[str, Sdk], people: list[Person]
) -> tuple[int, list[str]]:
    """Deterministic flags agree with flagware; one-flag answers match all-values answers."""
    kinds = {name: kind_and_strategy(flag)[0] for name, flag in doc["flags"].items()}
    names = list(kinds)
    deterministic = [name for name in names if kinds[name] in DETERMINISTIC]
    problems: list[str] = []
    expected = [sdks["flagware"].all_values(sdks["flagware"].prepare(p)) for p in people]
    compared = 0
    for sdk in sdks.values():
        for i, (p, want) in enumerate(zip(people, expected, strict=True)):
            user = sdk.prepare(p)
            got = {name: bool(value) for name, value in sdk.all_values(user).items()}
            if set(got) != set(names):
                problems.append(f"{sdk.name}: flags {sorted(set(got) ^ set(names))[:5]} differ")
                continue
            for name in deterministic:
                compared += 1
                if got[name] != want[name]:
                    problems.append(
                        f"{sdk.name} {len(names)} flags: {name} ({kinds[name]}) is {got[name]} "
                        f"for {p.id}, flagware says {want[name]}"
                    )
            probe = names[i % PROBES]
            asked = user if sdk.request is None else sdk.request(user)
            if bool(sdk.one(asked, probe)) != got[probe]:
                problems.append(f"{sdk.name}: one-flag {probe} disagrees with all values, {p.id}")
    return compared, problems


def check_fractions(
    doc: dict[str, Any], people: list[Person]
) -> tuple[dict[str, float], list[str]]:
    """Each rollout flag's share of ``people`` in each SDK vs its percent: max deviation."""
    rollouts = {
        name: flag
        for name, flag in doc["flags"].items()
        if kind_and_strategy(flag)[0] == "percentage"
    }
    only = {"schema": 1, "test_users": [], "flags": rollouts}
    worst: dict[str, float] = {}
    problems: list[str] = []
    for name, load in LOADERS.items():
        sdk = load(only)
        try:
            on = dict.fromkeys(rollouts, 0)
            for p in people:
                for flag, value in sdk.all_values(sdk.prepare(p)).items():
                    on[flag] += bool(value)
        finally:
            sdk.close()
        worst[name] = 0.0
        for flag, count in on.items():
            percent = rollouts[flag]["strategies"][0]["percent"]
            off_by = abs(count / len(people) * 100 - percent)
            worst[name] = max(worst[name], off_by)
            if off_by > FRACTION_TOLERANCE:
                problems.append(
                    f"{name}: {flag} reaches {count / len(people):.2%} of {len(people)} "
                    f"accounts, configured {percent} %"
                )
    return worst, problems


# --- start-up costs, each in a fresh process ------------------------------------------------


def import_ms(sdk: str, runs: int) -> float:
    code = f"import time; t = time.perf_counter(); {IMPORTS[sdk]}; print(time.perf_counter() - t)"
    times = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], check=True, capture_output=True, text=True
            ).stdout
        )
        for _ in range(runs)
    ]
    return statistics.median(times) * 1e3


def rss_kib(sdk: str, ruleset_path: str) -> int:
    """VmRSS of a fresh process that loaded ``sdk`` with the ruleset (``none``: nothing)."""
    out = subprocess.run(
        [sys.executable, __file__, "--child-rss", sdk, "--ruleset", ruleset_path],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return int(out)


def vm_rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def child_rss(sdk: str, ruleset_path: str) -> None:
    forbid_network()
    with open(ruleset_path, encoding="utf-8") as f:
        doc = json.load(f)
    loaded = None
    if sdk != "none":
        loaded = LOADERS[sdk](doc)
        loaded.all_values(loaded.prepare(Person("acct-1", 1234, "NL", "pro")))
    del doc
    gc.collect()
    print(vm_rss_kib())
    if loaded is not None:
        loaded.close()


# --- reporting ------------------------------------------------------------------------------


def versions() -> dict[str, str]:
    return {sdk: metadata.version(dist) for sdk, dist in DISTRIBUTIONS.items()}


def print_table(figures: dict[str, Any]) -> None:
    sizes = figures["sizes"]
    v = figures["versions"]
    print(
        f"python {figures['python']} on {figures['machine']}, {figures['date']}; "
        f"medians of {figures['rounds']} rounds, {figures['accounts']} accounts, "
        "offline, local evaluation"
    )
    print("versions: " + ", ".join(f"{DISTRIBUTIONS[s]} {v[s]}" for s in SDKS))

    def block(title: str, rows: list[tuple[str, str]], base: str) -> None:
        print(f"\n{title}")
        print(f"{'flags':>6} " + " ".join(f"{label:>22}" for _, label in rows))
        for n in sizes:
            cells = []
            for key, _ in rows:
                us = figures["us"][key][str(n)]
                ratio = figures["ratio"][key][str(n)]
                shown = f"{us:.2f}" if us < 10 else f"{us:,.1f}"
                cells.append(shown if key == base else f"{shown} ({ratio:.1f}x)")
            print(f"{n:>6,} " + " ".join(f"{c:>22}" for c in cells))

    block(
        "all values ({flag: value}) per account, µs  (peer / flagware, median of per-round ratios)",
        [(f"all:{s}", s) for s in SDKS],
        "all:flagware",
    )
    block(
        "one flag per account, µs  (x / flagware's read: fs.is_enabled(flag), the first read "
        "of the request's FlagSet, made untimed; flagsmith: its all-values call + 1 read)",
        [
            ("one:flagware", "fw read"),
            ("one:flagware evaluate_all+read", "fw evaluate_all+read"),
            ("one:flagware is_released_to", "fw is_released_to"),
            *[(f"one:{s}", s) for s in PEERS],
        ],
        "one:flagware",
    )
    fastest = []
    for n in sizes:
        ratio, peer = min((figures["ratio"][f"one:{s}"][str(n)], s) for s in PEERS)
        fastest.append(f"{n:,} flags: {peer} {ratio:.0f}x")
    print("the fastest peer's single flag, times flagware's read: " + ", ".join(fastest))
    print(f"\nstart-up (fresh processes; RSS after loading {figures['rss_flags']:,} flags)")
    print(f"{'':>14} {'import ms':>10} {'RSS MiB':>9} {'over bare':>10}")
    bare = figures["rss_kib"]["none"]
    print(f"{'bare python':>14} {'':>10} {bare / 1024:>9.1f} {'':>10}")
    for s in SDKS:
        kib = figures["rss_kib"][s]
        print(
            f"{s:>14} {figures['import_ms'][s]:>10.0f} {kib / 1024:>9.1f} "
            f"{(kib - bare) / 1024:>10.1f}"
        )
    checks = figures["checks"]
    print(
        f"\nchecks passed: {checks['deterministic_compared']:,} deterministic values agree "
        f"with flagware; rollout shares over {checks['fraction_accounts']:,} accounts within "
        f"{FRACTION_TOLERANCE} pp, worst: "
        + ", ".join(f"{s} {d:.2f}" for s, d in checks["fraction_worst_pp"].items())
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--budget", type=float, default=0.2, help="seconds per measurement")
    parser.add_argument("--fraction-accounts", type=int, default=5000)
    parser.add_argument("--import-runs", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--child-rss", help=argparse.SUPPRESS)
    parser.add_argument("--ruleset", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_rss:
        child_rss(args.child_rss, args.ruleset)
        return 0
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    sizes = [int(s) for s in args.sizes.split(",")]

    forbid_network()
    sys.path.insert(0, str(ROOT))
    from benchmarks.bench_engine import make_accounts, make_document  # noqa: PLC0415
    from benchmarks.revision import compiled  # noqa: PLC0415

    def document(n: int) -> dict[str, Any]:
        doc = make_document(n)
        doc["test_users"] = []  # no account is one; the peers have no such notion
        return doc

    people = [
        Person(a.id, a.number or 0, a.attributes["country"], a.attributes["plan"])
        for a in make_accounts(500)
    ]
    rng = random.Random(13)
    countries, plans = sorted({p.country for p in people}), sorted({p.plan for p in people})
    others = [
        Person(f"user-{i}", rng.randrange(1_000_000), rng.choice(countries), rng.choice(plans))
        for i in rng.sample(range(10_000_000), args.fraction_accounts)
    ]

    print("checking that the SDKs agree ...", file=sys.stderr)
    problems: list[str] = []
    compared = 0
    loaded: dict[int, dict[str, Sdk]] = {}
    for n in sizes:
        doc = document(n)
        sdks = {name: load(doc) for name, load in LOADERS.items()}
        for row in FLAGWARE_ROWS[1:]:
            sdks[row] = load_flagware(doc, row=row)
        count, found = check_agreement(doc, sdks, people)
        compared += count
        problems += found
        loaded[n] = sdks
    worst, found = check_fractions(document(100), others)
    problems += found
    if problems:
        print(f"{len(problems)} disagreements, the first ones:", file=sys.stderr)
        for line in problems[:20]:
            print("  " + line, file=sys.stderr)
        return 1

    print(f"timing {args.rounds} rounds ...", file=sys.stderr)
    results, samples = measure(loaded, people, args.rounds, args.budget)
    for sdks in loaded.values():
        for sdk in sdks.values():
            sdk.close()

    print("start-up costs ...", file=sys.stderr)
    compiled(ROOT)  # as pip did the peers': no child compiles flagware from source
    rss_flags = max(sizes)
    with tempfile.TemporaryDirectory(prefix="bench-peers-") as folder:
        path = os.path.join(folder, "ruleset.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(document(rss_flags), f)
        rss = {sdk: rss_kib(sdk, path) for sdk in ("none", *SDKS)}
    imports = {sdk: import_ms(sdk, args.import_runs) for sdk in SDKS}

    def base_of(row: str) -> str:
        return "all:flagware" if row.startswith("all:") else "one:flagware"

    figures: dict[str, Any] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "date": time.strftime("%Y-%m-%d"),
        "rounds": args.rounds,
        "accounts": len(people),
        "sizes": sizes,
        "versions": versions(),
        "us": {
            row: {str(n): statistics.median(v) for n, v in by.items()}
            for row, by in results.items()
        },
        "ratio": {
            row: {str(n): paired_ratio(v, results[base_of(row)][n]) for n, v in by.items()}
            for row, by in results.items()
        },
        "samples": samples,
        "import_ms": imports,
        "rss_flags": rss_flags,
        "rss_kib": rss,
        "checks": {
            "deterministic_compared": compared,
            "fraction_accounts": len(others),
            "fraction_worst_pp": worst,
        },
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print_table(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
