"""The Django middleware: every request evaluated once, its flags current for the view.

``MIDDLEWARE = [..., "django.contrib.auth.middleware.AuthenticationMiddleware",
"flagware.django.FlagwareMiddleware", ...]``, configured by the ``FLAGWARE`` setting
(:mod:`flagware.django.conf`). It is sync and async capable: Django runs it as a
coroutine under ASGI (no thread hop of its own) and as a plain call under WSGI.

The flags are set in the context variable around the rest of the chain and reset after
it, so views, templates and ``TemplateResponse`` rendering see them. A streamed body is
iterated by the server *after* the middleware returned (WSGI: by the server's loop; ASGI:
by Django's handler, which consumes a sync iterator in a worker thread), so the
middleware wraps ``response.streaming_content`` to make the flags current again around
each chunk. ``FileResponse`` bodies are left alone (reading a file needs no flags, and
WSGI servers may send it with ``wsgi.file_wrapper``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync, iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import FileResponse  # type: ignore[import-untyped, unused-ignore]

from flagware._request import RequestEvaluator, merge_headers
from flagware.account import Account
from flagware.context import flags_var
from flagware.django.conf import account_for_user, load_config, store_for

if TYPE_CHECKING:
    from collections.abc import Mapping

    from flagware._request import Outcome
    from flagware.engine.flagset import FlagSet

__all__ = ["FlagwareMiddleware", "forced_flags"]

logger = logging.getLogger("flagware")

forced_flags: ContextVar[Mapping[str, bool | str]] = ContextVar("flagware.django.forced")
"""Flags forced by :func:`flagware.django.testing.override_flag` (never set otherwise)."""

# The account a TEST_USER_GROUP check approved, for the request being evaluated now. The
# check may query the database, which RequestEvaluator's is_test_user must not (it runs in
# the event loop under ASGI): it is made before, awaited where need be, and handed over here.
_approved: ContextVar[str | None] = ContextVar("flagware.django.approved", default=None)


class FlagwareMiddleware:
    """Evaluates each request's flags and makes them current: ``request.flags``,
    ``flagware.flags`` and the ``flags`` template variable (with the context processor).

    Behaviour:

    - The account comes from ``FLAGWARE["RESOLVE_ACCOUNT"]`` (``(request) -> Account |
      None``, sync or ``async``; a sync one runs in Django's thread under ASGI, as sync
      views do) or, by default, from ``request.user`` (``await request.auser()`` under
      ASGI). If it raises, the error is logged and the request continues as anonymous.
    - The override header (``X-Flagware-Override``, or ``FLAGWARE["OVERRIDE_HEADER"]``) is
      honoured for test users only: the ruleset's ``test_users``, ``FLAGWARE["TEST_USERS"]``
      (account ids), and logged-in members of the Django group ``TEST_USER_GROUP`` (one
      query per request of an authenticated user). Base test users on who authenticated,
      never on anything the client sent. With ``TOKEN_SECRET``, a signed token in the
      ``flagware_override`` cookie grants the overrides it carries to its account.
    - An overridden response gets ``Cache-Control: private, no-store`` and ``Vary``.
    - Nothing it does turns a request into an error: evaluation failing gives every flag
      off (logged). A bad ``FLAGWARE`` setting raises ImproperlyConfigured when Django
      loads the middleware, at start-up.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Any) -> None:
        config = load_config()
        self.get_response = get_response
        self.config = config
        self.evaluator = RequestEvaluator(
            store_for(config), is_test_user=self._is_test_user, token_secret=config.token_secret
        )
        self._meta_key = "HTTP_" + config.override_header.upper().replace("-", "_")
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)

    def __call__(self, request: Any) -> Any:
        if self._async:
            return self.__acall__(request)
        account = self._resolve(request)
        approved = account is not None and self._in_group(request, account)
        outcome, flags = self._evaluate(request, account, approved)
        reset = flags_var.set(flags)
        try:
            response = self.get_response(request)
        finally:
            flags_var.reset(reset)
        return self._finish(response, outcome, flags)

    async def __acall__(self, request: Any) -> Any:
        """The same under ASGI: the account awaited, the rest of the chain awaited."""
        account = await self._aresolve(request)
        approved = account is not None and await self._ain_group(request, account)
        outcome, flags = self._evaluate(request, account, approved)
        reset = flags_var.set(flags)
        try:
            response = await self.get_response(request)
        finally:
            flags_var.reset(reset)
        return self._finish(response, outcome, flags)

    # --- the account, and whether it is a test user ---------------------------------------

    def _resolve(self, request: Any) -> Account | None:
        resolve = self.config.resolve_account
        try:
            if resolve is None:
                return account_for_user(getattr(request, "user", None))
            if iscoroutinefunction(resolve):
                return _checked(async_to_sync(resolve)(request))
            return _checked(resolve(request))
        except Exception:
            logger.exception("flagware: resolving the account raised; continuing as anonymous")
            return None

    async def _aresolve(self, request: Any) -> Account | None:
        resolve = self.config.resolve_account
        try:
            if resolve is None:
                return account_for_user(await _auser(request))
            if iscoroutinefunction(resolve):
                return _checked(await resolve(request))
            return _checked(await sync_to_async(resolve)(request))
        except Exception:
            logger.exception("flagware: resolving the account raised; continuing as anonymous")
            return None

    def _in_group(self, request: Any, account: Account) -> bool:
        """Whether the logged-in user is in ``TEST_USER_GROUP`` (False if unset)."""
        group = self.config.test_user_group
        if group is None or account.id in self.config.test_users:
            return False
        try:
            user = getattr(request, "user", None)
            if user is None or not user.is_authenticated:
                return False
            return bool(user.groups.filter(name=group).exists())
        except Exception:
            logger.exception("flagware: checking TEST_USER_GROUP raised; not a test user")
            return False

    async def _ain_group(self, request: Any, account: Account) -> bool:
        group = self.config.test_user_group
        if group is None or account.id in self.config.test_users:
            return False
        try:
            user = await _auser(request)
            if user is None or not user.is_authenticated:
                return False
            return bool(await user.groups.filter(name=group).aexists())
        except Exception:
            logger.exception("flagware: checking TEST_USER_GROUP raised; not a test user")
            return False

    def _is_test_user(self, account: Account) -> bool:
        """RequestEvaluator's ``is_test_user``: TEST_USERS, or approved just before."""
        return account.id in self.config.test_users or _approved.get() == account.id

    # --- evaluating, and the response -----------------------------------------------------

    def _evaluate(
        self, request: Any, account: Account | None, approved: bool
    ) -> tuple[Outcome, FlagSet]:
        override = request.META.get(self._meta_key) or None
        token = None
        if self.evaluator.token_secret:
            token = request.COOKIES.get(self.config.token_cookie) or None
        mark = _approved.set(account.id) if approved and account is not None else None
        try:
            outcome = self.evaluator.evaluate(account, override, token)
        finally:
            if mark is not None:
                _approved.reset(mark)
        flags = outcome.flags
        forced = forced_flags.get(None)
        if forced:  # only ever inside override_flag(...) in a test
            flags = flags.with_overrides(forced)
        request.flags = flags
        return outcome, flags

    def _finish(self, response: Any, outcome: Outcome, flags: FlagSet) -> Any:
        try:
            if outcome.applied is not None:
                extra = outcome.response_headers(
                    self.config.override_header, self.config.echo_overrides
                )
                _merge_into(response, extra)
            if getattr(response, "streaming", False) and not isinstance(response, FileResponse):
                content = response.streaming_content
                if response.is_async:
                    response.streaming_content = _async_flagged(content, flags)
                else:
                    response.streaming_content = _flagged(content, flags)
        except Exception:  # a response object of an unusual kind: send it as it is
            logger.exception("flagware: could not finish the response; sent unchanged")
        return response


