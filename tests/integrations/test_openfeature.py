"""flagware.openfeature.FlagwareProvider through the real OpenFeature SDK: typed values,
reasons, error codes, events (a real Redis outage for STALE), and reuse of a request's
flags inside flagware's real ASGI and WSGI middlewares."""

from __future__ import annotations

import asyncio
import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.event import EventDetails, ProviderEvent
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason
from openfeature.provider import ProviderStatus
from starlette.applications import Starlette
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from werkzeug.test import Client
from werkzeug.wrappers import Request as WsgiRequest
from werkzeug.wrappers import Response as WsgiResponse

import flagware
from flagware import Account, MemoryStore
from flagware.asgi import FlagwareMiddleware as AsgiMiddleware
from flagware.openfeature import FlagwareProvider, account_from_context
from flagware.stores.redis import RedisStore
from flagware.wsgi import FlagwareMiddleware as WsgiMiddleware
from tests.redis_server import RedisServer

RULES: dict[str, Any] = {
    "test_users": ["tester"],
    "flags": {
        "beta": {"strategies": [{"type": "accounts", "ids": ["acct-1"]}]},
        "dark": {"strategies": []},
        "killed": {"enabled": False, "strategies": [{"type": "everyone"}]},
        "button": {
            "strategies": [{"type": "accounts", "ids": ["acct-1", "acct-2"]}],
            "variants": {"control": 50, "green": 50},
        },
        "limit": {"strategies": [{"type": "everyone"}], "variants": {"_10": 50, "_25": 50}},
        "ratio": {"strategies": [{"type": "everyone"}], "variants": {"_0.5": 100}},
        "odd": {"strategies": [{"type": "last_digit", "digits": [1, 3, 5, 7, 9]}]},
        "dutch": {
            "strategies": [
                {"type": "attribute", "attribute": "country", "op": "in", "values": ["NL"]}
            ]
        },
    },
}
WAIT = 10.0


