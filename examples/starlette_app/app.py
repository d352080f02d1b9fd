"""A Starlette app behind flagware's ASGI middleware, with the admin panel at /flagware/.

Handlers, a ``StreamingResponse`` and a ``BackgroundTask`` all read ``flagware.flags``.
FastAPI apps add the middleware the same way and can also take the flags as a
dependency: ``flags: FlagSet = Depends(flagware.current_flags)``.
"""

from __future__ import annotations

import html
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    StreamingResponse,
)
from starlette.routing import Mount, Route

import flagware
from examples import demo
from flagware.admin import admin_app
from flagware.asgi import FlagwareMiddleware

store = demo.store_from_env()
# What the last background task saw (shown at /background/last), per account.
background_seen: dict[str, dict[str, bool]] = {}


async def index(request: Request) -> HTMLResponse:
    flags = flagware.current_flags()
    who = flags.account.id if flags.account else "anonymous visitor"
    feature = (
        "<p><strong>New checkout</strong>: the unfinished feature.</p>"
        if flags.is_enabled("new_checkout")
        else "<p>Classic checkout.</p>"
    )
    options = "".join(
        f'<option value="{html.escape(a)}">{html.escape(a)}</option>' for a in demo.ACCOUNTS
    )
    rows = "".join(
        f"<tr><td>{html.escape(n)}</td><td>{'on' if on else 'off'}</td>"
        f"<td>{html.escape(flags.reason(n))}</td></tr>"
        for n, on in flags.as_dict().items()
    )
    return HTMLResponse(
        f"<!doctype html><title>flagware · Starlette example</title>"
        f"<h1>Hello {html.escape(who)}</h1>"
        f'<form method="post" action="/login"><select name="account">'
        f'<option value="">(nobody)</option>{options}</select><button>Log in</button></form>'
        f"{feature}<table>{rows}</table>"
    )


async def login(request: Request) -> RedirectResponse:
    form = await request.form()
    account_id = str(form.get("account", ""))
    response = RedirectResponse("/", status_code=303)
    if account_id in demo.ACCOUNTS:
        response.set_cookie(demo.SESSION_COOKIE, demo.login_cookie(account_id), httponly=True)
    else:
        response.delete_cookie(demo.SESSION_COOKIE)
    return response


async def ping(request: Request) -> PlainTextResponse:
    """A plain endpoint that reads no flags (health checks; the overhead benchmark)."""
    return PlainTextResponse("pong")


async def api_flags(request: Request) -> JSONResponse:
    return JSONResponse(demo.flags_payload(flagware.current_flags()))


async def stream(request: Request) -> StreamingResponse:
    async def chunks() -> AsyncIterator[str]:
        for i in range(5):
            yield f"chunk {i}: new_checkout={flagware.flags.is_enabled('new_checkout')}\n"

    return StreamingResponse(chunks(), media_type="text/plain")


def remember_flags() -> None:
    """Runs after the response was sent, still with the request's flags."""
    flags = flagware.current_flags()
    background_seen[flags.account.id if flags.account else "-"] = flags.as_dict()


async def background(request: Request) -> JSONResponse:
    return JSONResponse({"queued": True}, background=BackgroundTask(remember_flags))


async def background_last(request: Request) -> JSONResponse:
    return JSONResponse(background_seen)


routes = [
    Route("/", index),
    Route("/login", login, methods=["POST"]),
    Route("/ping", ping),
    Route("/api/flags", api_flags),
    Route("/stream", stream),
    Route("/background", background, methods=["POST"]),
    Route("/background/last", background_last),
    # The admin panel, behind its own login; it changes the same store the app reads.
    Mount("/flagware", admin_app(store, auth=demo.admin_auth(), lookup_account=demo.ACCOUNTS.get)),
]
app = FlagwareMiddleware(
    Starlette(routes=routes),
    store=store,
    resolve_account=demo.resolve_account,
    token_secret=demo.SECRET,
    echo_overrides=True,
)
