"""The admin panel served the way ``flagware admin`` serves it, for when the CLI cannot.

``uvicorn --factory tests.browser.panel:create`` reads the same environment as the CLI:
FLAGWARE_REDIS_URL, FLAGWARE_NAMESPACE, FLAGWARE_ADMIN_USER and FLAGWARE_ADMIN_PASSWORD.
Like the CLI, it never uses RedisStore's on-disk snapshot: it acts on what Redis holds.
"""

from __future__ import annotations

import os

from flagware.admin import BasicAuth, admin_app
from flagware.admin.guard import Guard
from flagware.stores.redis import RedisStore


def create() -> Guard:
    store = RedisStore.from_url(
        os.environ["FLAGWARE_REDIS_URL"],
        namespace=os.environ["FLAGWARE_NAMESPACE"],
        snapshot_path=False,
    )
    auth = BasicAuth(os.environ["FLAGWARE_ADMIN_USER"], os.environ["FLAGWARE_ADMIN_PASSWORD"])
    return admin_app(store, auth=auth)