def wait_until(condition: Callable[[], bool], timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


@pytest.fixture
def use_provider() -> Iterator[Callable[..., FlagwareProvider]]:
    """Register a FlagwareProvider (waiting for READY); the SDK is reset afterwards."""

    def use(store: flagware.Store, **options: Any) -> FlagwareProvider:
        provider = FlagwareProvider(store, **options)
        api.set_provider_and_wait(provider)
        return provider

    yield use
    api.shutdown()


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore(RULES)


def events(event: ProviderEvent) -> queue.Queue[EventDetails]:
    """The SDK's handlers run on its executor thread: collect them in a queue."""
    received: queue.Queue[EventDetails] = queue.Queue()
    api.get_client().add_handler(event, received.put)
    return received


def ctx(key: str | None = None, **attributes: Any) -> EvaluationContext:
    return EvaluationContext(key, attributes)


# --- values and reasons ---------------------------------------------------------------------


def test_boolean_is_whether_the_flag_is_on(use_provider: Any, store: MemoryStore) -> None:
    use_provider(store)
    client = api.get_client()
    on = client.get_boolean_details("beta", False, ctx("acct-1"))
    assert (on.value, on.reason, on.error_code) == (True, Reason.TARGETING_MATCH, None)
    assert on.flag_metadata == {
        "enabled": True,
        "reason": "strategy accounts matched (strategies[0])",
    }
    off = client.get_boolean_details("beta", True, ctx("acct-2"))
    assert (off.value, off.reason, off.variant) == (False, Reason.DEFAULT, None)
    assert client.get_boolean_value("beta", True) is False  # no targeting key: anonymous


def test_boolean_details_carry_the_variant(use_provider: Any, store: MemoryStore) -> None:
    use_provider(store)
    details = api.get_client().get_boolean_details("button", False, ctx("acct-1"))
    expected = store.engine().evaluate_all(Account("acct-1")).variant("button")
    assert expected in {"control", "green"}
    assert (details.value, details.variant) == (True, expected)


def test_a_kill_switched_flag_is_disabled_and_off(use_provider: Any, store: MemoryStore) -> None:
    use_provider(store)
    details = api.get_client().get_boolean_details("killed", True, ctx("tester"))
    assert (details.value, details.reason, details.error_code) == (False, Reason.DISABLED, None)
    as_string = api.get_client().get_string_details("killed", "fallback", ctx("acct-1"))
    assert (as_string.value, as_string.reason) == ("fallback", Reason.DISABLED)


@pytest.mark.parametrize("kind", ["boolean", "string", "integer", "float", "object"])
def test_a_flag_the_ruleset_does_not_define_is_not_found(
    use_provider: Any, store: MemoryStore, kind: str
) -> None:
    use_provider(store)
    default: Any = {"boolean": True, "string": "x", "integer": 7, "float": 1.5, "object": {}}[kind]
    details = getattr(api.get_client(), f"get_{kind}_details")("nope", default, ctx("acct-1"))
    assert details.value == default
    assert (details.reason, details.error_code) == (Reason.ERROR, ErrorCode.FLAG_NOT_FOUND)
    assert "nope" in details.error_message


def test_string_is_the_variant_else_the_default(use_provider: Any, store: MemoryStore) -> None:
    use_provider(store)
    client = api.get_client()
    on = client.get_string_details("button", "none", ctx("acct-2"))
    assert on.value in {"control", "green"}
    assert (on.variant, on.reason) == (on.value, Reason.TARGETING_MATCH)
    off = client.get_string_details("button", "none", ctx("acct-3"))
    assert (off.value, off.variant, off.reason) == ("none", None, Reason.DEFAULT)
    no_variants = client.get_string_details("beta", "none", ctx("acct-1"))
    assert (no_variants.value, no_variants.reason) == ("none", Reason.DEFAULT)
    assert no_variants.flag_metadata["enabled"] is True


def test_numbers_are_variants_named_as_numbers(use_provider: Any, store: MemoryStore) -> None:
    use_provider(store)
    client = api.get_client()
    limit = client.get_integer_details("limit", 1, ctx("acct-1"))
    assert (limit.value, limit.variant, limit.reason) == (
        int(limit.variant.lstrip("_")),
        limit.variant,
        Reason.TARGETING_MATCH,
    )
    assert limit.value in {10, 25}
    ratio = client.get_float_details("ratio", 1.0, ctx("acct-1"))
    assert (ratio.value, ratio.variant) == (0.5, "_0.5")
    as_float = client.get_float_details("limit", 1.0, ctx("acct-1"))
    assert as_float.value == float(limit.value)
    assert isinstance(as_float.value, float)
    no_variants = client.get_integer_details("beta", 3, ctx("acct-1"))
    assert (no_variants.value, no_variants.reason, no_variants.error_code) == (
        3,
        Reason.DEFAULT,
        None,
    )


@pytest.mark.parametrize(
    ("kind", "flag", "default"),
    [("integer", "button", 3), ("integer", "ratio", 3), ("float", "button", 2.5)],
)
def test_a_variant_that_is_no_number_is_a_type_mismatch(
    use_provider: Any, store: MemoryStore, kind: str, flag: str, default: Any
) -> None:
    use_provider(store)
    details = getattr(api.get_client(), f"get_{kind}_details")(flag, default, ctx("acct-1"))
    assert (details.value, details.reason) == (default, Reason.ERROR)
    assert details.error_code == ErrorCode.TYPE_MISMATCH


def test_object_is_enabled_and_variant(use_provider: Any, store: MemoryStore) -> None:
    use_provider(store)
    client = api.get_client()
    on = client.get_object_details("button", {}, ctx("acct-1"))
    assert on.value == {"enabled": True, "variant": on.variant}
    assert on.variant in {"control", "green"}
    off = client.get_object_details("beta", {"x": 1}, ctx("acct-2"))
    assert (off.value, off.reason) == ({"enabled": False, "variant": None}, Reason.DEFAULT)


def test_async_resolution_gives_the_same(use_provider: Any, store: MemoryStore) -> None:
    use_provider(store)
    details = asyncio.run(api.get_client().get_boolean_details_async("beta", False, ctx("acct-1")))
    assert (details.value, details.reason) == (True, Reason.TARGETING_MATCH)


def test_metadata_names_flagware(use_provider: Any, store: MemoryStore) -> None:
    use_provider(store)
    assert api.get_provider_metadata().name == "flagware"
    assert api.get_client().get_provider_status() == ProviderStatus.READY


# --- the evaluation context -----------------------------------------------------------------


def test_context_maps_to_an_account() -> None:
    account = account_from_context(ctx("acct-9", number=41, country="NL", plan="pro"))
    assert account == Account("acct-9", 41, {"country": "NL", "plan": "pro"})
    assert account_from_context(ctx(None, number=41)) is None
    assert account_from_context(ctx("")) is None
    assert account_from_context(None) is None


def test_number_and_attributes_drive_strategies(use_provider: Any, store: MemoryStore) -> None:
    use_provider(store)
    client = api.get_client()
    assert client.get_boolean_value("odd", False, ctx("a", number=4211)) is True
    assert client.get_boolean_value("odd", True, ctx("a", number=4210)) is False
    assert client.get_boolean_value("odd", True, ctx("a")) is False  # no number: no match
    assert client.get_boolean_value("dutch", False, ctx("a", country="NL")) is True
    assert client.get_boolean_value("dutch", True, ctx("a", country="DE")) is False
    # Without a targeting key the request is anonymous: attributes do not count.
    assert client.get_boolean_value("dutch", True, ctx(None, country="NL")) is False


def test_the_api_and_client_contexts_merge_in(use_provider: Any, store: MemoryStore) -> None:
    use_provider(store)
    api.set_evaluation_context(ctx("acct-1"))
    client = api.get_client()
    assert client.get_boolean_value("beta", False) is True
    client.context = ctx(None, country="NL")
    assert client.get_boolean_value("dutch", False) is True


@pytest.mark.parametrize("number", ["41", 4.0, True])
def test_a_number_that_is_no_int_is_an_invalid_context(
    use_provider: Any, store: MemoryStore, number: Any
) -> None:
    use_provider(store)
    details = api.get_client().get_boolean_details("odd", True, ctx("a", number=number))
    assert (details.value, details.error_code) == (True, ErrorCode.INVALID_CONTEXT)
    assert "number" in details.error_message


def test_an_unexpected_error_is_general_and_never_raises(store: MemoryStore) -> None:
    provider = FlagwareProvider(store)
    broken = EvaluationContext("a", 42)  # type: ignore[arg-type] - attributes not a mapping
    details = provider.resolve_boolean_details("beta", True, broken)
    assert (details.value, details.reason) == (True, Reason.ERROR)
    assert details.error_code == ErrorCode.GENERAL


# --- test users -----------------------------------------------------------------------------


def test_test_users_see_flags_without_strategies(use_provider: Any, store: MemoryStore) -> None:
    use_provider(store, is_test_user=lambda account: account.attributes.get("staff") is True)
    client = api.get_client()
    tester = client.get_boolean_details("dark", False, ctx("tester"))
    assert (tester.value, tester.reason) == (True, Reason.TARGETING_MATCH)
    assert tester.flag_metadata["reason"] == "test user"
    assert client.get_boolean_value("dark", False, ctx("staff-1", staff=True)) is True
    assert client.get_boolean_value("dark", True, ctx("staff-1")) is False
    assert client.get_boolean_value("killed", True, ctx("tester")) is False  # kill switch wins


def test_an_async_is_test_user_is_refused(store: MemoryStore) -> None:
    async def approve(account: Account) -> bool:
        return True

    with pytest.raises(TypeError, match="not async"):
        FlagwareProvider(store, is_test_user=approve)  # type: ignore[arg-type]


def test_bad_configuration_fails_at_once(store: MemoryStore) -> None:
    with pytest.raises(TypeError, match="flagware Store"):
        FlagwareProvider(RULES)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="health_interval"):
        FlagwareProvider(store, health_interval=0)


