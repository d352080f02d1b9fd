"""flagware.flask.Flagware in real Flask apps: factory, blueprints, session, Flask-Login,
templates, overrides, streaming and the browser endpoint (Flask's test client)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Blueprint, Flask, Response, g, render_template_string, session
from flask_login import LoginManager, UserMixin, login_user  # type: ignore[import-untyped]

import flagware
from flagware import Account, MemoryStore
from flagware.flask import Flagware, store_from_config

RULES: dict[str, Any] = {
    "test_users": ["tester"],
    "flags": {
        "beta": {"client": True, "strategies": [{"type": "accounts", "ids": ["acct-1"]}]},
        "dark": {"strategies": []},
        "killed": {"enabled": False, "strategies": [{"type": "everyone"}]},
    },
}
TEMPLATE = "{% if flags.beta %}beta{% else %}classic{% endif %} {{ flagware_bootstrap() }}"


def from_session() -> Account | None:
    account = session.get("account")
    return Account(account) if account else None


def create_app(fw: Flagware, **config: Any) -> Flask:
    """An app factory, as the Flask docs describe it: the extension made once, bound here."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY="test", **config)
    fw.init_app(app)

    @app.get("/login/<account>")
    def login(account: str) -> str:
        session["account"] = account
        return "ok"

    @app.get("/flags")
    def flags_view() -> dict[str, Any]:
        fs = flagware.current_flags()
        return {"account": fs.account and fs.account.id, "flags": fs.as_dict()}

    @app.get("/page")
    def page() -> str:
        return render_template_string(TEMPLATE)

    @app.get("/stream")
    def stream() -> Response:
        def body() -> Iterator[str]:
            for _ in range(3):
                yield "1" if flagware.flags.is_enabled("beta") else "0"

        return Response(body())

    shop = Blueprint("shop", __name__, url_prefix="/shop")

    @shop.get("/")
    def shop_index() -> str:
        return "new shop" if flagware.flags["beta"] else "old shop"

    app.register_blueprint(shop)
    return app


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore(RULES)


@pytest.fixture
def client(store: MemoryStore) -> Any:
    return create_app(Flagware(store=store, resolve_account=from_session)).test_client()


def login(client: Any, account: str) -> None:
    assert client.get(f"/login/{account}").status_code == 200


def test_the_resolver_reads_the_session(client: Any) -> None:
    assert client.get("/flags").json == {
        "account": None,
        "flags": {"beta": False, "dark": False, "killed": False},
    }
    login(client, "acct-1")
    assert client.get("/flags").json["flags"]["beta"] is True


def test_templates_see_flags_and_the_bootstrap(client: Any) -> None:
    login(client, "acct-1")
    html = client.get("/page").text
    assert html.startswith('beta <script type="application/json" id="flagware-flags">')
    assert '{"flags":{"beta":true},"variants":{}}' in html  # client flags only, not escaped
    login(client, "acct-2")
    assert client.get("/page").text.startswith("classic ")


def test_blueprint_views_and_streamed_bodies_see_the_flags(client: Any) -> None:
    login(client, "acct-1")
    assert client.get("/shop/").text == "new shop"
    assert client.get("/stream").text == "111"
    login(client, "acct-2")
    assert client.get("/shop/").text == "old shop"
    assert client.get("/stream").text == "000"


def test_a_test_user_overrides_an_ordinary_account_cannot(client: Any) -> None:
    header = {"X-Flagware-Override": "beta=off,dark=on,killed=on"}
    login(client, "tester")
    response = client.get("/flags", headers=header)
    assert response.json["flags"] == {"beta": False, "dark": True, "killed": False}
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "X-Flagware-Override" in response.headers["Vary"]
    login(client, "acct-1")
    response = client.get("/flags", headers=header)
    assert response.json["flags"] == {"beta": True, "dark": False, "killed": False}
    assert "Cache-Control" not in response.headers


def test_a_configured_override_header_marks_every_overridden_response(
    store: MemoryStore,
) -> None:
    # The header is read from the environ under the server's key for the configured name;
    # the overridden response is marked even when an error page answers it, and only it.
    app = create_app(
        Flagware(store=store, resolve_account=from_session),
        FLAGWARE_OVERRIDE_HEADER="X-Test-Flags",
        FLAGWARE_ECHO_OVERRIDES=True,
    )
    client = app.test_client()
    login(client, "tester")
    assert client.get("/flags", headers={"X-Flagware-Override": "dark=off"}).json["flags"][
        "dark"
    ], "only the configured header overrides"
    response = client.get("/flags", headers={"X-Test-Flags": "dark=off"})
    assert response.json["flags"]["dark"] is False
    assert response.headers["X-Flagware-Overrides-Applied"] == "dark=off"
    missing = client.get("/no-such-page", headers={"x-test-flags": "beta=on"})
    assert missing.status_code == 404
    assert missing.headers["Cache-Control"] == "private, no-store"
    assert "X-Test-Flags" in missing.headers["Vary"]
    plain = client.get("/flags")
    assert "Cache-Control" not in plain.headers
    assert "X-Flagware-Overrides-Applied" not in plain.headers


