"""The ``FLAGWARE`` settings dict, read and checked once, and the process's one store.

Everything here fails loudly with :class:`~django.core.exceptions.ImproperlyConfigured`
(at start-up: the middleware reads the configuration when Django loads it, and
``manage.py check`` reports the same problems), so a typo in the settings never turns
into flags silently off at request time.
"""

from __future__ import annotations

import atexit
import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings  # type: ignore[import-untyped, unused-ignore]
from django.core.exceptions import ImproperlyConfigured  # type: ignore[import-untyped, unused-ignore]
from django.utils.module_loading import import_string  # type: ignore[import-untyped, unused-ignore]

from flagware._request import DEFAULT_OVERRIDE_HEADER, DEFAULT_TOKEN_COOKIE
from flagware.account import Account

if TYPE_CHECKING:
    from flagware.overrides import Secret
    from flagware.stores.store import Store

__all__ = ["Config", "account_for_user", "load_config", "store_for"]

KEYS = frozenset({
    "REDIS_URL", "REDIS_OPTIONS", "RULES", "STORE", "NAMESPACE", "RESOLVE_ACCOUNT",
    "TEST_USER_GROUP", "TEST_USERS", "TOKEN_SECRET", "TOKEN_COOKIE", "OVERRIDE_HEADER",
    "ECHO_OVERRIDES",
})  # fmt: skip
NO_STORE = (
    "flagware.django has no store: set FLAGWARE = {'REDIS_URL': 'redis://localhost:6379/0'} "
    "in your Django settings (or 'RULES': the path of a rules file, or 'STORE': the dotted "
    "path of a callable returning a flagware Store)"
)
_HEADER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")  # what survives WSGI's HTTP_ mangling
Resolver = Callable[[Any], Any]  # (HttpRequest) -> Account | None, or a coroutine function
_STORES: dict[tuple[str, ...], Store] = {}
_STORES_LOCK = threading.Lock()


@dataclass(frozen=True)
class Config:
    """The ``FLAGWARE`` setting, checked: what the middleware is built from."""

    store_key: tuple[str, ...]  # ("redis", url, namespace, options) | ("file", path) | ...
    redis_options: Mapping[str, Any] = field(default_factory=dict)
    resolve_account: Resolver | None = None  # None: the default, from request.user
    test_user_group: str | None = None
    test_users: frozenset[str] = frozenset()
    token_secret: Secret | None = None
    token_cookie: str = DEFAULT_TOKEN_COOKIE
    override_header: str = DEFAULT_OVERRIDE_HEADER
    echo_overrides: bool = False


def _problem(key: str, message: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"FLAGWARE[{key!r}] {message}")


def load_config() -> Config:
    """``settings.FLAGWARE`` as a :class:`Config`; raises ImproperlyConfigured, saying
    which key is wrong and what it should be."""
    raw = getattr(settings, "FLAGWARE", None)
    if raw is None:
        raise ImproperlyConfigured(NO_STORE)
    if not isinstance(raw, Mapping):
        raise ImproperlyConfigured(f"FLAGWARE must be a dict, got {type(raw).__name__}")
    unknown = sorted(str(k) for k in set(raw) - KEYS)
    if unknown:
        raise ImproperlyConfigured(
            f"FLAGWARE has unknown keys {unknown}; the keys are {sorted(KEYS)}"
        )
    return Config(
        store_key=_store_key(raw),
        redis_options=dict(raw.get("REDIS_OPTIONS") or {}),
        resolve_account=_resolver(raw.get("RESOLVE_ACCOUNT")),
        test_user_group=_optional_str(raw, "TEST_USER_GROUP"),
        test_users=_test_users(raw.get("TEST_USERS", ())),
        token_secret=_token_secret(raw.get("TOKEN_SECRET")),
        token_cookie=_optional_str(raw, "TOKEN_COOKIE") or DEFAULT_TOKEN_COOKIE,
        override_header=_header(raw.get("OVERRIDE_HEADER", DEFAULT_OVERRIDE_HEADER)),
        echo_overrides=bool(raw.get("ECHO_OVERRIDES", False)),
    )