def _checked(account: Any) -> Account | None:
    """The resolver's answer, if it is an Account or None (anything else is a bug)."""
    if account is None or isinstance(account, Account):
        return account
    raise TypeError(f"RESOLVE_ACCOUNT must return an Account or None, got {account!r}")


async def _auser(request: Any) -> Any:
    """``request.user`` without touching the lazy object in the event loop."""
    auser = getattr(request, "auser", None)
    if auser is not None:  # Django 5.0+, with AuthenticationMiddleware
        return await auser()
    return await sync_to_async(_loaded_user)(request)  # Django 4.2


def _loaded_user(request: Any) -> Any:
    """``request.user`` with its lazy object loaded (in the thread that may query)."""
    user = getattr(request, "user", None)
    if user is not None:
        user.is_authenticated  # noqa: B018 - loads the user behind SimpleLazyObject
    return user


def _merge_into(response: Any, extra: list[tuple[str, str]]) -> None:
    """Adds ``extra`` to a Django response with :func:`merge_headers`' semantics."""
    merged = merge_headers(list(response.items()), extra)
    names = {name.lower() for name, _ in extra}
    for name, value in merged:
        if name.lower() in names:
            response[name] = value


def _flagged(chunks: Iterator[bytes], flags: FlagSet) -> Iterator[bytes]:
    """``chunks``, each produced with ``flags`` current (and reset before it is sent)."""
    while True:
        reset = flags_var.set(flags)
        try:
            chunk = next(chunks)
        except StopIteration:
            return
        finally:
            flags_var.reset(reset)
        yield chunk


async def _async_flagged(chunks: AsyncIterator[bytes], flags: FlagSet) -> AsyncIterator[bytes]:
    """The async twin of :func:`_flagged`."""
    while True:
        reset = flags_var.set(flags)
        try:
            chunk = await chunks.__anext__()
        except StopAsyncIteration:
            return
        finally:
            flags_var.reset(reset)
        yield chunk
