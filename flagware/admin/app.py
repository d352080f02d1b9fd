"""The admin panel's Starlette application (work in progress)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.applications import Starlette

from flagware.admin.auth import Authenticator
from flagware.model import Account
from flagware.stores.base import Store

__all__ = ["admin_app"]


def admin_app(
    store: Store,
    *,
    auth: Authenticator,
    lookup_account: Callable[[str], Account | None] | None = None,
    title: str = "flagware",
) -> Starlette:
    """The admin panel for ``store``, behind ``auth`` (mandatory)."""
    raise NotImplementedError
