"""Settings of the Django example: the smallest project flagware.django needs.

The store: ``FLAGWARE_REDIS_URL`` (namespace ``FLAGWARE_NAMESPACE``, default ``demo``,
seeded with the bundled ruleset if Redis has none), else the rules file
``FLAGWARE_RULES``, else the bundled ``examples/rules.yaml`` (edit it while the server
runs). ``FLAGWARE_TOKEN_SECRET`` turns on signed override tokens.

Accounts come from the ``X-Account-Id`` header, as an authenticating gateway would set
it (see :mod:`examples.demo`): deploy this only behind one that overwrites the client's.
A real project has ``django.contrib.auth`` and puts the middleware after
``AuthenticationMiddleware``; then the default ``RESOLVE_ACCOUNT`` maps ``request.user``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from examples import demo

BASE_DIR = Path(__file__).resolve().parent

# A demo: a fresh key per start (nothing here signs anything that must outlive it).
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(32)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver"]
ROOT_URLCONF = "examples.django_app.urls"
USE_TZ = True

INSTALLED_APPS = ["flagware.django"]
MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
    # After AuthenticationMiddleware, in a project that has it.
    "flagware.django.FlagwareMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "OPTIONS": {"context_processors": ["flagware.django.context_processors.flags"]},
    }
]


def _flagware() -> dict[str, Any]:
    token_secret = os.environ.get(demo.TOKEN_SECRET_ENV) or None
    if token_secret == demo.PUBLISHED_SECRET:
        raise SystemExit(f"{demo.TOKEN_SECRET_ENV} is a published example value; choose your own")
    common: dict[str, Any] = {
        "RESOLVE_ACCOUNT": "examples.django_app.views.resolve_account",
        "TOKEN_SECRET": token_secret,
        "ECHO_OVERRIDES": True,
    }
    redis_url = os.environ.get("FLAGWARE_REDIS_URL")
    if redis_url:
        return {
            "REDIS_URL": redis_url,
            "NAMESPACE": os.environ.get("FLAGWARE_NAMESPACE", "demo"),
            "REDIS_OPTIONS": {"bootstrap": demo.BUNDLED_RULES},
            **common,
        }
    return {"RULES": os.environ.get("FLAGWARE_RULES") or demo.BUNDLED_RULES, **common}


FLAGWARE = _flagware()
