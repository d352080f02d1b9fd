"""A Starlette app behind flagware's ASGI middleware, with the admin panel at /flagware/.

Handlers, a ``StreamingResponse`` and a ``BackgroundTask`` all read ``flagware.flags``.
FastAPI apps add the middleware the same way and take the flags as a dependency
(:mod:`flagware.fastapi`; see ``examples/fastapi_app``). The settings (demo
login on or off, its secret, the override-token secret) come from the environment: see
:mod:`examples.demo`.
"""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from typing import Any

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
from starlette.routing import BaseRoute, Mount, Route

import flagware
from examples import demo
from flagware.admin import BasicAuth, admin_app
from flagware.asgi import FlagwareMiddleware

# What the last background task saw (shown at /background/last), per account.
background_seen: dict[str, dict[str, bool]] = {}


def _login_form() -> str:
    options = "".join(
        f'<option value="{html.escape(a)}">{html.escape(a)}</option>' for a in demo.ACCOUNTS
    )
    return (
        '<p role="alert" style="padding:.6rem 1rem;border:2px solid #b00020;'
        f'background:#fde8ea;color:#7a0016;font-weight:600">{html.escape(demo.LOGIN_BANNER)}</p>'
        '<form method="post" action="/login"><select name="account">'
        f'<option value="">(nobody)</option>{options}</select><button>Log in</button></form>'
    )


def _page(login: bool) -> Any:
    async def index(request: Request) -> HTMLResponse:
        flags = flagware.current_flags()
        who = flags.account.id if flags.account else "anonymous visitor"
        feature = (
            "<p><strong>New checkout</strong>: the unfinished feature.</p>"
            if flags.is_enabled("new_checkout")
            else "<p>Classic checkout.</p>"
        )
        rows = "".join(
            f"<tr><td>{html.escape(n)}</td><td>{'on' if on else 'off'}</td>"
            f"<td>{html.escape(flags.reason(n))}</td></tr>"
            for n, on in flags.as_dict().items()
        )
        who_line = (
            _login_form()
            if login
            else "<p>The demo login is off: accounts come from the X-Account-Id header.</p>"
        )
        return HTMLResponse(
            f"<!doctype html><title>flagware · Starlette example</title>"
            f"<h1>Hello {html.escape(who)}</h1>{who_line}{feature}<table>{rows}</table>"
        )

    return index


def _login_route(login: demo.DemoLogin) -> Route:
    async def log_in(request: Request) -> RedirectResponse:
        form = await request.form()
        account_id = str(form.get("account", ""))
        response = RedirectResponse("/", status_code=303)
        if account_id in demo.ACCOUNTS:
            response.set_cookie(
                demo.SESSION_COOKIE, login.cookie(account_id), httponly=True, samesite="lax"
            )
        else:
            response.delete_cookie(demo.SESSION_COOKIE)
        return response

    return Route("/login", log_in, methods=["POST"])


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


def create_app(
    settings: demo.Settings, store: flagware.Store, admin_auth: BasicAuth
) -> FlagwareMiddleware:
    """The example app on ``store``; with ``settings.login`` None it has no login at all."""
    routes: list[BaseRoute] = [Route("/", _page(settings.login is not None))]
    if settings.login is not None:
        routes.append(_login_route(settings.login))
    routes += [
        Route("/ping", ping),
        Route("/api/flags", api_flags),
        Route("/stream", stream),
        Route("/background", background, methods=["POST"]),
        Route("/background/last", background_last),
        # The admin panel, behind its own login; it changes the same store the app reads.
        Mount("/flagware", admin_app(store, auth=admin_auth, lookup_account=demo.ACCOUNTS.get)),
    ]
    return FlagwareMiddleware(
        Starlette(routes=routes),
        store=store,
        resolve_account=settings.resolve_account,
        token_secret=settings.token_secret,  # never the login's secret
        echo_overrides=True,
    )


# What `python -m examples.starlette_app` and `uvicorn examples.starlette_app.app:app` serve;
# each worker process imports this itself, and all of them find the same login secret.
store = demo.store_from_env()
app = create_app(demo.settings_from_env(), store, demo.admin_auth())
