"""Long-running commands: ``admin`` serves the admin panel, ``demo`` a self-contained demo.

Both run uvicorn in the foreground until interrupted; the web stack is imported only
here, so the other commands start fast and work without it.
"""

from __future__ import annotations

import os
import secrets
from typing import TYPE_CHECKING

import click

from flagware.cli.connect import is_placeholder, open_store
from flagware.cli.errors import ConfigError
from flagware.cli.output import echo
from flagware.cli.settings import get_settings

if TYPE_CHECKING:
    from flagware.admin.auth import BasicAuth
    from flagware.stores.store import Store

__all__ = ["admin", "demo"]

NEEDS_ADMIN_EXTRA = "the admin panel needs its extra: pip install 'flagware[admin]'"


def _basic_auth(user: str, password: str) -> BasicAuth:
    try:
        from flagware.admin.auth import BasicAuth  # noqa: PLC0415 - needs the admin extra
    except ImportError:
        raise ConfigError(NEEDS_ADMIN_EXTRA) from None
    try:
        return BasicAuth(user, password)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _run(app: object, host: str, port: int) -> None:
    try:
        import uvicorn  # noqa: PLC0415 - needs the admin extra
    except ImportError:
        raise ConfigError(NEEDS_ADMIN_EXTRA) from None
    uvicorn.run(app, host=host, port=port, log_level="info")  # type: ignore[arg-type]


host_option = click.option("--host", default="127.0.0.1", show_default=True)


@click.command("admin", short_help="Serve the admin panel.")
@host_option
@click.option("--port", type=click.IntRange(1, 65535), default=8001, show_default=True)
def admin(host: str, port: int) -> None:
    """Serve the admin panel for the chosen store.

    Operators log in with HTTP Basic: FLAGWARE_ADMIN_USER and FLAGWARE_ADMIN_PASSWORD
    must both be set (exit 2 otherwise). Serve it over HTTPS (a proxy in front).
    FLAGWARE_ADMIN_SECRET, if set, signs the forms' CSRF tokens (default: derived from
    the credentials); panels behind one load balancer need the same one.
    """
    user = os.environ.get("FLAGWARE_ADMIN_USER", "")
    password = os.environ.get("FLAGWARE_ADMIN_PASSWORD", "")
    if not user or not password:
        raise ConfigError(
            "the admin panel needs credentials: set FLAGWARE_ADMIN_USER and "
            "FLAGWARE_ADMIN_PASSWORD (it refuses to run without a login)"
        )
    auth = _basic_auth(user, password)
    try:
        from flagware.admin import admin_app  # noqa: PLC0415 - needs the admin extra
    except ImportError:
        raise ConfigError(NEEDS_ADMIN_EXTRA) from None
    store = open_store(need_ruleset=False, serving=True)
    if is_placeholder(store):
        echo(f"note: {get_settings().store_label()} has no ruleset yet", err=True)
    app = admin_app(store, auth=auth, csrf_secret=os.environ.get("FLAGWARE_ADMIN_SECRET") or None)
    echo(f"admin panel for {get_settings().store_label()}: http://{host}:{port}/")
    _run(app, host, port)


@click.command("demo", short_help="Serve a demo flags API and admin panel.")
@host_option
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
def demo(host: str, port: int) -> None:
    """Serve a demo: a flags API and the admin panel, on a built-in example ruleset.

    With --redis-url or --rules it runs on that store instead. The admin login is
    "admin" (or FLAGWARE_ADMIN_USER) with FLAGWARE_ADMIN_PASSWORD, or a random password
    printed at start.
    """
    try:
        from flagware.cli.demo import demo_app, demo_ruleset  # noqa: PLC0415 - web extras
    except ImportError:
        raise ConfigError(NEEDS_ADMIN_EXTRA) from None
    from flagware.stores.memory import MemoryStore  # noqa: PLC0415

    settings = get_settings()
    store: Store
    if settings.has_store:
        store = open_store(need_ruleset=False, serving=True)
        where = settings.store_label()
    else:
        store = click.get_current_context().find_root().with_resource(MemoryStore(demo_ruleset()))
        where = "the built-in example ruleset (in memory)"
    user = os.environ.get("FLAGWARE_ADMIN_USER") or "admin"
    password = os.environ.get("FLAGWARE_ADMIN_PASSWORD", "")
    shown = "from FLAGWARE_ADMIN_PASSWORD"
    if not password:  # a fresh one each run, printed: the demo must not ship a default
        password = shown = secrets.token_urlsafe(12)
    auth = _basic_auth(user, password)
    app = demo_app(store, auth)
    panel = f"http://{host}:{port}/admin/  (user {user}, password {shown})"
    echo(f"flagware demo on {where}")
    echo(f"  flags API:   curl -H 'X-Account-Id: acct-42' http://{host}:{port}/api/flags")
    echo(f"  admin panel: {panel}")
    _run(app, host, port)
