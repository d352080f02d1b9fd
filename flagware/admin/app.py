"""The admin panel's pages and the writes behind them.

Reads come from the store's in-memory ruleset; writes go through the store's write API
(validated, compare-and-set, audited under the operator's name) in a worker thread, since
a store may talk to Redis. Each edit form carries a fingerprint of what the operator saw,
and an edit is refused if that changed meanwhile, so nobody silently overwrites a colleague.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from flagware.admin.auth import Authenticator
from flagware.admin.forms import (
    BUILTIN_TYPES,
    OPS,
    FlagForm,
    FormError,
    StrategyForm,
    fingerprint,
    parse_scalar,
    problems_by_field,
)
from flagware.admin.guard import CSRF_FIELD, Guard, csrf_problem, csrf_token, operator
from flagware.changes import Change
from flagware.errors import RulesetError, StoreError, VersionConflict
from flagware.model import Account
from flagware.presenting import document_diff, rollout_summary, ruleset_diff, strategy_summary
from flagware.ruleset import Ruleset
from flagware.stores.base import Store
from flagware.validation import FLAG_NAME

__all__ = ["admin_app"]

logger = logging.getLogger("flagware")

_HERE = Path(__file__).parent
HISTORY_SHOWN = 200
LAST_CHANGE_SCAN = 50


class _StaleEdit(Exception):
    """The flag changed since the operator opened the form."""

    def __init__(self, message: str = "", current: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.current = current  # the flag's document as the store holds it now


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _ago(at: float) -> str:
    seconds = max(0, int(time.time() - at))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def _fields(form: FormData) -> dict[str, Any]:
    """Submitted fields: one string each, except repeated checkboxes (lists)."""
    fields: dict[str, Any] = {}
    for key in form:
        values = [v for v in form.getlist(key) if isinstance(v, str)]
        fields[key] = values if key.endswith(".digits") else (values[-1] if values else "")
    return fields


class _Panel:
    """The handlers, sharing the store, the templates and the options."""

    def __init__(
        self,
        store: Store,
        lookup_account: Callable[[str], Account | None] | None,
        title: str,
    ) -> None:
        self.store = store
        self.lookup_account = lookup_account
        self.title = title
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(_HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.filters["when"] = _when
        env.filters["ago"] = _ago
        env.globals.update(
            rollout_summary=rollout_summary,
            strategy_summary=strategy_summary,
            BUILTIN_TYPES=BUILTIN_TYPES,
            OPS=OPS,
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

    # --- Flags. ----------------------------------------------------------------------------

    async def flags(self, request: Request) -> HTMLResponse:
        ruleset = self.store.ruleset()
        query = request.query_params.get("q", "").strip()
        names = sorted(n for n in ruleset.flags if query.lower() in n.lower())
        last: dict[str, Change] = {}
        # Audit entries carry whole documents: scan only the recent ones for "last change".
        for change in await self.recent_history(request, None, LAST_CHANGE_SCAN):
            for name in change.summary.get("flags_changed", []) + change.summary.get(
                "flags_added", []
            ):
                last.setdefault(name, change)
        return self.render(
            request,
            "flags.html",
            flags=[ruleset.flags[n] for n in names],
            last=last,
            query=query,
            saved=request.query_params.get("saved"),
            new_name=request.query_params.get("new", ""),
            problems=[],
        )

    async def create_flag(self, request: Request) -> Response:
        fields = await self.write_form(request)
        if isinstance(fields, Response):
            return fields
        name = str(fields.get("name", "")).strip()
        if not re.fullmatch(FLAG_NAME, name):
            problem = (
                f"a flag name must match {FLAG_NAME}: a letter or _, then letters, digits, _ . -"
            )
            return await self._flags_with_problem(request, problem, name)
        description = str(fields.get("description", "")).strip()

        def change(doc: dict[str, Any]) -> None:
            if name in doc["flags"]:
                raise _StaleEdit(f"a flag named {name!r} already exists")
            doc["flags"][name] = {
                "strategies": [],
                **({"description": description} if description else {}),
            }

        try:
            version = await run_in_threadpool(
                self.store.update, change, actor=operator(request), action="create_flag"
            )
        except (_StaleEdit, RulesetError) as error:
            return await self._flags_with_problem(request, str(error), name)
        return self.redirect(request, "flag", {"saved": version}, name=name)

    async def _flags_with_problem(self, request: Request, problem: str, name: str) -> HTMLResponse:
        ruleset = self.store.ruleset()
        return self.render(
            request,
            "flags.html",
            422,
            flags=[ruleset.flags[n] for n in sorted(ruleset.flags)],
            last={},
            query="",
            saved=None,
            new_name=name,
            problems=[problem],
        )

    async def flag(self, request: Request) -> Response:
        name = request.path_params["name"]
        flag = self.store.ruleset().flags.get(name)
        if flag is None:
            return self.render(request, "missing.html", 404, what=f"flag {name!r}")
        doc = flag.to_dict()
        form = FlagForm.from_doc(doc)
        added = request.query_params.get("add")
        if added in BUILTIN_TYPES:
            form.strategies.append(StrategyForm(type=added))
        return await self._flag_page(request, name, form, fingerprint(doc), {})

    async def _flag_page(
        self,
        request: Request,
        name: str,
        form: FlagForm,
        seen: str,
        problems: Mapping[str, list[str]],
        *,
        status_code: int = 200,
        conflict: str | None = None,
    ) -> HTMLResponse:
        flag = self.store.ruleset().flags.get(name)
        return self.render(
            request,
            "flag.html",
            status_code,
            name=name,
            flag=flag,
            form=form,
            seen=seen,
            problems=problems,
            conflict=conflict,
            changes=await self.recent_history(request, name, 20),
            saved=request.query_params.get("saved"),
        )

    async def save_flag(self, request: Request) -> Response:
        name = request.path_params["name"]
        fields = await self.write_form(request)
        if isinstance(fields, Response):
            return fields
        current = self.store.ruleset().flags.get(name)
        keep = {
            k: v
            for k, v in (current.to_dict() if current else {}).items()
            if k in ("enabled", "salt")
        }
        form = FlagForm.from_fields(fields, keep)
        seen = str(fields.get("seen", ""))
        adding = str(fields.get("add", ""))
        if adding:  # "add a strategy" re-shows the form with one more, saving nothing
            if adding in BUILTIN_TYPES:
                form.strategies.append(StrategyForm(type=adding))
            return await self._flag_page(request, name, form, seen, {})
        try:
            new_doc = form.to_doc()
        except FormError as error:
            return await self._flag_page(
                request,
                name,
                form,
                seen,
                {error.field.split(".")[0]: [error.message]},
                status_code=422,
            )

        unchanged = current is not None and seen == fingerprint(current.to_dict())
        if unchanged and current is not None and _normalized(name, new_doc) == current.to_dict():
            return self.redirect(request, "flag", {"unchanged": 1}, name=name)

        def change(doc: dict[str, Any]) -> None:
            if fingerprint(doc["flags"].get(name)) != seen:
                raise _StaleEdit(current=doc["flags"].get(name))
            new_doc.update(
                {k: v for k, v in doc["flags"].get(name, {}).items() if k in ("enabled", "salt")}
            )
            doc["flags"][name] = new_doc

        try:
            version = await run_in_threadpool(
                self.store.update, change, actor=operator(request), action="edit_flag"
            )
        except RulesetError as error:
            return await self._flag_page(
                request, name, form, seen, problems_by_field(error.problems, name), status_code=422
            )
        except _StaleEdit as stale:
            return await self._conflict(request, name, form, stale.current)
        return self.redirect(request, "flag", {"saved": version}, name=name)

    async def _conflict(
        self, request: Request, name: str, form: FlagForm, current_doc: dict[str, Any] | None
    ) -> HTMLResponse:
        """The refusal of a stale edit, showing the flag as the store holds it now (read in
        the edit itself: the in-memory ruleset of a RedisStore may not have caught up)."""
        changes = await self.recent_history(request, name, 1)
        who = f" by {changes[0].actor} (version {changes[0].version})" if changes else ""
        current = (
            Ruleset.from_dict({"flags": {name: current_doc}}).flags[name]
            if current_doc is not None
            else None
        )
        message = (
            f"Not saved: {name} was changed{who} after you opened this page. "
            "Its current rules are shown below; your edit is kept underneath for reference."
            if current is not None
            else f"Not saved: {name} was deleted{who} after you opened this page."
        )
        return self.render(
            request,
            "flag.html",
            409,
            name=name,
            flag=current,
            form=FlagForm.from_doc(current_doc) if current_doc else form,
            seen=fingerprint(current_doc),
            problems={},
            conflict=message,
            attempted=document_diff(
                current_doc, _safe_doc(name, form), old_label="current", new_label="your edit"
            ),
            changes=await self.recent_history(request, name, 20),
            saved=None,
        )

    async def set_enabled(self, request: Request) -> Response:
        name = request.path_params["name"]
        fields = await self.write_form(request)
        if isinstance(fields, Response):
            return fields
        enabled = fields.get("enabled") == "on"
        flag = self.store.ruleset().flags.get(name)
        if flag is not None and flag.enabled == enabled:  # e.g. a second click
            return self.redirect(request, "flag", {"unchanged": 1}, name=name)
        try:
            version = await run_in_threadpool(
                self.store.set_enabled, name, enabled, actor=operator(request)
            )
        except KeyError:
            return self.render(request, "missing.html", 404, what=f"flag {name!r}")
        return self.redirect(request, "flag", {"saved": version}, name=name)

    async def delete_flag(self, request: Request) -> Response:
        name = request.path_params["name"]
        fields = await self.write_form(request)
        if isinstance(fields, Response):
            return fields
        try:
            version = await run_in_threadpool(self.store.delete_flag, name, actor=operator(request))
        except KeyError:
            return self.render(request, "missing.html", 404, what=f"flag {name!r}")
        return self.redirect(request, "flags", {"saved": version})

    # --- Test users. -----------------------------------------------------------------------

    async def test_users(self, request: Request) -> HTMLResponse:
        return self.render(
            request,
            "test_users.html",
            users=sorted(self.store.ruleset().test_users),
            saved=request.query_params.get("saved"),
            problems=[],
        )

    async def change_test_users(self, request: Request) -> Response:
        fields = await self.write_form(request)
        if isinstance(fields, Response):
            return fields
        account = str(fields.get("account", "")).strip()
        remove = fields.get("remove") == "1"
        if not account:
            return self.render(
                request,
                "test_users.html",
                422,
                users=sorted(self.store.ruleset().test_users),
                saved=None,
                problems=["Give the account id of the test user."],
            )
        if (account in self.store.ruleset().test_users) != remove:
            return self.redirect(request, "test_users", {"unchanged": 1})
        write = self.store.remove_test_user if remove else self.store.add_test_user
        try:
            version = await run_in_threadpool(write, account, actor=operator(request))
        except RulesetError as error:
            return self.render(
                request,
                "test_users.html",
                422,
                users=sorted(self.store.ruleset().test_users),
                saved=None,
                problems=list(error.problems),
            )
        return self.redirect(request, "test_users", {"saved": version})

    # --- History. --------------------------------------------------------------------------

    async def history_page(self, request: Request) -> HTMLResponse:
        flag = request.query_params.get("flag") or None
        return self.render(
            request,
            "history.html",
            changes=await self.history(flag),
            flag=flag,
            saved=request.query_params.get("saved"),
        )

    async def change_page(self, request: Request) -> Response:
        number = request.path_params["version"]
        changes = await self.history(None, 1000)
        by_version = {c.version: c for c in changes}
        change = by_version.get(number)
        if change is None:
            return self.render(
                request, "missing.html", 404, what=f"version {number} in the history"
            )
        before = by_version.get(change.previous_version)
        return self.render(
            request,
            "change.html",
            change=change,
            before=before,
            diff=ruleset_diff(
                before.document if before else None,
                change.document,
                old_label=f"version {change.previous_version}",
                new_label=f"version {change.version}",
            ),
            missing_before=before is None and change.previous_version > 0,
            live_diff=ruleset_diff(
                self.store.ruleset().to_dict(),
                change.document,
                old_label=f"live (version {self.store.version})",
                new_label=f"version {change.version}",
            ),
            problem=None,
        )

    async def restore(self, request: Request) -> Response:
        number = request.path_params["version"]
        fields = await self.write_form(request)
        if isinstance(fields, Response):
            return fields
        expected = str(fields.get("expected_version", ""))
        changes = {c.version: c for c in await self.history(None, 1000)}
        change = changes.get(number)
        if change is None:
            return self.render(
                request, "missing.html", 404, what=f"version {number} in the history"
            )
        try:
            version = await run_in_threadpool(
                lambda: self.store.save(
                    dict(change.document),
                    actor=operator(request),
                    expected_version=int(expected) if expected.isdigit() else -1,
                    action=f"restore {number}",
                )
            )
        except VersionConflict:
            return self.render(
                request,
                "change.html",
                409,
                change=change,
                before=changes.get(change.previous_version),
                diff=[],
                missing_before=False,
                live_diff=ruleset_diff(
                    self.store.ruleset().to_dict(),
                    change.document,
                    old_label=f"live (version {self.store.version})",
                    new_label=f"version {change.version}",
                ),
                problem=(
                    f"Not restored: the ruleset changed after you opened this page (it is now "
                    f"version {self.store.version}). Review the difference below and restore again."
                ),
            )
        except RulesetError as error:
            return self.render(request, "refused.html", 422, problem="; ".join(error.problems))
        return self.redirect(request, "history", {"saved": version})

    # --- Explain. --------------------------------------------------------------------------

    async def explain(self, request: Request) -> HTMLResponse:
        params = request.query_params
        account_id = params.get("account", "").strip()
        number_text = params.get("number", "").strip()
        attributes_text = params.get("attributes", "")
        problems: list[str] = []
        rows: list[Any] = []
        account: Account | None = None
        if account_id:
            found = await self._look_up(account_id, problems)
            attributes: dict[str, Any] = dict(found.attributes) if found else {}
            for line in attributes_text.splitlines():
                if line.strip():
                    key, sep, value = line.partition("=")
                    if not sep or not key.strip():
                        problems.append(f"attribute lines look like key=value, got {line!r}")
                        continue
                    attributes[key.strip()] = parse_scalar(value)
            number = found.number if found else None
            if number_text:
                if number_text.lstrip("-").isdigit():
                    number = int(number_text)
                else:
                    problems.append(
                        f"the account number must be a whole number, got {number_text!r}"
                    )
            try:
                account = Account(account_id, number=number, attributes=attributes)
            except (TypeError, ValueError) as error:
                problems.append(str(error))
        if account is not None and not problems:
            engine = self.store.engine()
            flags = engine.evaluate_all(account)
            rows = [flags.evaluation(name) for name in sorted(engine.ruleset.flags)]
        return self.render(
            request,
            "explain.html",
            account=account,
            account_id=account_id,
            number=number_text,
            attributes=attributes_text,
            problems=problems,
            rows=rows,
            is_test_user=account is not None and account.id in self.store.ruleset().test_users,
        )

    async def _look_up(self, account_id: str, problems: list[str]) -> Account | None:
        """The application's account, found off the event loop (it may query a database);
        if the lookup fails, a problem for the page (the details go to the log only)."""
        if self.lookup_account is None:
            return None
        try:
            return await run_in_threadpool(self.lookup_account, account_id)
        except Exception:
            logger.exception("flagware admin: lookup_account(%r) raised", account_id)
            problems.append(
                f"looking up account {account_id!r} failed, so it cannot be explained with its "
                "real number and attributes (the server log has the error)"
            )
            return None


def _normalized(name: str, flag_doc: dict[str, Any]) -> dict[str, Any] | None:
    """A flag's document as the store would keep it (None if invalid)."""
    try:
        return Ruleset.from_dict({"flags": {name: flag_doc}}).flags[name].to_dict()
    except RulesetError:
        return None


