"""The flagware pytest plugin: ``flagware_flags`` and ``flagware_store``, and a marker.

Installed with flagware and loaded by its ``pytest11`` entry point (named ``flagware``:
``-p no:flagware`` turns it off). It is loaded into *every* pytest session of a project
that has flagware installed, so loading it costs next to nothing: this module imports
pytest only, and each fixture imports what it needs when a test first uses it (no
pydantic, engine or store until then). It also loads under ``python -O``.

- ``flagware_flags``: a :class:`~flagware.testing.TestFlags`, current for the test
  (``flagware.flags`` reads it) and undone at teardown.
- ``flagware_store``: a fresh :class:`~flagware.testing.TestData` store per test, closed
  at teardown, for the middleware or integration under test.
- ``@pytest.mark.flagware_flags(new_checkout=True, button="green")``: starting values
  for both fixtures (a mapping first, for names that are not identifiers:
  ``flagware_flags({"checkout.v2": True})``). A test with the marker gets
  ``flagware_flags`` active even if it does not ask for it; marks on the class or module
  apply too, the closest one winning for a name.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from flagware.testing.flags import TestFlags
    from flagware.testing.testdata import TestData

__all__ = ["flagware_flags", "flagware_store"]

MARKER = "flagware_flags"


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker, so ``--strict-markers`` accepts it."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(values=None, /, **flags): flag values for this test's flagware_flags "
        "and flagware_store fixtures (True, False or a variant name)",
    )


def marked_values(node: pytest.Item) -> dict[str, bool | str]:
    """The flag values the ``flagware_flags`` marks on ``node`` and its parents give."""
    values: dict[str, bool | str] = {}
    # iter_markers yields the closest mark first: apply them farthest first.
    for mark in reversed(list(node.iter_markers(MARKER))):
        if len(mark.args) > 1 or (mark.args and not isinstance(mark.args[0], Mapping)):
            raise TypeError(
                f"@pytest.mark.{MARKER} takes one mapping and keyword flags, got {mark.args!r}"
            )
        values.update(mark.args[0] if mark.args else {})
        values.update(mark.kwargs)
    return values


@pytest.fixture
def flagware_flags(request: pytest.FixtureRequest) -> Iterator[TestFlags]:
    """The flags ``flagware.flags`` reads in this test: ``flagware_flags.set("x", True)``.

    Starts with the values of the ``flagware_flags`` marker; restores the flags current
    before the test at teardown.
    """
    from flagware.testing.flags import TestFlags  # noqa: PLC0415 - on first use

    with TestFlags(marked_values(request.node)) as flags:
        yield flags


@pytest.fixture
def flagware_store(request: pytest.FixtureRequest) -> Iterator[TestData]:
    """A fresh TestData store for this test, to pass to the middleware under test.

    Starts with the values of the ``flagware_flags`` marker; closed at teardown.
    """
    from flagware.testing.testdata import TestData  # noqa: PLC0415 - on first use

    store = TestData(flags=marked_values(request.node))
    try:
        yield store
    finally:
        store.close()


@pytest.fixture(autouse=True)
def _flagware_marker(request: pytest.FixtureRequest) -> None:
    """Activate ``flagware_flags`` for a marked test that does not ask for it, so the
    marker is never silently ignored. Unmarked tests pay one marker lookup."""
    if request.node.get_closest_marker(MARKER) is not None:
        request.getfixturevalue("flagware_flags")
