"""The Django app (``INSTALLED_APPS += ["flagware.django"]``): registers system checks.

``manage.py check`` (and ``runserver``, ``migrate``) then report a bad ``FLAGWARE``
setting, or the middleware placed before ``AuthenticationMiddleware``, before any request.
"""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig  # type: ignore[import-untyped, unused-ignore]
from django.conf import settings  # type: ignore[import-untyped, unused-ignore]
from django.core import checks  # type: ignore[import-untyped, unused-ignore]
from django.core.exceptions import ImproperlyConfigured  # type: ignore[import-untyped, unused-ignore]

__all__ = ["FlagwareConfig", "check_settings"]

MIDDLEWARE = "flagware.django.FlagwareMiddleware"
AUTH_MIDDLEWARE = "django.contrib.auth.middleware.AuthenticationMiddleware"


class FlagwareConfig(AppConfig):  # type: ignore[misc, unused-ignore]
    """flagware's app: no models, no migrations; only the checks."""

    name = "flagware.django"
    label = "flagware"
    verbose_name = "flagware feature flags"

    def ready(self) -> None:
        checks.register(check_settings)


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """flagware.E001: the ``FLAGWARE`` setting is unusable; flagware.W001: the middleware
    runs before ``AuthenticationMiddleware``, so ``request.user`` is not there yet."""
    from flagware.django.conf import load_config  # noqa: PLC0415 - at check time

    problems: list[Any] = []
    try:
        load_config()
    except ImproperlyConfigured as exc:
        problems.append(checks.Error(str(exc), id="flagware.E001"))
    middleware = list(getattr(settings, "MIDDLEWARE", None) or ())
    if (
        MIDDLEWARE in middleware
        and AUTH_MIDDLEWARE in middleware
        and middleware.index(MIDDLEWARE) < middleware.index(AUTH_MIDDLEWARE)
    ):
        problems.append(
            checks.Warning(
                f"{MIDDLEWARE} comes before {AUTH_MIDDLEWARE}: every request looks anonymous",
                hint=f"Move {MIDDLEWARE} after {AUTH_MIDDLEWARE} in MIDDLEWARE.",
                id="flagware.W001",
            )
        )
    return problems
