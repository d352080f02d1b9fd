"""FlagwareProvider: OpenFeature resolution, status and events over a flagware store."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from openfeature.evaluation_context import EvaluationContext
from openfeature.event import ProviderEventDetails
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import FlagResolutionDetails, Reason
from openfeature.provider import AbstractProvider, Metadata

from flagware._request import RequestEvaluator
from flagware.account import Account
from flagware.context import flags_var
from flagware.engine.flagset import FlagSet
from flagware.openfeature import _mapping as mapping
from flagware.openfeature._mapping import Converter, Mismatch, Object, account_from_context
from flagware.ruleset import Ruleset
from flagware.stores.store import Store

__all__ = ["FlagwareProvider"]

logger = logging.getLogger("flagware")

T = TypeVar("T")


class _BadContext(Exception):
    """The evaluation context cannot describe a flagware Account."""


class FlagwareProvider(AbstractProvider):
    """OpenFeature resolution against a flagware :class:`~flagware.Store`.

    Status and events: READY once initialized (the store always serves a ruleset: its
    own, a snapshot, a bootstrap, or fail-closed); ``PROVIDER_STALE`` when the store's
    ``health()`` says it may be out of date (a Redis outage, a refused document, a cold
    start without the backend), then ``PROVIDER_READY`` once it is in sync again; and
    ``PROVIDER_CONFIGURATION_CHANGED`` for every new ruleset version it applies.

    Health is read by a daemon thread every ``health_interval`` seconds, not on each
    resolution: reading it is cheap (memory only) but resolutions are the hot path, and an
    idle application should hear of an outage too. ``shutdown`` stops the thread and
    unsubscribes; the store stays open (it is the application's).

    :param store: any flagware store.
    :param is_test_user: ``(Account) -> bool``, as for the middleware: outside a request,
        an approved account gets a test user's view (no overrides: those come with a
        request).
    :param health_interval: seconds between two looks at ``store.health()``.
    """

    def __init__(
        self,
        store: Store,
        *,
        is_test_user: Callable[[Account], bool] | None = None,
        health_interval: float = 1.0,
    ) -> None:
        super().__init__()
        if not isinstance(store, Store):
            raise TypeError(f"store must be a flagware Store, got {type(store).__name__}")
        if is_test_user is not None and not callable(is_test_user):
            raise TypeError("is_test_user must be a callable: (Account) -> bool")
        if isinstance(health_interval, bool) or not (
            isinstance(health_interval, int | float) and health_interval > 0
        ):
            raise ValueError(f"health_interval must be a positive number, got {health_interval!r}")
        self.store = store
        self.health_interval = float(health_interval)
        self._evaluator = RequestEvaluator(store, is_test_user=is_test_user)
        self._lock = threading.Lock()
        self._stale = False  # what the SDK was last told
        self._ruleset: Ruleset | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._stop: threading.Event | None = None
        self._watcher: threading.Thread | None = None

    def get_metadata(self) -> Metadata:
        return Metadata(name="flagware")

    # --- lifecycle ----------------------------------------------------------------------

    def initialize(self, evaluation_context: EvaluationContext) -> None:
        """Follow the store: its changes, and (in a daemon thread) its health.

        The SDK marks the provider READY when this returns; the thread's first look comes
        one interval later, so a store that is stale already is reported after that READY.
        """
        with self._lock:
            if self._stop is not None:
                return  # initialized already
            self._ruleset = self.store.ruleset()
            self._stale = False
            self._unsubscribe = self.store.subscribe(self._on_change)
            self._stop = stop = threading.Event()
            self._watcher = threading.Thread(
                target=self._watch, args=(stop,), name="flagware-openfeature", daemon=True
            )
            self._watcher.start()

    def shutdown(self) -> None:
        """Stop watching the store (which stays open) and unsubscribe from its changes."""
        with self._lock:
            stop, watcher, unsubscribe = self._stop, self._watcher, self._unsubscribe
            self._stop = self._watcher = self._unsubscribe = None
        if unsubscribe is not None:
            unsubscribe()
        if stop is not None:
            stop.set()
        if watcher is not None and watcher is not threading.current_thread():
            watcher.join(timeout=5)

    def _watch(self, stop: threading.Event) -> None:
        while not stop.wait(self.health_interval):
            try:
                self._check_health()
            except Exception:
                logger.exception("flagware: the OpenFeature provider could not read health")

    def _check_health(self) -> None:
        """Emit STALE or READY if ``store.health()`` changed state since the last look."""
        health = self.store.health()
        stale = health.stale_since is not None or not health.connected
        with self._lock:
            if stale == self._stale or self._stop is None:
                return
            self._stale = stale
        metadata: dict[str, bool | str | int | float] = {
            "version": health.version,
            "source": health.source,
        }
        if stale:
            why = health.last_error or health.problem or f"serving from {health.source}"
            message = (
                f"{self.store.describe()} may be out of date ({why}); version {health.version}"
            )
            self.emit_provider_stale(ProviderEventDetails(message=message, metadata=metadata))
        else:
            message = f"{self.store.describe()} is in sync again; version {health.version}"
            self.emit_provider_ready(ProviderEventDetails(message=message, metadata=metadata))

    def _on_change(self, ruleset: Ruleset) -> None:
        """A store listener: a new ruleset version was applied."""
        with self._lock:
            before, self._ruleset = self._ruleset, ruleset
        version = self.store.version
        self.emit_provider_configuration_changed(
            ProviderEventDetails(
                flags_changed=mapping.changed_flags(before, ruleset),
                message=f"{self.store.describe()} applied ruleset version {version}",
                metadata={"version": version},
            )
        )

    # --- resolution ---------------------------------------------------------------------

    def resolve_boolean_details(
        self,
        flag_key: str,
        default_value: bool,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[bool]:
        return self._resolve(flag_key, default_value, evaluation_context, mapping.boolean)

    def resolve_string_details(
        self,
        flag_key: str,
        default_value: str,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[str]:
        return self._resolve(flag_key, default_value, evaluation_context, mapping.string)

    def resolve_integer_details(
        self,
        flag_key: str,
        default_value: int,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[int]:
        return self._resolve(flag_key, default_value, evaluation_context, mapping.integer)

    def resolve_float_details(
        self,
        flag_key: str,
        default_value: float,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[float]:
        return self._resolve(flag_key, default_value, evaluation_context, mapping.floating)

    def resolve_object_details(
        self,
        flag_key: str,
        default_value: Object,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[Object]:
        return self._resolve(flag_key, default_value, evaluation_context, mapping.json_object)

    def flags_for(self, context: EvaluationContext | None) -> FlagSet:
        """The FlagSet to answer from: the current request's, if it is for the same account
        (or the context names none), else one evaluated now, without overrides.

        Raises ValueError for a context that names no valid account.
        """
        current = flags_var.get(None)
        key = context.targeting_key if context is not None else None
        if current is not None and (
            not key or (current.account is not None and current.account.id == key)
        ):
            return current
        return self._evaluator.flags(account_from_context(context))

    def _resolve(
        self,
        key: str,
        default: T,
        context: EvaluationContext | None,
        convert: Converter[T],
    ) -> FlagResolutionDetails[T]:
        """One resolution; never raises (an error is a code, with the caller's default)."""
        try:
            try:
                flags = self.flags_for(context)
            except ValueError as exc:
                raise _BadContext(str(exc)) from None
            evaluation = flags.evaluation(key)
            if key not in flags and evaluation.reason != "override":
                return FlagResolutionDetails(
                    default,
                    ErrorCode.FLAG_NOT_FOUND,
                    f"flag {key!r} is not in the ruleset",
                    Reason.ERROR,
                )
            reason = mapping.reason_of(evaluation)
            value = convert(evaluation)
            if value is None:  # off, or on without a variant: the caller's default
                value = default
                if reason is not Reason.DISABLED:
                    reason = Reason.DEFAULT
            return FlagResolutionDetails(
                value,
                reason=reason,
                variant=evaluation.variant,
                flag_metadata={"enabled": evaluation.enabled, "reason": evaluation.reason},
            )
        except Mismatch as exc:
            return FlagResolutionDetails(default, ErrorCode.TYPE_MISMATCH, str(exc), Reason.ERROR)
        except _BadContext as exc:
            return FlagResolutionDetails(default, ErrorCode.INVALID_CONTEXT, str(exc), Reason.ERROR)
        except Exception as exc:
            logger.exception("flagware: resolving flag %r for OpenFeature failed", key)
            return FlagResolutionDetails(
                default, ErrorCode.GENERAL, f"{type(exc).__name__}: {exc}", Reason.ERROR
            )
