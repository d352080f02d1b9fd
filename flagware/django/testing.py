"""``override_flag``: force a flag in a test, like django-waffle's helper of that name.

::

    from django.test import TestCase
    from flagware.django.testing import override_flag

    class CheckoutTests(TestCase):
        @override_flag("new_checkout", active=True)
        def test_new_checkout(self):
            self.assertContains(self.client.get("/checkout/"), "new checkout")

    async def test_async(async_client):
        with override_flag("checkout_button", variant="green"):
            ...

Inside the block (or the decorated function, sync or ``async``) every request through
:class:`~flagware.django.FlagwareMiddleware` gets the forced value, whoever the account
is and whatever the ruleset says (the kill switch too), and so do ``flagware.flags`` reads
outside a request. Blocks nest; each undoes only its own flag when it ends.

It works through context variables, so it reaches what runs in the test's context: the
test client (``Client`` and ``AsyncClient``) and sync views Django runs in a thread. It
does not reach a server running in another thread or process (``LiveServerTestCase``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from asgiref.sync import iscoroutinefunction

from flagware.context import flags_var
from flagware.django.middleware import forced_flags
from flagware.engine.flagset import FlagSet

__all__ = ["override_flag"]

F = TypeVar("F", bound=Callable[..., Any])


class override_flag:  # named like Django's override_settings and waffle's helper
    """Force flag ``name`` on (``active=True``), off (``active=False``) or on with a
    ``variant``, for requests and ``flagware.flags`` reads, in a block or a test."""

    def __init__(self, name: str, active: bool = True, *, variant: str | None = None) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"override_flag needs a flag name, got {name!r}")
        if variant is not None and not active:
            raise ValueError("a variant means the flag is on: drop active=False")
        self.name = name
        self.value: bool | str = variant if variant is not None else bool(active)
        self._tokens: list[tuple[Any, Any]] = []

    def __enter__(self) -> FlagSet:
        forced = {**forced_flags.get({}), self.name: self.value}
        forced_token = forced_flags.set(forced)
        current = flags_var.get(None)
        base = current if current is not None else _outside_a_request()
        flagset = base.with_overrides({self.name: self.value})
        self._tokens.append((forced_token, flags_var.set(flagset)))
        return flagset

    def __exit__(self, *exc: object) -> None:
        forced_token, flags_token = self._tokens.pop()
        flags_var.reset(flags_token)
        forced_flags.reset(forced_token)

    def __call__(self, func: F) -> F:
        """As a decorator: a fresh block around each call (safe for concurrent tests)."""
        name, value = self.name, self.value
        active, variant = (True, value) if isinstance(value, str) else (value, None)

        if iscoroutinefunction(func):

            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with override_flag(name, active, variant=variant):
                    return await func(*args, **kwargs)

            return run_async  # type: ignore[return-value]

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            with override_flag(name, active, variant=variant):
                return func(*args, **kwargs)

        return run  # type: ignore[return-value]


def _outside_a_request() -> FlagSet:
    """What ``flagware.flags`` reads in a test outside any request: the configured store's
    answer for an anonymous request, or (no ``FLAGWARE`` setting) every flag off."""
    from django.conf import settings  # type: ignore[import-untyped, unused-ignore]  # noqa: PLC0415

    if not settings.configured or getattr(settings, "FLAGWARE", None) is None:
        return FlagSet.from_mapping({}, unknown="hidden")
    from flagware.django.conf import load_config, store_for  # noqa: PLC0415

    return store_for(load_config()).engine().evaluate_all(None)
