"""An OpenFeature provider over a flagware store (extra ``openfeature``).

::

    from openfeature import api
    from flagware.openfeature import FlagwareProvider

    api.set_provider(FlagwareProvider(store))
    client = api.get_client()
    client.get_boolean_value("beta", False, EvaluationContext("acct-1", {"plan": "pro"}))

Flagware flags are on or off, with an optional variant name: booleans read ``enabled``,
strings the variant, numbers a variant named as one (``_10``, ``_0.5``), objects
``{"enabled": ..., "variant": ...}``. Inside a request the middleware already evaluated,
the provider answers from that request's FlagSet, so its test-user overrides apply.
Resolution does no I/O and never raises: a problem becomes an OpenFeature error code and
the caller's default. See docs/openfeature.md.

``provider`` holds the provider; ``_mapping`` how contexts, reasons and types translate.
"""

from __future__ import annotations

try:
    import openfeature  # noqa: F401 - only to say what is missing
except ImportError:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "flagware.openfeature needs the OpenFeature SDK: pip install 'flagware[openfeature]'"
    ) from None

from flagware.openfeature._mapping import account_from_context
from flagware.openfeature.provider import FlagwareProvider

__all__ = ["FlagwareProvider", "account_from_context"]
