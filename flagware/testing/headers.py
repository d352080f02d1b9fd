"""override_header: the header a test user sends to override flags, for test clients.

::

    client.get("/checkout", headers=dict([override_header({"new_checkout": False})]))

The middleware honours it for test users only (the ruleset's ``test_users``, or its
``is_test_user``), on the account the *server* resolved; for anyone else it is ignored,
which is worth a test of its own.
"""

from __future__ import annotations

from collections.abc import Mapping

from flagware._request import DEFAULT_OVERRIDE_HEADER
from flagware.overrides import format_override_header

__all__ = ["override_header"]


def override_header(
    overrides: Mapping[str, bool | str], *, header: str = DEFAULT_OVERRIDE_HEADER
) -> tuple[str, str]:
    """``(name, value)`` of the override header asking for ``overrides``.

    ``override_header({"new_checkout": False, "button": "green"})`` is
    ``("X-Flagware-Override", "new_checkout=off, button=green")``. ``header`` is the name,
    if the middleware was given another ``override_header``. Raises ValueError for
    overrides the middleware would ignore (see
    :func:`flagware.overrides.format_override_header`), so a test never passes because its
    header was silently dropped.
    """
    return header, format_override_header(overrides)
