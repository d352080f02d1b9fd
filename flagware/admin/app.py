"""The admin panel's ASGI app: the pages, their routes, and the login in front of them.

Reads come from the store's in-memory ruleset; writes go through the store's write API
(validated, compare-and-set, audited under the operator's name) in a worker thread, since
a store may talk to Redis. The pages live in ``flag_pages``, ``history_pages`` and
``account_pages``; what they share in ``pages``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from flagware.account import Account
from flagware.admin.account_pages import AccountPages
from flagware.admin.auth import Authenticator
from flagware.admin.flag_pages import FlagPages
from flagware.admin.forms import BadInput
from flagware.admin.guard import Guard
from flagware.admin.history_pages import HistoryPages
from flagware.admin.segment_pages import SegmentPages
from flagware.errors import StoreError
from flagware.stores.store import Store

__all__ = ["admin_app"]

_HERE = Path(__file__).parent


class _Panel(FlagPages, HistoryPages, AccountPages, SegmentPages):
    """Every page of the panel."""


def admin_app(
    store: Store,
    *,
    auth: Authenticator,
    lookup_account: Callable[[str], Account | None] | None = None,
    title: str = "flagware",
    csrf_secret: str | bytes | None = None,
    sample_accounts: Callable[[], Iterable[Account]] | None = None,
) -> Guard:
    """The admin panel for ``store``, an ASGI app to mount or serve.

    :param store: where the flags live; every change goes through its write API.
    :param auth: mandatory. Gets the request (a Starlette ``HTTPConnection``) and returns
        the operator's name, recorded in the audit history, or None to refuse (it may be
        async). :class:`~flagware.admin.BasicAuth` checks one configured user and password.
    :param lookup_account: optional; finds an account by id for "explain for account X",
        so the panel uses its real number and attributes. It is called in a worker thread
        (it may query a database); if it raises, the page says the lookup failed.
    :param title: shown in the page header, e.g. the environment's name.
    :param csrf_secret: signs the CSRF tokens, which are bound to the operator. Optional:
        with :class:`~flagware.admin.BasicAuth` it is derived from the credentials;
        otherwise a random one per process is used (logged at INFO). Panel processes
        behind one load balancer must share it: give them all the same value.
    :param sample_accounts: optional; returns a sample of accounts (a list, or read from
        your database). With it, the flag editor has a Preview button that shows how many
        of them the edit would turn on or off before anything is saved. It is called in a
        worker thread on each preview; if it raises, the page says so and saves nothing.
    """
    if auth is None:
        raise ValueError(
            "the admin panel needs authentication: pass auth=BasicAuth(user, password) or "
            "a callable that returns the operator's name"
        )
    panel = _Panel(store, lookup_account, title, sample_accounts)
    routes = [
        Route("/", panel.flags, name="flags"),
        Route("/flags", panel.create_flag, methods=["POST"], name="create_flag"),
        Route("/flags/{name}", panel.flag, name="flag"),
        Route("/flags/{name}", panel.save_flag, methods=["POST"], name="save_flag"),
        Route("/flags/{name}/enabled", panel.set_enabled, methods=["POST"], name="set_enabled"),
        Route("/flags/{name}/delete", panel.delete_flag, methods=["POST"], name="delete_flag"),
        Route("/test-users", panel.test_users, name="test_users"),
        Route("/test-users", panel.change_test_users, methods=["POST"], name="change_test_users"),
        Route("/segments", panel.segments, name="segments"),
        Route("/segments", panel.save_segment, methods=["POST"], name="save_segment"),
        Route("/segments/delete", panel.delete_segment, methods=["POST"], name="delete_segment"),
        Route("/history", panel.history_page, name="history"),
        # Not {version:int}: its int() fails (a 500) on 5,000 digits; the page reads it.
        Route("/history/{version}", panel.change_page, name="change"),
        Route("/history/{version}/restore", panel.restore, methods=["POST"], name="restore"),
        Route("/explain", panel.explain, name="explain"),
        Mount("/static", StaticFiles(directory=_HERE / "static"), name="static"),
    ]
    panel.paths = {r.name: r.path_format for r in routes if isinstance(r, Route)}
    panel.paths["static"] = "/static{path}"
    app = Starlette(
        routes=routes,
        exception_handlers={StoreError: panel.store_unavailable, BadInput: panel.bad_input},
    )
    return Guard(app, auth, csrf_secret=csrf_secret)
