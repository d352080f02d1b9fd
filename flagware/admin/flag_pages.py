"""The flag pages: the list, a flag's editor (stale edits refused, problems shown in place),
the kill switch, new flags and deleting one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from flagware._presenting import change_actor, document_diff
from flagware.account import Account
from flagware.admin.forms import (
    FlagForm,
    FormError,
    StrategyForm,
    fingerprint,
    kept,
    problems_by_field,
)
from flagware.admin.guard import operator
from flagware.admin.pages import LAST_CHANGE_SCAN, Pages, saved
from flagware.errors import RulesetError, UnknownFlag
from flagware.lifecycle import FlagFilter, stamp_created
from flagware.ruleset import Ruleset
from flagware.ruleset.parse import FLAG_NAME
from flagware.stores.audit import Change
from flagware.strategies.registry import registered_types

__all__ = ["FlagPages"]

logger = logging.getLogger("flagware")


class _StaleEdit(Exception):
    """The flag changed since the operator opened the form."""

    def __init__(self, message: str = "", current: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.current = current  # the flag's document as the store holds it now


class FlagPages(Pages):
    """Handlers for /, /flags and /flags/{name}."""

    async def flags(self, request: Request) -> HTMLResponse:
        ruleset = self.store.ruleset()
        query = request.query_params.get("q", "").strip()
        tag = request.query_params.get("tag", "").strip()
        expired = request.query_params.get("expired") == "1"
        keep = FlagFilter(query, (tag,) if tag else (), expired=expired, match_metadata=True)
        names = sorted(n for n, flag in ruleset.flags.items() if keep(flag))
        last: dict[str, Change] = {}
        # Audit entries carry whole documents: scan only the recent ones for "last change".
        for change in await self.recent_history(request, None, LAST_CHANGE_SCAN):
            for name in change.touched_flags():
                last.setdefault(name, change)
        return self.render(
            request,
            "flags.html",
            flags=[ruleset.flags[n] for n in names],
            last=last,
            query=query,
            tag=tag,
            expired=expired,
            today=datetime.now(timezone.utc).date(),
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
            stamp_created(doc["flags"][name])

        try:
            commit = await run_in_threadpool(
                self.store.update,
                change,
                actor=operator(request),
                action="create_flag",
                touching=(name,),
            )
        except (_StaleEdit, RulesetError) as error:
            return await self._flags_with_problem(request, str(error), name)
        return self.redirect(request, "flag", saved(commit), name=name)

    async def _flags_with_problem(self, request: Request, problem: str, name: str) -> HTMLResponse:
        ruleset = self.store.ruleset()
        return self.render(
            request,
            "flags.html",
            422,
            flags=[ruleset.flags[n] for n in sorted(ruleset.flags)],
            last={},
            query="",
            tag="",
            expired=False,
            today=datetime.now(timezone.utc).date(),
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
        if added in registered_types():
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
        preview: str | None = None,
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
            preview=preview,
            changes=await self.recent_history(request, name, 20),
            saved=request.query_params.get("saved"),
        )

    async def save_flag(self, request: Request) -> Response:
        name = request.path_params["name"]
        fields = await self.write_form(request)
        if isinstance(fields, Response):
            return fields
        current = self.store.ruleset().flags.get(name)
        form = FlagForm.from_fields(fields, kept(current.to_dict() if current else None))
        seen = str(fields.get("seen", ""))
        adding = str(fields.get("add", ""))
        if adding:  # "add a strategy" re-shows the form with one more, saving nothing
            if adding in registered_types():
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

        if fields.get("preview") and self.sample_accounts is not None:
            return await self._preview(request, name, form, seen, new_doc, self.sample_accounts)

        unchanged = current is not None and seen == fingerprint(current.to_dict())
        if unchanged and current is not None and _normalized(name, new_doc) == current.to_dict():
            return self.redirect(request, "flag", {"unchanged": 1}, name=name)

        def change(doc: dict[str, Any]) -> None:
            if fingerprint(doc["flags"].get(name)) != seen:
                raise _StaleEdit(current=doc["flags"].get(name))
            new_doc.update(kept(doc["flags"].get(name)))
            doc["flags"][name] = new_doc

        try:
            commit = await run_in_threadpool(
                self.store.update,
                change,
                actor=operator(request),
                action="edit_flag",
                touching=(name,),
            )
        except RulesetError as error:
            return await self._flag_page(
                request, name, form, seen, problems_by_field(error.problems, name), status_code=422
            )
        except _StaleEdit as stale:
            return await self._conflict(request, name, form, stale.current)
        return self.redirect(request, "flag", saved(commit), name=name)

    async def _preview(  # noqa: PLR0917 - the form's state, and the sample
        self,
        request: Request,
        name: str,
        form: FlagForm,
        seen: str,
        new_doc: dict[str, Any],
        sample: Callable[[], Iterable[Account]],
    ) -> HTMLResponse:
        """The Preview button: the form again, with how many of the application's sampled
        accounts the edit would turn on or off; nothing is saved."""
        from flagware.preview import preview_change  # noqa: PLC0415 - only on a preview

        before = self.store.ruleset()
        doc = before.to_dict()
        doc["flags"][name] = {**new_doc, **kept(doc["flags"].get(name))}
        try:
            after = Ruleset.from_dict(doc)
        except RulesetError as error:
            problems = problems_by_field(error.problems, name)
            return await self._flag_page(request, name, form, seen, problems, status_code=422)

        def count() -> str:
            impact = preview_change(before, after, sample(), flags=[name])
            skipped = f"; {impact.test_users:,} test users not counted" if impact.test_users else ""
            return f"{impact.flags[name]}{skipped}"

        try:
            preview = await run_in_threadpool(count)
        except Exception:  # the application's sample provider: say so, never a 500
            logger.exception("flagware admin: the sample_accounts provider failed")
            preview = "the sample of accounts could not be read (see the server's log)"
        return await self._flag_page(request, name, form, seen, {}, preview=preview)

    async def _conflict(
        self, request: Request, name: str, form: FlagForm, current_doc: dict[str, Any] | None
    ) -> HTMLResponse:
        """The refusal of a stale edit, showing the flag as the store holds it now (read in
        the edit itself: the in-memory ruleset of a RedisStore may not have caught up)."""
        changes = await self.recent_history(request, name, 1)
        who = f" by {change_actor(changes[0])} (version {changes[0].version})" if changes else ""
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
            preview=None,
            changes=await self.recent_history(request, name, 20),
            saved=None,
        )

    async def set_enabled(self, request: Request) -> Response:
        name = request.path_params["name"]
        fields = await self.write_form(request)
        if isinstance(fields, Response):
            return fields
        enabled = fields.get("enabled") == "on"
        try:  # a second click changes nothing, and says so
            commit = await run_in_threadpool(
                self.store.set_enabled, name, enabled, actor=operator(request)
            )
        except UnknownFlag:
            return self.render(request, "missing.html", 404, what=f"flag {name!r}")
        return self.redirect(request, "flag", saved(commit), name=name)

    async def delete_flag(self, request: Request) -> Response:
        name = request.path_params["name"]
        fields = await self.write_form(request)
        if isinstance(fields, Response):
            return fields
        try:
            commit = await run_in_threadpool(self.store.delete_flag, name, actor=operator(request))
        except UnknownFlag:
            return self.render(request, "missing.html", 404, what=f"flag {name!r}")
        return self.redirect(request, "flags", saved(commit))


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
