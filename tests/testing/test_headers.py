"""override_header: the header value the middleware reads back exactly."""

from __future__ import annotations

import pytest

from flagware.overrides import (
    MAX_OVERRIDES,
    format_override_header,
    issue_override_token,
    parse_override_header,
)
from flagware.testing import override_header


def test_the_header_for_some_overrides() -> None:
    assert override_header({"new_checkout": False}) == ("X-Flagware-Override", "new_checkout=off")
    name, value = override_header({"a": True, "b.c": False, "button": "green"})
    assert (name, value) == ("X-Flagware-Override", "a=on, b.c=off, button=green")
    assert parse_override_header(value) == {"a": True, "b.c": False, "button": "green"}


def test_another_header_name() -> None:
    assert override_header({"a": True}, header="X-Try") == ("X-Try", "a=on")


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"not a name": True},
        {"button": "on"},  # a variant the parser reads as a boolean
        {"button": "gr een"},
        {f"f{i}": True for i in range(MAX_OVERRIDES + 1)},
    ],
    ids=["empty", "name", "boolean-variant", "variant", "too-many"],
)
def test_overrides_the_middleware_would_ignore_are_refused(
    overrides: dict[str, bool | str],
) -> None:
    with pytest.raises(ValueError, match="cannot be sent as an override header"):
        override_header(overrides)
    with pytest.raises(ValueError, match="invalid overrides for a token"):
        issue_override_token("secret", "tester", overrides)


def test_tokens_still_carry_the_same_header() -> None:
    overrides: dict[str, bool | str] = {"a": True, "button": "green"}
    assert format_override_header(overrides) == "a=on, button=green"
    assert issue_override_token("secret", "tester", overrides, now=0)
