"""Django integration: a middleware, a template context processor and a test helper.

::

    INSTALLED_APPS += ["flagware.django"]
    MIDDLEWARE += ["flagware.django.FlagwareMiddleware"]  # after AuthenticationMiddleware
    FLAGWARE = {"REDIS_URL": "redis://localhost:6379/0", "NAMESPACE": "shop"}

Views read ``request.flags`` or ``flagware.flags``; templates read ``flags`` with
``flagware.django.context_processors.flags``; tests force a flag with
:func:`flagware.django.testing.override_flag`. See docs/django.md.
"""

from __future__ import annotations

try:
    import django  # type: ignore[import-untyped, unused-ignore]  # noqa: F401 - the probe
except ImportError:  # pragma: no cover - depends on the installed extras
    raise ImportError("flagware.django needs Django: pip install 'flagware[django]'") from None

from flagware.django.middleware import FlagwareMiddleware

__all__ = ["FlagwareMiddleware"]
