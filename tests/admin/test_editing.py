"""The flag editor: what it shows reads back as the same rules, mistakes are shown where
they were made (and nothing is stored), and nobody silently overwrites a colleague."""

from __future__ import annotations

import copy
import html
import re
from pathlib import Path
from typing import Any

import pytest

import flagware
from flagware import Store
from tests.admin.pages import errors, fieldset, form, variants_block
from tests.admin.support import DOC, USER, Panel, on_both_stores, redirected_to, snapshot

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "rules.yaml"

TRICKY: dict[str, Any] = {
    "schema": 1,
    "test_users": ["tester"],
    "unknown": "hidden",
    "flags": {
        "conditional": {
            "description": "Everything at once, with commas, in a description",
            "salt": "keep-my-buckets",
            "strategies": [
                {
                    "type": "percentage",
                    "percent": 12.5,
                    "when": [
                        {"attribute": "plan", "op": "in", "values": ["pro", "team"]},
                        {"attribute": "seats", "op": "gte", "values": [10]},
                        {"attribute": "beta", "op": "eq", "values": [True]},
                    ],
                },
                {"type": "accounts", "ids": ["acct-42", "acct-7", "Acct_9.x"]},
                {"type": "last_digit", "digits": [0, 3, 9]},
            ],
            "variants": {"control": 33.3, "blue": 33.3, "green": 33.4},
        },
        "launch": {
            "strategies": [
                {"type": "schedule", "after": "2026-12-01T09:00:00+01:00"},
                {
                    "type": "schedule",
                    "after": "2026-01-01T00:00:00Z",
                    "before": "2026-02-01T00:00:00Z",
                },
                {"type": "schedule", "before": "2030-01-01T00:00:00Z"},
            ]
        },
        "typed_values": {
            "strategies": [
                {
                    "type": "attribute",
                    "attribute": "code",
                    "op": "in",
                    # strings that look like numbers or booleans stay strings
                    "values": ["42", 42, "4.5", 4.5, "true", True, "false", "null", "1e3"],
                },
                {
                    "type": "attribute",
                    "attribute": "city",
                    "op": "not_in",
                    "values": ["Washington, D.C.", "a,b,c", " padded ", "tab\there"],
                    "when": [{"attribute": "region", "op": "eq", "values": ["EU, West"]}],
                },
                {
                    "type": "attribute",
                    "attribute": "label",
                    "op": "in",
                    # quotes, an empty string, a leading bracket, backslashes
                    "values": ['say "hi"', '",', "", "[1]", "back\\slash", 'x\\",y', "ünï"],
                },
                {"type": "attribute", "attribute": "name", "op": "regex", "values": ["^a.*,b$"]},
                # account ids with spaces, commas or quotes are one id each
                {"type": "accounts", "ids": ["Jane Doe", "a,b", '"quoted"', " lead", "plain"]},
            ]
        },
        "killed": {"enabled": False, "strategies": [{"type": "everyone"}]},
        "empty": {"strategies": []},
    },
}


def example_doc() -> dict[str, Any]:
    return flagware.load_ruleset(EXAMPLES).to_dict()


def round_trip_cases() -> list[tuple[str, str]]:
    cases = [("examples", name) for name in example_doc()["flags"]]
    return cases + [("tricky", name) for name in TRICKY["flags"]]


@pytest.mark.parametrize(("source", "name"), round_trip_cases())
def test_saving_a_form_unchanged_keeps_the_flag_as_it_was(
    make_store: Any, source: str, name: str
) -> None:
    store = make_store("memory", example_doc() if source == "examples" else TRICKY)
    panel = Panel.logged_in(store)
    before = store.ruleset().to_dict()
    response = panel.save(name)
    assert redirected_to(response, f"/flags/{name}"), errors(response.text)
    after = store.ruleset().to_dict()
    assert after["flags"][name] == before["flags"][name]
    assert after == before
    # And the values kept their types (the documents compare 42 == 42.0 and True == 1).
    assert repr(after) == repr(before)