def _safe_doc(name: str, form: FlagForm) -> dict[str, Any] | None:
    """The flag an operator submitted, as the store would keep it where it is valid (so a
    diff against the stored flag shows only what they changed), else as typed."""
    try:
        doc = form.to_doc()
    except FormError:
        return None
    return _normalized(name, doc) or doc


def admin_app(
    store: Store,
    *,
    auth: Authenticator,
    lookup_account: Callable[[str], Account | None] | None = None,
    title: str = "flagware",
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
    """
    if auth is None:
        raise ValueError(
            "the admin panel needs authentication: pass auth=BasicAuth(user, password) or "
            "a callable that returns the operator's name"
        )
    panel = _Panel(store, lookup_account, title)
    routes = [
        Route("/", panel.flags, name="flags"),
        Route("/flags", panel.create_flag, methods=["POST"], name="create_flag"),
        Route("/flags/{name}", panel.flag, name="flag"),
        Route("/flags/{name}", panel.save_flag, methods=["POST"], name="save_flag"),
        Route("/flags/{name}/enabled", panel.set_enabled, methods=["POST"], name="set_enabled"),
        Route("/flags/{name}/delete", panel.delete_flag, methods=["POST"], name="delete_flag"),
        Route("/test-users", panel.test_users, name="test_users"),
        Route("/test-users", panel.change_test_users, methods=["POST"], name="change_test_users"),
        Route("/history", panel.history_page, name="history"),
        Route("/history/{version:int}", panel.change_page, name="change"),
        Route("/history/{version:int}/restore", panel.restore, methods=["POST"], name="restore"),
        Route("/explain", panel.explain, name="explain"),
        Mount("/static", StaticFiles(directory=_HERE / "static"), name="static"),
    ]
    panel.paths = {r.name: r.path_format for r in routes if isinstance(r, Route)}
    panel.paths["static"] = "/static{path}"
    app = Starlette(routes=routes, exception_handlers={StoreError: panel.store_unavailable})
    return Guard(app, auth)