# --- events ---------------------------------------------------------------------------------


def test_every_new_ruleset_version_is_a_configuration_change(
    use_provider: Any, store: MemoryStore
) -> None:
    use_provider(store)
    changes = events(ProviderEvent.PROVIDER_CONFIGURATION_CHANGED)
    store.set_flag("beta", {"strategies": [{"type": "everyone"}]})
    first = changes.get(timeout=WAIT)
    assert first.flags_changed == ["beta"]
    assert first.metadata == {"version": 2}
    assert first.provider_name == "flagware"
    assert api.get_client().get_boolean_value("beta", False, ctx("acct-2")) is True
    store.add_test_user("acct-2")  # test users change every flag's answer for someone
    assert changes.get(timeout=WAIT).flags_changed == sorted(RULES["flags"])
    store.set_flag("beta", {"strategies": [{"type": "everyone"}]})  # the same: no new version
    store.delete_flag("odd")
    third = changes.get(timeout=WAIT)
    assert (third.flags_changed, third.metadata) == (["odd"], {"version": 4})
    assert changes.empty()


def test_ready_is_announced(use_provider: Any, store: MemoryStore) -> None:
    ready = events(ProviderEvent.PROVIDER_READY)  # at once, for the SDK's no-op provider
    assert ready.get(timeout=WAIT).provider_name == "No-op Provider"
    use_provider(store)
    assert ready.get(timeout=WAIT).provider_name == "flagware"