@on_both_stores
def test_every_tricky_flag_survives_a_save_on_each_store(store: Store) -> None:
    store.save(copy.deepcopy(TRICKY), actor="setup")
    panel = Panel.logged_in(store)
    before = store.ruleset().to_dict()
    for name in TRICKY["flags"]:
        assert panel.save(name).status_code == 303
    assert repr(store.ruleset().to_dict()) == repr(before)
    # An unchanged form writes nothing: the newest entry is still the setup's.
    assert [c.actor for c in store.history(limit=1)] == ["setup"]


def test_the_form_shows_typed_values_so_they_read_back_typed(make_store: Any) -> None:
    panel = Panel.logged_in(make_store("memory", TRICKY))
    found = panel.form("/flags/typed_values", "/flags/typed_values")
    assert found.value("s0.values") == '"42", 42, "4.5", 4.5, "true", true, "false", null, "1e3"'
    assert found.value("s1.values") == '"Washington, D.C.", "a,b,c", " padded ", tab\there'
    assert found.value("s1.when") == 'region eq "EU, West"'


@on_both_stores
def test_an_edit_is_saved_and_recorded_under_the_operator(panel: Panel) -> None:
    version = panel.store.version
    response = panel.save("beta", description="Beta, for pros", s0__percent="40")
    assert redirected_to(response, "/flags/beta")
    assert response.headers["location"].endswith(f"?saved={version + 1}")
    flag = panel.store.ruleset().to_dict()["flags"]["beta"]
    assert flag == {
        "description": "Beta, for pros",
        "strategies": [{"type": "percentage", "percent": 40}],
    }
    change = panel.store.history()[0]
    assert (change.actor, change.action, change.version) == (USER, "edit_flag", version + 1)
    assert "Saved as version" in panel.page(response.headers["location"])


def test_strategies_are_added_and_removed_through_the_form(panel: Panel) -> None:
    found = panel.form("/flags/beta", "/flags/beta")
    before = snapshot(panel.store)
    # "Add a strategy" shows the form with one more, saving nothing.
    response = panel.submit(found, ("add", "attribute"))
    assert response.status_code == 200
    assert snapshot(panel.store) == before
    grown = form(response.text, "/flags/beta")
    assert grown.value("strategy_count") == "2"
    assert grown.value("s1.type") == "attribute"
    assert grown.value("seen") == found.value("seen")
    response = panel.submit(
        grown, ("save", "1"), s1__attribute="country", s1__op="in", s1__values="NL, DE"
    )
    assert redirected_to(response, "/flags/beta")
    strategies = panel.store.ruleset().to_dict()["flags"]["beta"]["strategies"]
    assert strategies[1] == {
        "type": "attribute",
        "attribute": "country",
        "op": "in",
        "values": ["NL", "DE"],
    }
    # Ticking "remove" drops that strategy only.
    response = panel.save("beta", s0__remove="1")
    assert redirected_to(response, "/flags/beta")
    assert panel.store.ruleset().to_dict()["flags"]["beta"]["strategies"] == [strategies[1]]


def test_the_browser_checkbox_sets_and_clears_client(panel: Panel) -> None:
    assert "client" not in dict(panel.form("/flags/beta", "/flags/beta").fields)  # unticked
    assert redirected_to(panel.save("beta", client="on"), "/flags/beta")
    assert panel.store.ruleset().flags["beta"].client is True
    ticked = panel.form("/flags/beta", "/flags/beta")
    assert ticked.value("client") == "on"
    panel.submit(ticked, ("save", "1"), s0__percent="30")  # another edit keeps it ticked
    assert panel.store.ruleset().flags["beta"].client is True
    fresh = panel.form("/flags/beta", "/flags/beta")
    assert fresh.value("client") == "on"
    untick = {k: v for k, v in fresh.submission(("save", "1")).items() if k != "client"}
    assert redirected_to(panel.client.post(fresh.action, data=untick), "/flags/beta")
    assert "client" not in panel.store.ruleset().to_dict()["flags"]["beta"]


def test_an_edit_keeps_the_kill_switch_and_the_salt(make_store: Any) -> None:
    panel = Panel.logged_in(make_store("memory", TRICKY))
    panel.save("killed", description="still off")
    assert panel.store.ruleset().flags["killed"].enabled is False
    panel.save("conditional", s0__percent="20")
    assert panel.store.ruleset().flags["conditional"].salt == "keep-my-buckets"


