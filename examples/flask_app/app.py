"""A Flask app behind flagware's WSGI middleware.

Every view, template and streamed chunk reads ``flagware.flags``; a test user can flip
flags for their own requests with ``X-Flagware-Override: new_checkout=off``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, redirect, render_template, request

import flagware
from examples import demo
from flagware.wsgi import FlagwareMiddleware

store = demo.store_from_env()
app = Flask(__name__)
app.wsgi_app = FlagwareMiddleware(  # type: ignore[method-assign]
    app.wsgi_app,
    store=store,
    resolve_account=demo.resolve_account,
    token_secret=demo.SECRET,
    echo_overrides=True,
)


@app.context_processor
def inject_flags() -> dict[str, Any]:
    return {"flags": flagware.flags}


@app.get("/")
def index() -> str:
    return render_template("index.html", accounts=demo.DEMO_ACCOUNTS)


@app.post("/login")
def login() -> Response:
    response = redirect("/")
    account_id = request.form.get("account", "")
    if account_id in demo.ACCOUNTS:
        response.set_cookie(demo.SESSION_COOKIE, demo.login_cookie(account_id), httponly=True)
    else:
        response.delete_cookie(demo.SESSION_COOKIE)
    return response


@app.get("/ping")
def ping() -> str:
    """A plain endpoint that reads no flags (health checks; the overhead benchmark)."""
    return "pong"


@app.get("/api/flags")
def api_flags() -> dict[str, Any]:
    return demo.flags_payload(flagware.current_flags())


@app.get("/stream")
def stream() -> Response:
    """A streamed body: each chunk is produced after the view returned, flags still current."""

    def chunks() -> Iterator[str]:
        for i in range(5):
            yield f"chunk {i}: new_checkout={flagware.flags.is_enabled('new_checkout')}\n"

    return Response(chunks(), mimetype="text/plain")
