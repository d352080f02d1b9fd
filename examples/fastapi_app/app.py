"""A FastAPI app behind flagware's ASGI middleware, reading flags through dependencies.

``GET /api/flags`` answers as in the other examples; ``/checkout`` takes the flags as a
parameter (``flags: Flags``); ``/beta`` exists only for accounts with ``new_checkout``
on (``require_flag``); ``/flagware/flags.json`` tells a browser the ``client: true``
flags. Accounts come from the ``X-Account-Id`` header (see :mod:`examples.demo`); test
users override with ``X-Flagware-Override: new_checkout=off``.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI

import flagware
from examples import demo
from flagware.asgi import FlagwareMiddleware
from flagware.fastapi import Flags, require_flag


def create_app(settings: demo.Settings, store: flagware.Store) -> FastAPI:
    """The example app on ``store``."""
    app = FastAPI(title="flagware FastAPI example")
    app.add_middleware(
        FlagwareMiddleware,
        store=store,
        resolve_account=settings.resolve_account,
        token_secret=settings.token_secret,
        echo_overrides=True,
        client_path="/flagware/flags.json",
    )

    @app.get("/api/flags")
    async def api_flags(flags: Flags) -> dict[str, Any]:
        return demo.flags_payload(flags)

    @app.get("/checkout")
    async def checkout(flags: Flags) -> dict[str, Any]:
        return {
            "checkout": "new" if flags.is_enabled("new_checkout") else "classic",
            "button": flags.variant("checkout_button"),
        }

    @app.get("/beta", dependencies=[Depends(require_flag("new_checkout"))])
    async def beta() -> dict[str, str]:
        return {"beta": "welcome to the new checkout's beta page"}

    return app


# What `python -m examples.fastapi_app` and `uvicorn examples.fastapi_app.app:app` serve.
app = create_app(demo.settings_from_env(), demo.store_from_env())
