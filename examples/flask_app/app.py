"""A Flask app with flagware's Flask extension (:class:`flagware.flask.Flagware`).

Every view, template and streamed chunk reads ``flagware.flags``; templates get ``flags``
and ``flagware_bootstrap()``, and ``/flagware/flags.json`` tells the page's JavaScript the
``client: true`` flags. A test user can flip
flags for their own requests with ``X-Flagware-Override: new_checkout=off``. The settings
(demo login on or off, its secret, the override-token secret) come from the environment:
see :mod:`examples.demo`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, redirect, render_template, request
from werkzeug.wrappers import Response as WerkzeugResponse

import flagware
from examples import demo
from flagware.flask import Flagware


def create_app(settings: demo.Settings, store: flagware.Store) -> Flask:
    """The example app on ``store``; with ``settings.login`` None it has no login at all."""
    app = Flask(__name__)
    Flagware(
        app,
        store=store,
        resolve_account=lambda: settings.resolve_account(request),
        token_secret=settings.token_secret,  # never the login's secret
        echo_overrides=True,
        client_path="/flagware/flags.json",
    )
    login = settings.login

    @app.get("/")
    def index() -> str:
        return render_template(
            "index.html",
            accounts=demo.DEMO_ACCOUNTS,
            login=login is not None,
            banner=demo.LOGIN_BANNER,
        )

    if login is not None:

        @app.post("/login")
        def log_in() -> WerkzeugResponse:
            response = redirect("/")
            account_id = request.form.get("account", "")
            if account_id in demo.ACCOUNTS:
                response.set_cookie(
                    demo.SESSION_COOKIE, login.cookie(account_id), httponly=True, samesite="Lax"
                )
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

    return app


# What `python -m examples.flask_app` and `gunicorn examples.flask_app.app:app` serve; each
# gunicorn worker imports this itself, and all of them find the same login secret.
store = demo.store_from_env()
app = create_app(demo.settings_from_env(), store)
