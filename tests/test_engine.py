"""The semantics of CONTRACT.md, end to end through flagware.Engine."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

import flagware
from flagware import Account, Engine, Ruleset, Strategy, register_strategy, unregister_strategy

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
T = NOW.timestamp()

NL_PRO = Account(id="acct-1", number=4211, attributes={"country": "NL", "plan": "pro"})
DE_FREE = Account(id="acct-2", number=4212, attributes={"country": "DE", "plan": "free"})
US_BARE = Account(id="acct-3", number=4213)
TESTER = Account(id="testuser1", number=5550)


def make(flags: dict[str, Any], *, clock: float = T, **top: Any) -> Engine:
    return Engine(Ruleset.from_dict({"flags": flags, **top}), clock=lambda: clock)


def on(*strategies: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"strategies": list(strategies), **extra}


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def released(eng: Engine, account: Account | None, flag: str = "f") -> bool:
    """Evaluates both ways and insists they agree."""
    via_all = eng.evaluate_all(account).is_enabled(flag)
    assert eng.is_released_to(flag, account) == via_all
    return via_all


# --- strategies combine with OR --------------------------------------------------------------


def test_any_strategy_matching_releases() -> None:
    eng = make(
        {
            "f": on(
                {"type": "accounts", "ids": ["acct-2"]},
                {"type": "attribute", "attribute": "country", "op": "eq", "values": ["NL"]},
            )
        }
    )
    assert released(eng, NL_PRO)
    assert released(eng, DE_FREE)
    assert not released(eng, US_BARE)


def test_last_digit() -> None:
    eng = make({"f": on({"type": "last_digit", "digits": [1, 3]})})
    assert released(eng, NL_PRO)
    assert not released(eng, DE_FREE)
    assert released(eng, US_BARE)
    assert not released(eng, Account(id="no-number"))
    assert released(eng, Account(id="negative", number=-21))


def test_everyone_includes_anonymous() -> None:
    eng = make({"f": on({"type": "everyone"})})
    assert released(eng, NL_PRO)
    assert released(eng, None)


# --- test users and the kill switch ----------------------------------------------------------


def test_test_users_see_every_live_flag() -> None:
    eng = make(
        {
            "nobody": on({"type": "percentage", "percent": 0}),
            "someone_else": on({"type": "accounts", "ids": ["acct-1"]}),
            "bare": {},
        },
        test_users=["testuser1"],
    )
    fs = eng.evaluate_all(TESTER)
    assert fs.as_dict() == {"nobody": True, "someone_else": True, "bare": True}
    assert fs.reason("nobody") == "test user"


def test_kill_switch_beats_test_users_and_everyone() -> None:
    eng = make(
        {"f": on({"type": "everyone"}, enabled=False)},
        test_users=["testuser1"],
    )
    for account in (TESTER, NL_PRO, None):
        assert not released(eng, account)
    assert eng.evaluate_all(TESTER).reason("f") == "kill switch: enabled is false"
    assert eng.explain("f", NL_PRO).reason.startswith("kill switch")


def test_flag_without_strategies_is_for_test_users_only() -> None:
    eng = make({"f": {"strategies": []}, "g": {}}, test_users=["testuser1"])
    for flag in ("f", "g"):
        assert released(eng, TESTER, flag)
        assert not released(eng, NL_PRO, flag)
        assert not released(eng, None, flag)
    assert eng.evaluate_all(NL_PRO).reason("f") == "no strategies: test users only"


# --- unknown flags ---------------------------------------------------------------------------


def test_unknown_flags_are_released_by_default() -> None:
    eng = make({})
    fs = eng.evaluate_all(NL_PRO)
    assert fs.is_enabled("not_there")
    assert fs["not_there"]
    assert "not_there" not in fs
    assert fs.as_dict() == {}
    assert fs.reason("not_there") == "not in ruleset: unknown=released"
    assert eng.is_released_to("not_there", NL_PRO)
    assert eng.evaluate_all(None).is_enabled("not_there")


def test_unknown_flags_hidden_when_asked() -> None:
    eng = make({}, unknown="hidden", test_users=["testuser1"])
    for account in (NL_PRO, TESTER, None):
        assert not released(eng, account, "not_there")
    assert eng.evaluate_all(NL_PRO).reason("not_there") == "not in ruleset: unknown=hidden"


# --- anonymous requests ----------------------------------------------------------------------


def test_anonymous_only_matches_everyone_and_schedule() -> None:
    past = iso(NOW - timedelta(days=1))
    eng = make(
        {
            "everyone": on({"type": "everyone"}),
            "scheduled": on({"type": "schedule", "after": past}),
            "pct": on({"type": "percentage", "percent": 100}),
            "ids": on({"type": "accounts", "ids": ["acct-1"]}),
            "digits": on({"type": "last_digit", "digits": list(range(10))}),
            "attr": on({"type": "attribute", "attribute": "country", "op": "ne", "values": ["X"]}),
            "guarded": on(
                {
                    "type": "everyone",
                    "when": [{"attribute": "plan", "op": "not_in", "values": ["x"]}],
                }
            ),
        }
    )
    fs = eng.evaluate_all(None)
    assert fs.enabled_flags() == {"everyone", "scheduled"}
    assert fs.account is None
    assert fs.reason("pct") == "no strategy matched an anonymous request"
    for name in fs:
        assert eng.is_released_to(name, None) == fs[name]


# --- when conditions -------------------------------------------------------------------------


def test_all_when_conditions_must_hold() -> None:
    eng = make(
        {
            "f": on(
                {
                    "type": "percentage",
                    "percent": 100,
                    "when": [
                        {"attribute": "country", "op": "in", "values": ["NL"]},
                        {"attribute": "plan", "op": "eq", "values": ["pro"]},
                    ],
                }
            )
        }
    )
    assert released(eng, NL_PRO)
    assert not released(eng, Account(id="x", attributes={"country": "NL", "plan": "free"}))
    assert not released(eng, Account(id="y", attributes={"country": "DE", "plan": "pro"}))
    assert not released(eng, Account(id="z", attributes={"country": "NL"}))


def test_when_applies_to_its_own_strategy_only() -> None:
    eng = make(
        {
            "f": on(
                {
                    "type": "everyone",
                    "when": [{"attribute": "country", "op": "eq", "values": ["NL"]}],
                },
                {"type": "accounts", "ids": ["acct-2"]},
            )
        }
    )
    assert released(eng, NL_PRO)
    assert released(eng, DE_FREE)
    assert not released(eng, US_BARE)


@pytest.mark.parametrize(
    ("op", "values", "expected"),
    [
        ("eq", [30], {"thirty"}),
        ("ne", [30], {"seventeen", "list", "text"}),
        ("in", [17, 30], {"thirty", "seventeen"}),
        ("not_in", [17, 30], {"list", "text"}),
        ("lt", [18], {"seventeen"}),
        ("lte", [30], {"seventeen", "thirty"}),
        ("gt", [17], {"thirty"}),
        ("gte", [17], {"seventeen", "thirty"}),
        ("contains", ["b"], {"list", "text"}),
        ("regex", ["^a"], {"text"}),
    ],
)
def test_attribute_ops(op: str, values: list[Any], expected: set[str]) -> None:
    accounts = {
        "thirty": Account(id="thirty", attributes={"v": 30}),
        "seventeen": Account(id="seventeen", attributes={"v": 17}),
        "list": Account(id="list", attributes={"v": ["a", "b"]}),
        "text": Account(id="text", attributes={"v": "abc"}),
        "missing": Account(id="missing"),
        "none": Account(id="none", attributes={"v": None}),
    }
    eng = make({"f": on({"type": "attribute", "attribute": "v", "op": op, "values": values})})
    assert {name for name, a in accounts.items() if released(eng, a)} == expected


# --- schedules and the clock -----------------------------------------------------------------


def schedule_engine(clock: float) -> Engine:
    return make(
        {
            "f": on(
                {
                    "type": "schedule",
                    "after": iso(NOW),
                    "before": iso(NOW + timedelta(hours=1)),
                }
            )
        },
        clock=clock,
    )


def test_schedule_follows_the_injected_clock() -> None:
    assert not released(schedule_engine(T - 1), NL_PRO)
    assert released(schedule_engine(T), NL_PRO)  # after is inclusive
    assert released(schedule_engine(T + 3599), None)
    assert not released(schedule_engine(T + 3600), NL_PRO)  # before is exclusive


def test_clock_is_read_at_evaluation_time() -> None:
    moment = [T - 10]
    eng = Engine(schedule_engine(T).ruleset, clock=lambda: moment[0])
    assert not eng.evaluate_all(NL_PRO)["f"]
    moment[0] = T + 10
    assert eng.evaluate_all(NL_PRO)["f"]


def test_explicit_now_overrides_the_clock() -> None:
    eng = schedule_engine(T - 100)
    assert eng.evaluate_all(NL_PRO, now=NOW)["f"]
    assert eng.is_released_to("f", NL_PRO, now=NOW)
    assert eng.evaluate_all(NL_PRO, now=T + 10)["f"]
    later = NOW + timedelta(hours=2)
    assert not eng.evaluate_all(NL_PRO, now=later)["f"]
    assert not eng.is_released_to("f", NL_PRO, now=later)
    other_zone = NOW.astimezone(timezone(timedelta(hours=5)))
    assert eng.evaluate_all(None, now=other_zone)["f"]


def test_naive_datetime_is_rejected() -> None:
    eng = schedule_engine(T)
    naive = datetime(2026, 6, 1, 12, 30)
    with pytest.raises(ValueError, match="timezone"):
        eng.evaluate_all(NL_PRO, now=naive)
    with pytest.raises(ValueError, match="timezone"):
        eng.is_released_to("f", NL_PRO, now=naive)


def test_reason_uses_the_same_instant_as_the_value() -> None:
    moment = [T + 10]
    eng = Engine(schedule_engine(T).ruleset, clock=lambda: moment[0])
    fs = eng.evaluate_all(NL_PRO)
    moment[0] = T - 10
    assert fs["f"]
    assert fs.reason("f") == "strategy schedule matched (strategies[0])"


# --- agreement and reasons -------------------------------------------------------------------


def test_is_released_to_agrees_with_evaluate_all() -> None:
    eng = make(
        {
            "a": on({"type": "last_digit", "digits": [1]}),
            "b": on({"type": "percentage", "percent": 50}),
            "c": on({"type": "attribute", "attribute": "plan", "op": "eq", "values": ["free"]}),
            "d": on({"type": "schedule", "before": iso(NOW)}),
            "e": on({"type": "everyone"}, enabled=False),
            "g": {},
        },
        test_users=["testuser1"],
    )
    accounts = [NL_PRO, DE_FREE, US_BARE, TESTER, None] + [
        Account(id=f"acct-{i}", number=i) for i in range(100)
    ]
    for account in accounts:
        fs = eng.evaluate_all(account)
        for name in [*fs, "unknown_flag"]:
            assert eng.is_released_to(name, account) == fs[name], (name, account)


def test_reasons() -> None:
    eng = make(
        {
            "digit": on(
                {"type": "last_digit", "digits": [1]},
                {"type": "accounts", "ids": ["acct-2"]},
            ),
            "off": on({"type": "everyone"}, enabled=False),
        },
        test_users=["testuser1"],
    )
    assert eng.evaluate_all(NL_PRO).reason("digit") == "strategy last_digit matched (strategies[0])"
    assert eng.evaluate_all(DE_FREE).reason("digit") == "strategy accounts matched (strategies[1])"
    assert eng.evaluate_all(US_BARE).reason("digit") == "no strategy matched"
    assert eng.evaluate_all(TESTER).reason("digit") == "test user"
    assert eng.evaluate_all(NL_PRO).reason("off") == "kill switch: enabled is false"
    assert eng.evaluate_all(NL_PRO).reason("nope") == "not in ruleset: unknown=released"
    evaluation = eng.explain("digit", NL_PRO)
    assert evaluation == flagware.Evaluation(
        "digit", True, None, "strategy last_digit matched (strategies[0])"
    )
    assert eng.evaluate_all(NL_PRO).evaluation("digit") == evaluation


# --- variants --------------------------------------------------------------------------------


def test_variants() -> None:
    eng = make(
        {
            "ab": on(
                {"type": "last_digit", "digits": [1, 2]}, variants={"control": 50, "green": 50}
            ),
            "plain": on({"type": "everyone"}),
        }
    )
    for account in (NL_PRO, DE_FREE):
        chosen = eng.evaluate_all(account).variant("ab")
        assert chosen in {"control", "green"}
        assert eng.evaluate_all(account).variant("ab") == chosen
        assert eng.explain("ab", account).variant == chosen
        assert eng.evaluate_all(account).variants() == {"ab": chosen}
    assert eng.evaluate_all(US_BARE).variant("ab") is None
    assert eng.explain("ab", US_BARE).variant is None
    assert eng.evaluate_all(NL_PRO).variant("plain") is None
    assert eng.evaluate_all(NL_PRO).variant("unknown_flag") is None


def test_single_variant_gets_everyone_released() -> None:
    eng = make({"ab": on({"type": "everyone"}, variants={"only": 100})})
    for i in range(200):
        assert eng.evaluate_all(Account(id=f"u{i}")).variant("ab") == "only"
    assert eng.evaluate_all(None).variant("ab") == "only"


def test_test_users_get_a_variant() -> None:
    eng = make({"ab": on(variants={"control": 50, "green": 50})}, test_users=["testuser1"])
    assert eng.evaluate_all(TESTER).variant("ab") in {"control", "green"}
    assert eng.evaluate_all(NL_PRO).variant("ab") is None


# --- custom strategies -----------------------------------------------------------------------


class Boom(flagware.Strategy):
    def __init__(self, message: str = "boom") -> None:
        self.message = message

    def matches(self, account: Account) -> bool:
        raise RuntimeError(self.message)


class PlanIs(flagware.Strategy):
    calls: list[Account | None] = []  # noqa: RUF012 - records calls for the test

    def __init__(self, plan: str) -> None:
        self.plan = plan

    def matches(self, account: Account) -> bool:
        PlanIs.calls.append(account)
        return bool(account.attributes.get("plan") == self.plan)


@pytest.fixture
def custom_types() -> Iterator[None]:
    flagware.register_strategy("engine_test_boom")(Boom)
    flagware.register_strategy("engine_test_plan")(PlanIs)
    PlanIs.calls.clear()
    yield
    flagware.unregister_strategy("engine_test_boom")
    flagware.unregister_strategy("engine_test_plan")


@pytest.mark.usefixtures("custom_types")
def test_custom_strategy_matches() -> None:
    eng = make({"f": on({"type": "engine_test_plan", "plan": "pro"})})
    assert released(eng, NL_PRO)
    assert not released(eng, DE_FREE)


@pytest.mark.usefixtures("custom_types")
def test_custom_strategy_is_never_called_for_anonymous() -> None:
    eng = make({"f": on({"type": "engine_test_plan", "plan": "pro"})})
    assert not released(eng, None)
    assert None not in PlanIs.calls


@pytest.mark.usefixtures("custom_types")
def test_a_lazy_flagset_calls_a_custom_strategy_once_per_flag() -> None:
    # The first reads ask each flag's own checker; reading every value later runs the plan,
    # which keeps those answers instead of asking the app's strategy again.
    eng = make(
        {
            "f": on({"type": "engine_test_plan", "plan": "pro"}),
            "g": on({"type": "engine_test_plan", "plan": "free"}),
        }
    )
    fs = eng.evaluate_all(NL_PRO, lazy=True)
    assert PlanIs.calls == []  # nothing runs before a read
    assert fs["f"]
    assert fs["f"]
    assert PlanIs.calls == [NL_PRO]
    assert fs.as_dict() == {"f": True, "g": False}
    assert PlanIs.calls == [NL_PRO, NL_PRO]  # g by the plan; f not asked again


@pytest.mark.usefixtures("custom_types")
def test_raising_custom_strategy_counts_as_no_match(caplog: pytest.LogCaptureFixture) -> None:
    eng = make(
        {
            "f": on({"type": "engine_test_boom"}),
            "g": on({"type": "engine_test_boom"}, {"type": "last_digit", "digits": [1]}),
            "h": on({"type": "everyone"}),
        }
    )
    with caplog.at_level(logging.DEBUG, logger="flagware"):
        fs = eng.evaluate_all(NL_PRO)
        assert fs.as_dict() == {"f": False, "g": True, "h": True}
        assert fs.reason("f") == "no strategy matched"
        assert not eng.is_released_to("f", NL_PRO)
    assert any(r.levelno == logging.ERROR and "raised" in r.getMessage() for r in caplog.records)


# --- odd account ids -------------------------------------------------------------------------


def test_an_account_id_that_utf8_cannot_encode_is_refused_or_evaluated() -> None:
    # A lone surrogate (e.g. from a surrogateescape-decoded header) is a valid Python str.
    eng = make({"f": on({"type": "percentage", "percent": 50})})
    try:
        account = Account(id="acct-\udcff")
    except (TypeError, ValueError):
        return  # refusing it up front is fine
    assert isinstance(eng.evaluate_all(account)["f"], bool)
    assert isinstance(eng.is_released_to("f", account), bool)


def test_an_attribute_that_utf8_cannot_encode_is_searched_not_raised_on() -> None:
    # Issue 9: regex conditions encode the text as UTF-8 for RE2; a lone surrogate in an
    # attribute (a surrogateescape-decoded header) made evaluate_all raise for every flag.
    eng = make(
        {
            "f": on({"type": "attribute", "attribute": "ua", "op": "regex", "values": ["bot$"]}),
            "g": on({"type": "everyone"}),
        }
    )
    assert released(eng, Account(id="a", attributes={"ua": "\udcffbot"}))
    assert not released(eng, Account(id="a", attributes={"ua": "\udcff"}))
    assert eng.evaluate_all(Account(id="a", attributes={"ua": "\udcff"}))["g"]


def test_lazy_evaluation_gives_the_same_flags_at_the_same_instant() -> None:
    doc = {
        "flags": {
            "later": {"strategies": [{"type": "schedule", "after": "2026-12-01T00:00:00Z"}]},
            "half": {"strategies": [{"type": "percentage", "percent": 50}]},
            "nl": {
                "strategies": [
                    {"type": "attribute", "attribute": "country", "op": "eq", "values": ["NL"]}
                ]
            },
        }
    }
    before = datetime(2026, 11, 30, tzinfo=timezone.utc).timestamp()
    clock = [before]
    engine = Engine(Ruleset.from_dict(doc), clock=lambda: clock[0])
    for i in range(50):
        account = Account(f"acct-{i}", attributes={"country": "NL" if i % 2 else "DE"})
        lazy = engine.evaluate_all(account, lazy=True)
        eager = engine.evaluate_all(account)
        clock[0] = before + 10 * 86400  # the schedule opens before the lazy set is read
        assert lazy.as_dict() == eager.as_dict()
        assert lazy["later"] is False
        clock[0] = before


def test_a_lazy_flagset_evaluates_once() -> None:
    calls = []

    @register_strategy("counting_lazy")
    class Counting(Strategy):
        def matches(self, account: Account) -> bool:
            calls.append(account.id)
            return True

    try:
        doc = {"flags": {"c": {"strategies": [{"type": "counting_lazy"}]}, "d": {}}}
        flags = Engine(Ruleset.from_dict(doc)).evaluate_all(Account("a"), lazy=True)
        assert calls == []
        assert flags["c"] is True
        assert flags["d"] is False
        assert flags.as_dict() == {"c": True, "d": False}
        assert calls == ["a"]
    finally:
        unregister_strategy("counting_lazy")
