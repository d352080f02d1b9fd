"""An application's own strategies in the editor: declared fields make a form of their own
that round-trips; without them (or with values the fields cannot show) the parameters are
edited as JSON; the summary a strategy gives is what the pages show."""

from __future__ import annotations

import copy
import html
from collections.abc import Mapping
from typing import Any

import flagware
from flagware.strategies import StrategyField
from tests.admin.pages import fieldset, form
from tests.admin.support import Panel, redirected_to


@flagware.register_strategy("admin_test_region")
class Region(flagware.Strategy):
    """Declares its fields and its summary, as an application should."""

    fields = (
        StrategyField("regions", "Regions", "values", help="comma separated"),
        StrategyField("minimum", "Minimum seats", "number"),
        StrategyField("tier", "Tier", "choice", choices=("free", "pro"), default="pro"),
        StrategyField("label", "Label", "text", required=False),
    )

    def __init__(
        self, regions: list[str], minimum: int, tier: str = "pro", label: str | None = None
    ) -> None:
        self.regions, self.minimum = regions, minimum

    @classmethod
    def summary(cls, params: Mapping[str, Any]) -> str:
        return f"regions {', '.join(params['regions'])} with {params['minimum']}+ seats"

    def matches(self, account: flagware.Account) -> bool:
        return account.attributes.get("region") in self.regions


@flagware.register_strategy("admin_test_opaque")
class Opaque(flagware.Strategy):
    """Declares nothing: edited as JSON, summarised by its parameters."""

    def __init__(self, weights: dict[str, int]) -> None:
        self.weights = weights

    def matches(self, account: flagware.Account) -> bool:
        return False


DOC: dict[str, Any] = {
    "schema": 1,
    "test_users": [],
    "unknown": "released",
    "flags": {
        "regional": {
            "strategies": [
                {"type": "admin_test_region", "regions": ["EU", "US"], "minimum": 10},
                {"type": "percentage", "percent": 5},
            ]
        },
        "opaque": {"strategies": [{"type": "admin_test_opaque", "weights": {"a": 1}}]},
    },
}


def panel_on(make_store: Any, doc: dict[str, Any] = DOC) -> Panel:
    return Panel.logged_in(make_store("memory", copy.deepcopy(doc)))


def test_declared_fields_make_the_form_and_an_unchanged_save_keeps_the_flag(
    make_store: Any,
) -> None:
    panel = panel_on(make_store)
    page = panel.page("/flags/regional")
    editor = html.unescape(fieldset(page, 0))
    for label in ("Regions (comma separated)", "Minimum seats", "Tier", "Label"):
        assert label in editor
    assert "(JSON)" not in editor
    found = form(page, "/flags/regional")
    assert (found.value("s0.regions"), found.value("s0.minimum")) == ("EU, US", "10")
    assert found.value("s0.tier") == "pro"  # the default, preselected
    before = panel.store.ruleset().to_dict()
    assert redirected_to(panel.save("regional"), "/flags/regional")
    # An empty optional field is left out; the default tier was not stored before either...
    after = panel.store.ruleset().to_dict()["flags"]["regional"]["strategies"][0]
    assert after == {**before["flags"]["regional"]["strategies"][0], "tier": "pro"}


def test_an_edit_through_declared_fields_is_saved_typed(make_store: Any) -> None:
    panel = panel_on(make_store)
    response = panel.save(
        "regional", s0__regions="EU, APAC", s0__minimum="25", s0__tier="free", s0__label="x"
    )
    assert redirected_to(response, "/flags/regional")
    strategy = panel.store.ruleset().to_dict()["flags"]["regional"]["strategies"][0]
    assert strategy == {
        "type": "admin_test_region",
        "regions": ["EU", "APAC"],
        "minimum": 25,
        "tier": "free",
        "label": "x",
    }
    # And the form shows the saved values, which save unchanged again.
    version = panel.store.version
    assert panel.save("regional").headers["location"].endswith("?unchanged=1")
    assert panel.store.version == version


def test_a_mistake_in_a_declared_field_is_shown_in_its_strategy(make_store: Any) -> None:
    panel = panel_on(make_store)
    response = panel.save("regional", s0__minimum="many")
    assert response.status_code == 422
    assert "minimum" in html.unescape(fieldset(response.text, 0))
    assert form(response.text, "/flags/regional").value("s0.minimum") == "many"


def test_a_custom_strategy_is_added_from_its_button(make_store: Any) -> None:
    panel = panel_on(make_store)
    found = panel.form("/flags/regional", "/flags/regional")
    assert ("add", "admin_test_region") in found.buttons
    assert ("add", "admin_test_opaque") in found.buttons
    grown = form(panel.submit(found, ("add", "admin_test_region")).text, "/flags/regional")
    assert grown.value("s2.type") == "admin_test_region"
    response = panel.submit(grown, ("save", "1"), s2__regions="JP", s2__minimum="1")
    assert redirected_to(response, "/flags/regional")
    added = panel.store.ruleset().to_dict()["flags"]["regional"]["strategies"][2]
    assert added == {"type": "admin_test_region", "regions": ["JP"], "minimum": 1, "tier": "pro"}


def test_a_strategy_without_declared_fields_is_edited_as_json(make_store: Any) -> None:
    panel = panel_on(make_store)
    page = panel.page("/flags/opaque")
    assert "Parameters of the app's <code>admin_test_opaque</code> strategy (JSON)" in page
    found = form(page, "/flags/opaque")
    assert found.value("s0.params") == '{\n "weights": {\n  "a": 1\n }\n}'
    assert redirected_to(panel.save("opaque"), "/flags/opaque")
    response = panel.save("opaque", s0__params='{"weights": {"b": 2}}')
    assert redirected_to(response, "/flags/opaque")
    strategy = panel.store.ruleset().to_dict()["flags"]["opaque"]["strategies"][0]
    assert strategy == {"type": "admin_test_opaque", "weights": {"b": 2}}
    response = panel.save("opaque", s0__params="{not json")
    assert response.status_code == 422
    assert "not valid JSON" in html.unescape(response.text)


def test_values_the_declared_fields_cannot_show_are_edited_as_json(make_store: Any) -> None:
    # A label of null would read back as the text "None": the form falls back to JSON.
    doc = copy.deepcopy(DOC)
    strategy = {"type": "admin_test_region", "regions": ["EU"], "minimum": 1, "label": None}
    doc["flags"]["regional"]["strategies"][0] = strategy
    panel = panel_on(make_store, doc)
    found = panel.form("/flags/regional", "/flags/regional")
    assert '"label": null' in found.value("s0.params")
    before = panel.store.ruleset().to_dict()
    assert redirected_to(panel.save("regional"), "/flags/regional")
    assert repr(panel.store.ruleset().to_dict()) == repr(before)


def test_the_pages_show_each_strategys_own_summary(make_store: Any) -> None:
    panel = panel_on(make_store)
    listing = html.unescape(panel.page("/"))
    assert "regions EU, US with 10+ seats; 5% of accounts" in listing
    assert "admin_test_opaque(weights={'a': 1})" in listing
    flag_page = html.unescape(panel.page("/flags/regional"))
    assert "Released to: <strong>regions EU, US with 10+ seats; 5% of accounts</strong>" in (
        flag_page
    )