def _store_key(raw: Mapping[str, Any]) -> tuple[str, ...]:
    given = [key for key in ("REDIS_URL", "RULES", "STORE") if raw.get(key)]
    if not given:
        raise ImproperlyConfigured(NO_STORE)
    if len(given) > 1:
        raise ImproperlyConfigured(f"FLAGWARE: configure one store, not {' and '.join(given)}")
    options = raw.get("REDIS_OPTIONS") or {}
    if not isinstance(options, Mapping):
        raise _problem("REDIS_OPTIONS", "must be a dict of RedisStore.from_url() arguments")
    if options and given[0] != "REDIS_URL":
        raise _problem("REDIS_OPTIONS", "applies to REDIS_URL only")
    value = raw[given[0]]
    if given[0] == "REDIS_URL":
        namespace = raw.get("NAMESPACE", "default")
        if not isinstance(value, str) or not isinstance(namespace, str):
            raise _problem("REDIS_URL", "and FLAGWARE['NAMESPACE'] must be strings")
        return ("redis", value, namespace, repr(sorted(options.items())))
    if given[0] == "RULES":
        if not isinstance(value, str | os.PathLike):
            raise _problem("RULES", f"must be the path of a rules file, got {value!r}")
        return ("file", os.path.abspath(os.fspath(value)))
    if not isinstance(value, str):
        raise _problem("STORE", "must be a dotted path such as 'myproject.flags.make_store'")
    return ("callable", value)


def _resolver(value: Any) -> Resolver | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = import_string(value)
        except ImportError as exc:
            raise _problem("RESOLVE_ACCOUNT", f"cannot be imported: {exc}") from exc
    if not callable(value):
        raise _problem("RESOLVE_ACCOUNT", "must name a callable: (request) -> Account | None")
    resolver: Resolver = value
    return resolver


def _optional_str(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is not None and (not isinstance(value, str) or not value):
        raise _problem(key, f"must be a non-empty string, got {value!r}")
    return value


def _test_users(value: Any) -> frozenset[str]:
    if isinstance(value, str | bytes) or not all(isinstance(v, str | int) for v in value):
        raise _problem("TEST_USERS", f"must be a list of account ids, got {value!r}")
    return frozenset(str(v) for v in value)


def _token_secret(value: Any) -> Secret | None:
    if value is None or value == "":
        return None
    if isinstance(value, str | bytes) or (
        isinstance(value, list) and value and all(isinstance(v, str | bytes) for v in value)
    ):
        secret: Secret = value
        return secret
    raise _problem("TOKEN_SECRET", "must be a string, bytes, or a list of them (rotation)")


def _header(value: Any) -> str:
    if not isinstance(value, str) or not _HEADER_NAME.fullmatch(value):
        raise _problem("OVERRIDE_HEADER", f"must be a header name like 'X-Flags', got {value!r}")
    return value


def store_for(config: Config) -> Store:
    """The store ``config`` names: one per process and configuration, closed at exit."""
    key = config.store_key
    with _STORES_LOCK:
        store = _STORES.get(key)
        if store is None:
            store = _open(config)
            if not _STORES:
                atexit.register(close_stores)
            _STORES[key] = store
    return store


def _open(config: Config) -> Store:
    from flagware.stores.store import Store  # noqa: PLC0415 - the engine, on first use

    kind, where = config.store_key[0], config.store_key[1]
    try:
        if kind == "redis":
            from flagware.stores.redis import RedisStore  # noqa: PLC0415 - needs redis-py

            return RedisStore.from_url(
                where, namespace=config.store_key[2], **dict(config.redis_options)
            )
        if kind == "file":
            from flagware.stores.file import FileStore  # noqa: PLC0415

            return FileStore(where)
        store = import_string(where)()
    except ImproperlyConfigured:
        raise
    except Exception as exc:
        raise ImproperlyConfigured(
            f"flagware.django could not open its store ({kind} {where}): {exc}"
        ) from exc
    if not isinstance(store, Store):
        raise _problem("STORE", f"must return a flagware Store, {where} returned {store!r}")
    return store


def close_stores() -> None:
    """Close every store this module opened (at exit; tests may call it too)."""
    with _STORES_LOCK:
        for store in _STORES.values():
            store.close()
        _STORES.clear()


def account_for_user(user: Any) -> Account | None:
    """The default account of a Django user: None for anonymous users; else the primary
    key as ``id`` (and ``number``, if it is an int) and a few fields as attributes."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    pk = user.pk
    username = user.get_username() if hasattr(user, "get_username") else None
    return Account(
        id=str(pk),
        number=pk if isinstance(pk, int) and not isinstance(pk, bool) else None,
        attributes={
            "username": username,
            "email": getattr(user, "email", None),
            "is_staff": bool(getattr(user, "is_staff", False)),
            "is_superuser": bool(getattr(user, "is_superuser", False)),
        },
    )