# --- Stale edits. ---------------------------------------------------------------------------


@on_both_stores
def test_an_edit_of_a_flag_changed_meanwhile_is_refused(panel: Panel) -> None:
    store = panel.store
    found = panel.form("/flags/beta", "/flags/beta")
    theirs = {"description": "Bob's", "strategies": [{"type": "percentage", "percent": 5}]}
    store.set_flag("beta", theirs, actor="bob")
    before = snapshot(store)
    response = panel.submit(found, ("save", "1"), s0__percent="90")
    assert response.status_code == 409
    text = html.unescape(response.text)
    assert f"Not saved: beta was changed by bob (version {before[0]})" in text
    assert snapshot(store) == before
    assert store.ruleset().to_dict()["flags"]["beta"] == theirs
    # The page shows Bob's rules in the form, and the refused edit beside them.
    shown = form(response.text, "/flags/beta")
    assert float(shown.value("s0.percent")) == 5
    assert '<span class="add">+' in response.text
    assert "90" in response.text
    # Saving from the refreshed form works.
    response = panel.submit(shown, ("save", "1"), s0__percent="6")
    assert response.status_code == 303
    assert store.ruleset().to_dict()["flags"]["beta"]["strategies"][0]["percent"] == 6


@on_both_stores
def test_a_change_to_another_flag_meanwhile_does_not_block_the_edit(panel: Panel) -> None:
    found = panel.form("/flags/beta", "/flags/beta")
    panel.store.set_flag("other", {"strategies": []}, actor="bob")
    panel.store.add_test_user("someone", actor="bob")
    response = panel.submit(found, ("save", "1"), s0__percent="90")
    assert redirected_to(response, "/flags/beta")
    doc = panel.store.ruleset().to_dict()
    assert doc["flags"]["beta"]["strategies"][0]["percent"] == 90
    assert doc["flags"]["other"] == {"strategies": []}  # bob's change is kept
    assert "someone" in doc["test_users"]


class LaggingStore(flagware.MemoryStore):
    """Serves an older ruleset than it writes to: a RedisStore whose follower has not yet
    applied a colleague's change (the edit itself reads what Redis holds)."""

    served: flagware.Ruleset | None = None

    def ruleset(self) -> flagware.Ruleset:
        return self.served or super().ruleset()


def test_a_refused_edit_shows_the_flag_as_stored_even_before_it_is_served() -> None:
    store = LaggingStore(copy.deepcopy(DOC))
    panel = Panel.logged_in(store)
    found = panel.form("/flags/beta", "/flags/beta")
    store.served = store.ruleset()  # the colleague's change below is not served yet
    store.set_flag("beta", {"strategies": [{"type": "percentage", "percent": 5}]}, actor="bob")
    response = panel.submit(found, ("save", "1"), s0__percent="90")
    assert response.status_code == 409
    shown = form(response.text, "/flags/beta")
    assert float(shown.value("s0.percent")) == 5  # bob's rules, not the served ones
    assert "released to: <strong>5% of accounts</strong>" in response.text.lower()
    store.served = None
    response = panel.submit(shown, ("save", "1"), s0__percent="6")  # and it saves
    assert redirected_to(response, "/flags/beta")
    assert store.ruleset().to_dict()["flags"]["beta"]["strategies"][0]["percent"] == 6


def test_an_edit_of_a_flag_deleted_meanwhile_is_refused(panel: Panel) -> None:
    found = panel.form("/flags/beta", "/flags/beta")
    panel.store.delete_flag("beta", actor="bob")
    before = snapshot(panel.store)
    response = panel.submit(found, ("save", "1"), s0__percent="90")
    assert response.status_code == 409
    assert "Not saved: beta was deleted by bob" in response.text
    assert snapshot(panel.store) == before
    assert "beta" not in panel.store.ruleset().flags


def test_a_kill_switch_flipped_meanwhile_is_not_undone_by_an_edit(panel: Panel) -> None:
    found = panel.form("/flags/beta", "/flags/beta")
    panel.store.set_enabled("beta", False, actor="bob")
    response = panel.submit(found, ("save", "1"), s0__percent="90")
    # Either refused, or saved with the kill switch still on: never switched back on.
    assert response.status_code in (303, 409)
    assert panel.store.ruleset().flags["beta"].enabled is False