def test_shutdown_unsubscribes_and_stops_the_thread(use_provider: Any, store: MemoryStore) -> None:
    provider = use_provider(store, health_interval=0.01)
    changes = events(ProviderEvent.PROVIDER_CONFIGURATION_CHANGED)
    watcher = next(t for t in threading.enumerate() if t.name == "flagware-openfeature")
    provider.shutdown()
    assert not watcher.is_alive()
    store.set_flag("beta", {"strategies": [{"type": "everyone"}]})
    time.sleep(0.1)
    assert changes.empty()
    provider.initialize(EvaluationContext())  # as the SDK does when it is set again
    store.set_flag("beta", {"strategies": []})
    assert changes.get(timeout=WAIT).flags_changed == ["beta"]


def test_a_redis_outage_makes_the_provider_stale_until_it_is_back(
    use_provider: Any, own_redis: Callable[[], RedisServer], namespace: str, tmp_path: Path
) -> None:
    server = own_redis()
    store = RedisStore.from_url(
        server.url,
        namespace=namespace,
        poll_interval=0.1,
        snapshot_path=tmp_path / "snapshot.json",
        bootstrap=RULES,
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
    )
    try:
        use_provider(store, health_interval=0.05)
        stale = events(ProviderEvent.PROVIDER_STALE)
        ready = events(ProviderEvent.PROVIDER_READY)
        ready.get(timeout=WAIT)  # at once: the provider is ready
        client = api.get_client()
        server.kill()
        details = stale.get(timeout=WAIT)
        assert details.provider_name == "flagware"
        assert "may be out of date" in (details.message or "")
        assert client.get_provider_status() == ProviderStatus.STALE
        # The last good ruleset keeps answering, and the answer is not an error.
        served = client.get_boolean_details("beta", False, ctx("acct-1"))
        assert (served.value, served.reason, served.error_code) == (
            True,
            Reason.TARGETING_MATCH,
            None,
        )
        server.start()  # empty: the store writes its ruleset back, then is in sync
        back = ready.get(timeout=WAIT)
        assert "in sync again" in (back.message or "")
        assert client.get_provider_status() == ProviderStatus.READY
        assert stale.empty()
    finally:
        api.clear_providers()
        store.close()


# --- inside a request: the request's flags, overrides included ------------------------------


def _read_through_openfeature() -> dict[str, Any]:
    """What a handler reads through OpenFeature, for the request's account and others."""
    client = api.get_client()
    request_account = client.get_boolean_details("dark", False, ctx("tester"))
    no_key = client.get_boolean_details("dark", False)
    other = client.get_boolean_details("dark", True, ctx("acct-1"))
    button = client.get_string_details("button", "none", ctx("tester"))
    return {
        "same": [request_account.value, request_account.flag_metadata["reason"]],
        "no_key": [no_key.value, no_key.flag_metadata["reason"]],
        "other": [other.value, other.reason],
        "button": [button.value, button.flag_metadata["reason"]],
        "flagware": flagware.flags.is_enabled("dark"),
    }


