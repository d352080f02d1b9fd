"""The admin panel: a small Starlette app for operating flags from a browser.

Mount it in an ASGI app (``app.mount("/flagware", admin_app(store, auth=...))``) or run it
on its own with ``flagware admin``. Every change goes through the store's write API, so it
is validated, compare-and-set and recorded in the audit history under the operator's name.
"""

from __future__ import annotations

from flagware.admin.app import admin_app
from flagware.admin.auth import Authenticator, BasicAuth

__all__ = ["Authenticator", "BasicAuth", "admin_app"]
