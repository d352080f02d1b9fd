"""What every admin page shares: templates, links, CSRF-checked forms, the audit history,
and the page shown when the store is down.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from flagware._presenting import (
    UNKNOWN_TIME,
    UNREADABLE_SUMMARY,
    change_action,
    change_actor,
    rollout_summary,
    strategy_summary,
    time_ago,
    utc_time,
)
from flagware.account import Account
from flagware.admin.guard import CSRF_FIELD, csrf_problem, csrf_token, operator
from flagware.errors import StoreError
from flagware.stores.audit import Change
from flagware.stores.backend import Commit
from flagware.stores.store import Store
from flagware.strategies.registry import registered_types

__all__ = ["HISTORY_SHOWN", "LAST_CHANGE_SCAN", "Pages", "saved"]

logger = logging.getLogger("flagware")

_HERE = Path(__file__).parent
HISTORY_SHOWN = 200
LAST_CHANGE_SCAN = 50


def saved(commit: Commit) -> dict[str, int]:
    """The query a page redirects to after a write: the version saved, or "unchanged"."""
    return {"saved": commit.version} if commit.changed else {"unchanged": 1}


def _ago(at: float) -> str:
    return time_ago(at, time.time())


def _fields(form: FormData) -> dict[str, Any]:
    """Submitted fields: one string each, except checkboxes ticked more than once (lists;
    ``.digits`` ones always), which a strategy's field of kind "digits" may be under any name."""
    fields: dict[str, Any] = {}
    for key in form:
        values = [v for v in form.getlist(key) if isinstance(v, str)]
        listed = key.endswith(".digits") or len(values) > 1
        fields[key] = values if listed else (values[-1] if values else "")
    return fields


class Pages:
    """What every page shares: the store, the templates, links, forms and the history."""

    def __init__(
        self,
        store: Store,
        lookup_account: Callable[[str], Account | None] | None,
        title: str,
        sample_accounts: Callable[[], Iterable[Account]] | None = None,
    ) -> None:
        self.store = store
        self.lookup_account = lookup_account
        self.title = title
        self.sample_accounts = sample_accounts
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(_HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.filters["when"] = utc_time
        env.filters["ago"] = _ago
        env.globals.update(
            UNKNOWN_TIME=UNKNOWN_TIME,
            UNREADABLE_SUMMARY=UNREADABLE_SUMMARY,
            change_action=change_action,
            change_actor=change_actor,
            rollout_summary=rollout_summary,
            strategy_summary=strategy_summary,
            strategy_types=registered_types,  # called per page: types registered later show
            CSRF_FIELD=CSRF_FIELD,
        )
        self.env = env
        self.paths: dict[str, str] = {}

    # --- Rendering. ------------------------------------------------------------------------

    def path(self, request: Request, route: str, **params: Any) -> str:
        """The path of one of the panel's routes, under the prefix it is mounted at.

        Not ``request.url_for``: it scans the routes on each call (too slow for 1,000 rows),
        and in an app that mounts the panel it looks in the outer app's routes, which do not
        have the panel's route names.
        """
        base: str = request.scope.get("root_path", "").rstrip("/")  # where it is mounted
        return base + self.paths[route].format_map(
            {k: quote(str(v), safe="/" if route == "static" else "") for k, v in params.items()}
        )

    def render(
        self, request: Request, template: str, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        def href(route: str, query: Mapping[str, Any] | None = None, **params: Any) -> str:
            path = self.path(request, route, **params)
            return f"{path}?{urlencode(query)}" if query else path

        page = self.env.get_template(template).render(
            request=request,
            href=href,
            title=self.title,
            operator=operator(request),
            csrf=csrf_token(request),
            store=self.store,
            version=self.store.version,
            history_problem=getattr(request.state, "history_problem", None),
            can_preview=self.sample_accounts is not None,
            **context,
        )
        return HTMLResponse(page, status_code=status_code)

    def redirect(
        self, request: Request, route: str, query: Mapping[str, Any], **params: Any
    ) -> Response:
        path = self.path(request, route, **params)
        return RedirectResponse(f"{path}?{urlencode(query)}", status_code=303)

    async def write_form(self, request: Request) -> dict[str, Any] | Response:
        """The submitted fields of a write, or the refusal if it may be forged."""
        form = await request.form(max_files=0, max_fields=5000)
        fields = _fields(form)
        problem = csrf_problem(request, fields.get(CSRF_FIELD))
        if problem:
            return self.render(request, "refused.html", 403, problem=problem)
        return fields

    async def history(self, flag: str | None = None, limit: int = HISTORY_SHOWN) -> list[Change]:
        """Recorded changes; raises StoreError (shown as "store unavailable") if unreadable."""
        return await run_in_threadpool(self.store.history, flag, limit)

    async def recent_history(
        self, request: Request, flag: str | None = None, limit: int = HISTORY_SHOWN
    ) -> list[Change]:
        """Changes shown beside a page's main content: if the store cannot read them, the
        page still works and says so, rather than showing "No recorded changes"."""
        try:
            return await self.history(flag, limit)
        except StoreError as error:
            logger.warning("flagware admin: the history could not be read: %s", error)
            request.state.history_problem = str(error)
            return []

    async def bad_input(self, request: Request, error: Exception) -> Response:
        """A submitted value that cannot be read at all (:class:`BadInput`): a 400 saying which."""
        return self.render(
            request, "refused.html", 400, heading="Bad request", problem=f"Not done: {error}."
        )

    async def store_unavailable(self, request: Request, error: Exception) -> Response:
        """A store failure (e.g. Redis down): a page that says so, never a bare 500."""
        logger.warning("flagware admin: %s %s failed: %s", request.method, request.url.path, error)
        if request.method == "POST":
            problem = (
                f"Not saved: the flag store failed ({error}). The apps keep serving the rules "
                "they already have. Try again once the store is back; its History shows "
                "whether the change went through."
            )
        else:
            problem = f"The history could not be read ({error}). Try again once it is back."
        return self.render(
            request, "refused.html", 503, heading="Store unavailable", problem=problem
        )