def resolve_asgi(conn: HTTPConnection) -> Account | None:
    key = conn.headers.get("X-Account-Id")
    return Account(key) if key else None


def test_inside_an_asgi_request_the_requests_flags_are_reused(
    use_provider: Any, store: MemoryStore
) -> None:
    use_provider(store)

    async def endpoint(request: Request) -> JSONResponse:
        read = _read_through_openfeature()
        details = await api.get_client().get_boolean_details_async("dark", False, ctx("tester"))
        read["async"] = details.value
        return JSONResponse(read)

    app = AsgiMiddleware(
        Starlette(routes=[Route("/", endpoint)]), store=store, resolve_account=resolve_asgi
    )
    with TestClient(app) as http:
        answer = http.get(
            "/", headers={"X-Account-Id": "tester", "X-Flagware-Override": "dark=off,button=blue"}
        ).json()
    assert answer == {
        "same": [False, "override"],  # the tester's override, as flagware.flags has it
        "no_key": [False, "override"],
        "other": [False, Reason.DEFAULT],  # another account: evaluated afresh, no override
        "button": ["blue", "override"],
        "flagware": False,
        "async": False,
    }
    # Outside the request the same tester gets no override.
    outside = api.get_client().get_boolean_details("dark", False, ctx("tester"))
    assert (outside.value, outside.flag_metadata["reason"]) == (True, "test user")


def test_inside_a_wsgi_request_the_requests_flags_are_reused(
    use_provider: Any, store: MemoryStore
) -> None:
    use_provider(store)

    def app(environ: Any, start_response: Any) -> Any:
        body = json.dumps(_read_through_openfeature())
        return WsgiResponse(body, mimetype="application/json")(environ, start_response)

    def resolve(request: WsgiRequest) -> Account | None:
        key = request.headers.get("X-Account-Id")
        return Account(key) if key else None

    wrapped = WsgiMiddleware(app, store=store, resolve_account=resolve)
    response = Client(wrapped).get(
        "/", headers={"X-Account-Id": "tester", "X-Flagware-Override": "dark=off"}
    )
    answer = response.json
    assert answer["same"] == [False, "override"]
    assert answer["no_key"] == [False, "override"]
    assert answer["other"] == [False, "DEFAULT"]
    assert answer["flagware"] is False
    # An anonymous request's flags are reused for a context without a targeting key only.
    anonymous = Client(wrapped).get("/").json
    assert anonymous["no_key"] == [False, "no strategies: test users only"]
    assert anonymous["same"] == [True, "test user"]


def test_use_flags_answers_are_static(use_provider: Any, store: MemoryStore) -> None:
    use_provider(store)
    client = api.get_client()
    with flagware.use_flags({"beta": True, "button": "green", "dark": False}):
        beta = client.get_boolean_details("beta", False)
        assert (beta.value, beta.reason) == (True, Reason.STATIC)
        assert client.get_string_value("button", "none") == "green"
        assert client.get_boolean_details("dark", True).reason == Reason.STATIC
        assert client.get_boolean_details("odd", True).error_code == ErrorCode.FLAG_NOT_FOUND


# --- packaging ------------------------------------------------------------------------------


def test_without_the_sdk_the_import_says_what_to_install() -> None:
    code = (
        "import sys; sys.modules['openfeature'] = None\n"
        "try:\n    import flagware.openfeature\n"
        "except ImportError as exc:\n    print(exc, exc.__cause__, exc.__suppress_context__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.strip() == (
        "flagware.openfeature needs the OpenFeature SDK: pip install 'flagware[openfeature]' "
        "None True"
    )


def test_importing_flagware_does_not_import_openfeature() -> None:
    code = "import sys, flagware; print('openfeature' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.strip() == "False"
