"""A minimal Starlette app reading flags per request (the middleware version comes with it).

Run it: ``python examples/starlette_app/app.py`` then
``curl -H 'X-Account-Id: acct-42' http://127.0.0.1:8000/api/flags``.
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import flagware

RULES = os.environ.get("FLAGWARE_RULES", str(Path(__file__).parent.parent / "rules.yaml"))

DEMO_ACCOUNTS = {  # id: (account number, country, plan)
    "acct-42": (4211, "NL", "pro"),
    "acct-7": (7003, "US", "free"),
    "testuser1": (1, "NL", "free"),
}
ACCOUNTS = {
    account_id: flagware.Account(account_id, number=n, attributes={"country": c, "plan": p})
    for account_id, (n, c, p) in DEMO_ACCOUNTS.items()
}

store = flagware.FileStore(RULES)


async def api_flags(request: Request) -> JSONResponse:
    account = ACCOUNTS.get(request.headers.get("x-account-id", ""))
    flags = store.engine().evaluate_all(account)
    return JSONResponse(
        {
            "account": account.id if account else None,
            "flags": flags.as_dict(),
            "variants": flags.variants(),
        }
    )


app = Starlette(routes=[Route("/api/flags", api_flags)])

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
