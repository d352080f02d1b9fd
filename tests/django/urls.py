"""The tests' views (``ROOT_URLCONF``): each reports what flags it sees, and how."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.template import engines
from django.urls import path

import flagware

TEMPLATE = engines["django"].from_string(
    "{% if flags.new_checkout %}new{% else %}old{% endif %} checkout, "
    "button {{ flag_variants.checkout_button|default:'none' }}, "
    "search {% if flags.old_search %}old{% else %}new{% endif %}"
)


def seen(request: Any) -> dict[str, Any]:
    account = flagware.flags.account
    return {
        "account": account.id if account else None,
        "flags": flagware.flags.as_dict(),
        "variants": flagware.flags.variants(),
        "same": request.flags is flagware.current_flags(),
    }


def flags_view(request: Any) -> JsonResponse:
    return JsonResponse(seen(request))


async def async_flags_view(request: Any) -> JsonResponse:
    return JsonResponse({**seen(request), "async": True})


def template_view(request: Any) -> HttpResponse:
    return HttpResponse(TEMPLATE.render(request=request))


def chunk() -> str:
    if not flagware.flags.active:
        return "no-flags\n"
    return f"new_checkout={flagware.flags.is_enabled('new_checkout')}\n"


def stream_view(request: Any) -> StreamingHttpResponse:
    def body() -> Iterator[str]:
        for _ in range(3):
            yield chunk()

    return StreamingHttpResponse(body(), content_type="text/plain")


def async_stream_view(request: Any) -> StreamingHttpResponse:
    async def body() -> AsyncIterator[str]:
        for _ in range(3):
            yield chunk()

    return StreamingHttpResponse(body(), content_type="text/plain")


def cached_view(request: Any) -> HttpResponse:
    response = HttpResponse("cacheable")
    response["Cache-Control"] = "public, max-age=600"
    response["Vary"] = "Accept-Encoding"
    return response


urlpatterns = [
    path("flags", flags_view),
    path("async-flags", async_flags_view),
    path("template", template_view),
    path("stream", stream_view),
    path("async-stream", async_stream_view),
    path("cached", cached_view),
]
