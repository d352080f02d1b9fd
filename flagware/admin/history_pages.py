"""The audit history: every change with its diff, and restoring an earlier version (refused
if the ruleset moved on while the operator was looking).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from flagware._presenting import ruleset_diff
from flagware.admin.forms import BadInput, whole_number
from flagware.admin.guard import operator
from flagware.admin.pages import Pages, saved
from flagware.errors import RulesetError, VersionConflict
from flagware.stores.audit import Change

__all__ = ["HistoryPages"]


class HistoryPages(Pages):
    """Handlers for /history and /history/{version}."""

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
        number = _path_version(request)
        if number is None:
            return self._no_such_version(request)
        changes = await self.history(None, 1000)
        by_version = {c.version: c for c in changes}
        change = by_version.get(number)
        if change is None:
            return self.render(
                request, "missing.html", 404, what=f"version {number} in the history"
            )
        before = by_version.get(change.previous_version)
        diff_problem = _diff_problem(change, before)
        return self.render(
            request,
            "change.html",
            change=change,
            before=before,
            diff=[]
            if diff_problem
            else ruleset_diff(
                before.document if before else None,
                change.document,
                old_label=f"version {change.previous_version}",
                new_label=f"version {change.version}",
            ),
            diff_problem=diff_problem,
            missing_before=before is None and change.previous_version > 0,
            live_diff=self._live_diff(change),
            problem=None,
        )

    def _live_diff(self, change: Change) -> list[tuple[str, list[str]]]:
        """What restoring ``change`` would do to the live rules (nothing if unreadable)."""
        if "document" in change.unreadable:
            return []
        return ruleset_diff(
            self.store.ruleset().to_dict(),
            change.document,
            old_label=f"live (version {self.store.version})",
            new_label=f"version {change.version}",
        )

    async def restore(self, request: Request) -> Response:
        fields = await self.write_form(request)
        if isinstance(fields, Response):
            return fields
        number = _path_version(request)
        if number is None:
            return self._no_such_version(request)
        expected = whole_number(fields.get("expected_version", ""), "the form's expected_version")
        changes = {c.version: c for c in await self.history(None, 1000)}
        change = changes.get(number)
        if change is None:
            return self.render(
                request, "missing.html", 404, what=f"version {number} in the history"
            )
        if "document" in change.unreadable:  # a placeholder {} would wipe every flag
            return self.render(
                request,
                "refused.html",
                422,
                heading="Not restored",
                problem=(
                    f"Version {number} cannot be restored: the rules recorded for it in the "
                    "history are unreadable. Nothing was written."
                ),
            )
        try:
            commit = await run_in_threadpool(
                lambda: self.store.save(
                    dict(change.document),
                    actor=operator(request),
                    expected_version=expected,
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
                diff_problem=None,
                live_diff=self._live_diff(change),
                problem=(
                    f"Not restored: the ruleset changed after you opened this page (it is now "
                    f"version {self.store.version}). Review the difference below and restore again."
                ),
            )
        except RulesetError as error:
            return self.render(request, "refused.html", 422, problem="; ".join(error.problems))
        return self.redirect(request, "history", saved(commit))

    def _no_such_version(self, request: Request) -> HTMLResponse:
        text = request.path_params["version"]
        shown = text if len(text) <= 20 else f"{text[:20]}..."
        return self.render(request, "missing.html", 404, what=f"version {shown} in the history")


def _diff_problem(change: Change, before: Change | None) -> str | None:
    """Why what ``change`` changed cannot be shown, if an unreadable part is in the way."""
    if "document" in change.unreadable:
        return f"The rules recorded for version {change.version} are unreadable."
    if "previous_version" in change.unreadable:
        return "Which version it replaced is unreadable in the history."
    if before is not None and "document" in before.unreadable:
        return f"The rules recorded for version {before.version}, before it, are unreadable."
    return None


def _path_version(request: Request) -> int | None:
    """The version in the path, read as strictly as every number the panel is sent; None
    (a 404) for anything else, e.g. ``²`` or 5,000 digits."""
    try:
        return whole_number(request.path_params["version"], "the version")
    except BadInput:
        return None