def test_a_malformed_override_or_a_failing_resolver_never_breaks_a_request(
    store: MemoryStore, caplog: pytest.LogCaptureFixture
) -> None:
    client = create_app(Flagware(store=store, resolve_account=from_session)).test_client()
    login(client, "tester")
    response = client.get("/flags", headers={"X-Flagware-Override": "\x00=;;,,=="})
    assert response.status_code == 200
    assert response.json["flags"]["dark"] is True

    def broken() -> Account | None:
        raise RuntimeError("session backend down")

    caplog.set_level(logging.ERROR, "flagware")
    client = create_app(Flagware(store=store, resolve_account=broken)).test_client()
    response = client.get("/flags")
    assert response.status_code == 200
    assert response.json["account"] is None
    assert "the account resolver raised" in caplog.text


def test_the_resolver_can_read_g_set_by_an_earlier_hook(store: MemoryStore) -> None:
    app = Flask(__name__)

    @app.before_request
    def load_user() -> None:
        g.account_id = "acct-1"

    fw = Flagware(store=store)

    @fw.account_resolver
    def resolve() -> Account | None:
        return Account(g.account_id)

    fw.init_app(app)
    app.add_url_rule("/", "index", lambda: str(flagware.flags["beta"]))
    assert app.test_client().get("/").text == "True"


def test_flask_login_current_user_is_the_default_resolver(store: MemoryStore) -> None:
    class User(UserMixin):  # type: ignore[misc]
        def __init__(self, user_id: str) -> None:
            self.id = user_id

    app = Flask(__name__)
    app.config["SECRET_KEY"] = "test"
    manager = LoginManager(app)
    manager.user_loader(User)
    Flagware(app, store=store)

    @app.get("/login/<user_id>")
    def log_in(user_id: str) -> str:
        login_user(User(user_id))
        return "ok"

    app.add_url_rule("/", "index", lambda: json.dumps(flagware.flags.as_dict()))
    client = app.test_client()
    assert json.loads(client.get("/").text)["beta"] is False
    client.get("/login/acct-1")
    assert json.loads(client.get("/").text)["beta"] is True


def test_the_flags_endpoint(store: MemoryStore) -> None:
    fw = Flagware(store=store, resolve_account=from_session)
    client = create_app(fw, FLAGWARE_CLIENT_PATH="/flagware/flags.json").test_client()
    login(client, "acct-1")
    response = client.get("/flagware/flags.json")
    assert response.json == {"flags": {"beta": True}, "variants": {}}
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Vary"] == "Cookie, Authorization, X-Flagware-Override"
    assert client.post("/flagware/flags.json").status_code == 405
    assert (
        client.get("/flagware/flags.json", headers={"Sec-Fetch-Site": "cross-site"}).status_code
        == 403
    )
    login(client, "tester")
    overridden = client.get("/flagware/flags.json", headers={"X-Flagware-Override": "beta=off"})
    assert overridden.json == {"flags": {"beta": False}, "variants": {}}


def test_configuration_from_app_config(tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(RULES))
    fw = Flagware(resolve_account=from_session)
    first = create_app(fw, FLAGWARE_RULES=str(rules))
    second = create_app(fw, FLAGWARE_RULES=str(rules))
    assert fw.store(first) is fw.store(second)  # one store per process and configuration
    assert isinstance(fw.store(first), flagware.FileStore)
    client = second.test_client()
    login(client, "acct-1")
    assert client.get("/flags").json["flags"]["beta"] is True


def test_a_missing_or_doubled_store_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match=r"set app.config\['FLAGWARE_REDIS_URL'\]"):
        create_app(Flagware())
    with pytest.raises(ValueError, match="not both"):
        store_from_config({"FLAGWARE_REDIS_URL": "redis://x", "FLAGWARE_RULES": "r.yaml"})


def test_redis_configuration(redis_server: Any, namespace: str) -> None:
    with flagware.RedisStore.from_url(redis_server.url, namespace=namespace) as seeding:
        seeding.save(RULES)
    fw = Flagware(resolve_account=from_session)
    app = create_app(fw, FLAGWARE_REDIS_URL=redis_server.url, FLAGWARE_NAMESPACE=namespace)
    assert isinstance(fw.store(app), flagware.RedisStore)
    client = app.test_client()
    login(client, "acct-1")
    assert client.get("/flags").json["flags"]["beta"] is True
