"""The segments page: the audiences flags share, each edited as its JSON document."""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from flagware._presenting import document_text, strategy_summary
from flagware.admin.guard import operator
from flagware.admin.pages import Pages, saved
from flagware.errors import RulesetError, UnknownSegment
from flagware.ruleset.dependencies import segment_users
from flagware.ruleset.documents import FLAG_NAME

__all__ = ["SegmentPages"]

NEW_SEGMENT = '{\n  "strategies": [\n    {"type": "accounts", "ids": ["acct-1"]}\n  ]\n}\n'


class SegmentPages(Pages):
    """Handlers for /segments."""

    def _segments_page(self, request: Request, status: int = 200, **form: Any) -> HTMLResponse:
        ruleset = self.store.ruleset()
        document = ruleset._shared_document()
        rows = [
            {
                "name": name,
                "description": segment.description,
                "audience": "; ".join(strategy_summary(s) for s in segment.strategies),
                "used_by": segment_users(document, name),
                "document": document_text(segment.to_dict()),
            }
            for name, segment in ruleset.segments.items()
        ]
        context = {"name": "", "document": NEW_SEGMENT, "problems": [], **form}
        return self.render(
            request,
            "segments.html",
            status,
            segments=rows,
            name_pattern=FLAG_NAME,
            saved=request.query_params.get("saved"),
            form=context,
        )

    async def segments(self, request: Request) -> HTMLResponse:
        return self._segments_page(request)

    async def save_segment(self, request: Request) -> Response:
        fields = await self.write_form(request)
        if isinstance(fields, Response):
            return fields
        name = str(fields.get("name", "")).strip()
        text = str(fields.get("document", ""))
        form = {"name": name, "document": text}
        try:
            body = json.loads(text)
        except ValueError as exc:
            return self._segments_page(request, 422, **form, problems=[f"not JSON: {exc}"])
        if not name or not isinstance(body, dict):
            problem = "Give the segment a name and a JSON object with `strategies`."
            return self._segments_page(request, 422, **form, problems=[problem])
        try:
            commit = await run_in_threadpool(
                self.store.set_segment, name, body, actor=operator(request)
            )
        except RulesetError as error:
            return self._segments_page(request, 422, **form, problems=list(error.problems))
        return self.redirect(request, "segments", saved(commit))

    async def delete_segment(self, request: Request) -> Response:
        fields = await self.write_form(request)
        if isinstance(fields, Response):
            return fields
        name = str(fields.get("name", ""))
        try:
            commit = await run_in_threadpool(
                self.store.delete_segment, name, actor=operator(request)
            )
        except UnknownSegment:
            return self._segments_page(request, 404, problems=[f"No segment named {name!r}."])
        except RulesetError as error:
            return self._segments_page(request, 422, problems=list(error.problems))
        return self.redirect(request, "segments", saved(commit))