def test_a_forged_or_missing_fingerprint_is_refused(panel: Panel) -> None:
    found = panel.form("/flags/beta", "/flags/beta")
    before = snapshot(panel.store)
    for seen in ("", "0000000000000000"):
        response = panel.submit(found, ("save", "1"), seen=seen, s0__percent="90")
        assert response.status_code == 409
    assert snapshot(panel.store) == before


@on_both_stores
def test_a_restore_from_a_page_opened_before_another_change_is_refused(panel: Panel) -> None:
    store = panel.store
    store.set_flag("beta", {"strategies": []}, actor="bob")
    found = panel.form("/history/1", "/history/1/restore")
    store.set_flag("other", {"strategies": []}, actor="carol")
    before = snapshot(store)
    response = panel.submit(found)
    assert response.status_code == 409
    assert f"it is now version {before[0]}" in html.unescape(response.text)
    assert snapshot(store) == before
    # The refreshed page's form restores.
    response = panel.submit(form(response.text, "/history/1/restore"))
    assert redirected_to(response, "/history")
    assert store.history()[0].action == "restore 1"


def test_a_restore_without_a_readable_expected_version_is_refused(panel: Panel) -> None:
    panel.store.set_flag("other", {"strategies": []}, actor="bob")
    found = panel.form("/history/1", "/history/1/restore")
    before = snapshot(panel.store)
    for expected in ("", "abc", "-1"):
        response = panel.submit(found, expected_version=expected)
        assert response.status_code == 400
        assert "expected_version must be a whole number" in html.unescape(response.text)
    assert snapshot(panel.store) == before


# --- Validation problems, shown where they were made. ---------------------------------------

EDITED: dict[str, Any] = {
    "schema": 1,
    "test_users": [],
    "unknown": "released",
    "flags": {
        "f": {
            "description": "Under edit",
            "strategies": [
                {
                    "type": "everyone",
                    "when": [{"attribute": "plan", "op": "eq", "values": ["pro"]}],
                },
                {"type": "percentage", "percent": 10},
                {"type": "accounts", "ids": ["acct-1"]},
                {"type": "attribute", "attribute": "country", "op": "in", "values": ["NL"]},
                {"type": "schedule", "after": "2026-01-01T00:00:00Z"},
                {"type": "last_digit", "digits": [1]},
            ],
            "variants": {"a": 50, "b": 50},
        }
    },
}

INVALID = [
    # (field changes, the strategy fieldset (or "variants"), words of the message)
    ({"s1__percent": "abc"}, 1, "percent: Input should be a valid number"),
    ({"s1__percent": "150"}, 1, "less than or equal to 100"),
    ({"s1__percent": "-1"}, 1, "greater than or equal to 0"),
    ({"s2__ids": "  \n "}, 2, "ids: Tuple should have at least 1 item"),
    ({"s3__op": "bogus"}, 3, "got 'bogus'"),
    ({"s3__attribute": "1bad"}, 3, "attribute: String should match pattern"),
    ({"s3__values": ""}, 3, "values: Tuple should have at least 1 item"),
    (
        {"s4__after": "2027-01-01T00:00:00Z", "s4__before": "2026-06-01T00:00:00Z"},
        4,
        "`after` must be earlier than `before`",
    ),
    ({"s4__after": "tomorrow"}, 4, "after: Input should be a valid datetime"),
    ({"s4__after": "2026-01-01T00:00:00"}, 4, "timezone"),
    ({"s0__when": "country"}, 0, "when[0].op"),
    ({"s0__when": "plan eq pro\ncountry like NL"}, 0, "when[1].op"),
    ({"s0__when": "plan eq pro\n1bad in x"}, 0, "when[1].attribute"),
    ({"variants": "a 50\nb 40"}, "variants", "variant weights must sum to 100, got 90"),
    ({"variants": "a x\nb 50"}, "variants", "a: Input should be a valid number"),
]


