"""The example's views: a page, a JSON API (an async view), a streamed body.

Each reads the request's flags its own way: the template through the context processor
(``{% if flags.new_checkout %}``), ``api_flags`` through ``request.flags``, the stream
through ``flagware.flags`` while its chunks are produced, after the view returned.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render

import flagware
from examples import demo


async def resolve_account(request: Any) -> flagware.Account | None:
    """``FLAGWARE["RESOLVE_ACCOUNT"]``: the demo account the ``X-Account-Id`` header
    names. ``async``, so under ASGI it runs in the event loop (no thread hop)."""
    return demo.ACCOUNTS.get(request.headers.get("X-Account-Id") or "")


def index(request: Any) -> HttpResponse:
    flags: flagware.FlagSet = request.flags
    rows = [
        (name, on, flags.variant(name) or "", flags.reason(name))
        for name, on in flags.as_dict().items()
    ]
    # In a Django template ``flags.<name>`` is a flag, so the account comes separately.
    context = {"rows": rows, "account": flags.account, "accounts": demo.DEMO_ACCOUNTS}
    return render(request, "index.html", context)


def ping(request: Any) -> HttpResponse:
    """A plain endpoint that reads no flags (health checks)."""
    return HttpResponse("pong", content_type="text/plain")


async def api_flags(request: Any) -> JsonResponse:
    return JsonResponse(demo.flags_payload(request.flags))


def stream(request: Any) -> StreamingHttpResponse:
    """Chunks produced while the body is sent: an async iterator, as ASGI serves best."""

    async def chunks() -> AsyncIterator[str]:
        for i in range(3):
            yield f"chunk {i}: new_checkout={flagware.flags.is_enabled('new_checkout')}\n"

    return StreamingHttpResponse(chunks(), content_type="text/plain")
