"""Django, configured for the tests in this directory only.

``settings.configure()`` runs when pytest collects this directory (Django settings are
process-wide, and the whole suite shares one process), with nothing that reaches other
tests: ``LOGGING_CONFIG=None`` leaves logging alone (Django's dictConfig would close the
handlers pytest installed), and the database is an in-memory SQLite created on first use
by a session fixture. Each test changes what it needs with ``override_settings``, and a
new ``Client`` loads the middleware afresh with those settings.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import django
import pytest
from django.conf import settings

BASE_FLAGWARE: dict[str, Any] = {
    "STORE": "tests.django.shop.make_store",
    "RESOLVE_ACCOUNT": "tests.django.shop.header_account",
}

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="flagware-tests-only",
        ALLOWED_HOSTS=["testserver"],
        ROOT_URLCONF="tests.django.urls",
        USE_TZ=True,
        LOGGING_CONFIG=None,
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "flagware.django"],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "flagware.django.FlagwareMiddleware",
        ],
        SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies",
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],  # fast users
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "OPTIONS": {"context_processors": ["flagware.django.context_processors.flags"]},
            }
        ],
        FLAGWARE=BASE_FLAGWARE,
    )
    django.setup()


@pytest.fixture(scope="session")
def django_db() -> Iterator[None]:
    """The test database (auth and contenttypes tables), created once for the session."""
    from django.test.utils import setup_databases, teardown_databases

    old = setup_databases(verbosity=0, interactive=False)
    yield
    teardown_databases(old, verbosity=0)


@pytest.fixture(scope="session", autouse=True)
def django_test_environment() -> Iterator[None]:
    """Django's test environment (locmem e-mail, template instrumentation), undone after."""
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment()
    yield
    teardown_test_environment()
