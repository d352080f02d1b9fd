"""A small Flask app behind flagware with a RedisStore, for the outage tests' gunicorn.

gunicorn imports it by string (``tests.stores.redis_app:app``) from the repository root.
The store is built on import, from the environment:

- ``FLAGWARE_TEST_REDIS_URL``, ``FLAGWARE_TEST_NAMESPACE``: where the ruleset lives;
- ``FLAGWARE_TEST_SNAPSHOT``: the snapshot file (shared by the workers: the store writes
  it atomically, so a worker starting meanwhile reads a whole one);
- ``FLAGWARE_TEST_POLL``: the store's poll interval in seconds.

Without ``--preload`` each worker imports this module after the fork and builds a store
of its own; with ``--preload`` the master builds one and the workers inherit it.

``GET /flags`` answers the flags of the account in ``X-Account-Id`` (default ``acct-1``),
the ``probe`` flag (absent from the ruleset: it follows the ``unknown`` policy), the
worker's pid and the store's version, source and connection state; ``?sleep=s`` holds the
(sync) worker a moment, so that concurrent requests spread over the workers.
"""

from __future__ import annotations

import os
import time
from typing import Any

from flask import Flask, jsonify, request

import flagware
from flagware import Account, RedisStore
from flagware.wsgi import FlagwareMiddleware

ACCOUNT_HEADER = "X-Account-Id"
PROBE = "probe_not_in_ruleset"

store = RedisStore.from_url(
    os.environ["FLAGWARE_TEST_REDIS_URL"],
    namespace=os.environ["FLAGWARE_TEST_NAMESPACE"],
    snapshot_path=os.environ["FLAGWARE_TEST_SNAPSHOT"],
    poll_interval=float(os.environ.get("FLAGWARE_TEST_POLL", "1.0")),
)

app = Flask(__name__)


@app.get("/health")
def health() -> Any:
    return "ok"


@app.get("/flags")
def flags() -> Any:
    pause = float(request.args.get("sleep", "0"))
    if pause:
        time.sleep(pause)
    state = store.health()
    return jsonify(
        pid=os.getpid(),
        flags=flagware.flags.as_dict(),
        probe=flagware.flags.is_enabled(PROBE),
        version=state.version,
        source=state.source,
        connected=state.connected,
    )


def _resolve(req: Any) -> Account:
    return Account(id=req.headers.get(ACCOUNT_HEADER) or "acct-1")


app.wsgi_app = FlagwareMiddleware(  # type: ignore[method-assign]
    app.wsgi_app, store=store, resolve_account=_resolve
)