@pytest.mark.parametrize(
    ("changes", "where", "message"),
    INVALID,
    ids=[next(iter(c[0])) + "=" + repr(next(iter(c[0].values())))[:20] for c in INVALID],
)
def test_a_problem_is_shown_where_it_was_made_and_nothing_is_saved(
    make_store: Any, changes: dict[str, str], where: int | str, message: str
) -> None:
    panel = Panel.logged_in(make_store("memory", EDITED))
    before = snapshot(panel.store)
    response = panel.save("f", **changes)
    assert response.status_code == 422
    assert snapshot(panel.store) == before
    page = response.text
    if isinstance(where, int):
        inside = html.unescape(fieldset(page, where))
        assert message in inside
        assert f'class="strategy invalid" id="strategy-{where}"' in page
        others = [i for i in range(6) if i != where]
        assert all(message not in html.unescape(fieldset(page, i)) for i in others)
    else:
        assert message in html.unescape(variants_block(page))
        assert all(message not in html.unescape(fieldset(page, i)) for i in range(6))
    assert any(message in e for e in errors(page))
    # What the operator typed is still there, to correct.
    shown = form(page, "/flags/f")
    for key, value in changes.items():
        if not key.endswith("__op"):  # a select cannot show a value it does not offer
            assert shown.value(key.replace("__", ".")) == value
    assert shown.value("description") == "Under edit"
    assert shown.value("seen") == form(panel.page("/flags/f"), "/flags/f").value("seen")


def test_after_a_problem_the_corrected_form_saves(make_store: Any) -> None:
    panel = Panel.logged_in(make_store("memory", EDITED))
    response = panel.save("f", s1__percent="abc", description="Typed before the mistake")
    assert response.status_code == 422
    response = panel.submit(form(response.text, "/flags/f"), ("save", "1"), s1__percent="15")
    assert redirected_to(response, "/flags/f")
    flag = panel.store.ruleset().to_dict()["flags"]["f"]
    assert flag["strategies"][1] == {"type": "percentage", "percent": 15}
    assert flag["description"] == "Typed before the mistake"


def test_a_problem_with_the_description_is_shown_beside_it(make_store: Any) -> None:
    panel = Panel.logged_in(make_store("memory", EDITED))
    before = snapshot(panel.store)
    response = panel.save("f", description="x" * 5000)
    assert response.status_code == 422
    assert snapshot(panel.store) == before
    label = re.search(r"<label[^>]*>Description.*?</label>", response.text, re.S)
    assert label
    assert "at most 2000 characters" in label.group(0)


def test_unticking_every_digit_is_refused_in_place(make_store: Any) -> None:
    panel = Panel.logged_in(make_store("memory", EDITED))
    found = panel.form("/flags/f", "/flags/f")
    data = found.submission(("save", "1"))
    del data["s5.digits"]
    before = snapshot(panel.store)
    response = panel.post("/flags/f", data)
    assert response.status_code == 422
    assert "digits: Tuple should have at least 1 item" in html.unescape(fieldset(response.text, 5))
    assert snapshot(panel.store) == before


@on_both_stores
def test_saving_an_unchanged_form_writes_no_version_and_says_so(panel: Panel) -> None:
    version = panel.store.version
    response = panel.save("beta")
    assert redirected_to(response, "/flags/beta")
    assert response.headers["location"].endswith("?unchanged=1")
    assert panel.store.version == version
    assert "Nothing changed" in panel.page("/flags/beta?unchanged=1")


def test_a_refused_edit_is_shown_as_only_what_the_operator_changed(make_store: Any) -> None:
    store = make_store("memory", DOC)
    panel = Panel.logged_in(store)
    found = panel.form("/flags/beta", "/flags/beta")
    store.set_flag("beta", {**store.ruleset().to_dict()["flags"]["beta"], "description": "Bob's"})
    response = panel.submit(found, ("save", "1"), description="Mine")
    assert response.status_code == 409
    attempt = response.text.split("Your edit, not saved", 1)[1].split("</pre>", 1)[0]
    changed = [
        html.unescape(line)
        for line in re.findall(r'<span class="(?:add|del)">([^<]*)</span>', attempt)
    ]
    assert changed == ['-  "description": "Bob\'s",', '+  "description": "Mine",']
