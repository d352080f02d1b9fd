"""Template context processor: ``{% if flags.new_checkout %}`` in Django templates.

Add ``"flagware.django.context_processors.flags"`` to the ``context_processors`` of your
``DjangoTemplates`` engine. Django resolves ``flags.new_checkout`` as
``flags["new_checkout"]`` first, which a FlagSet answers with ``is_enabled`` (unknown
names follow the ruleset's ``unknown`` policy). Templates cannot call ``variant(name)``,
so the variants come as ``flag_variants`` (``{{ flag_variants.checkout_button }}``),
computed only if a template reads them.
"""

from __future__ import annotations

from typing import Any

from django.utils.functional import SimpleLazyObject  # type: ignore[import-untyped, unused-ignore]

from flagware.context import flags_var
from flagware.engine.flagset import FlagSet

__all__ = ["flags"]

# What a template rendered outside any request (an e-mail in a background job) reads.
_NONE = FlagSet.from_mapping({}, unknown="hidden")


def flags(request: Any) -> dict[str, Any]:
    """``flags``: the request's FlagSet (``request.flags``, else the current one, else
    every flag off); ``flag_variants``: its ``{name: variant}``, lazily."""
    current = getattr(request, "flags", None)
    if not isinstance(current, FlagSet):
        current = flags_var.get(_NONE)
    return {"flags": current, "flag_variants": SimpleLazyObject(current.variants)}
