"""A minimal Flask app reading flags per request (the middleware version comes with it).

Run it: ``python examples/flask_app/app.py`` then open http://127.0.0.1:8000/ or
``curl -H 'X-Account-Id: acct-42' http://127.0.0.1:8000/api/flags``.

The ruleset comes from ``FLAGWARE_RULES`` (a file, reloaded on change) or, by default,
the bundled ``examples/rules.yaml``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask, render_template_string, request

import flagware

RULES = os.environ.get("FLAGWARE_RULES", str(Path(__file__).parent.parent / "rules.yaml"))

# Demo accounts, as an authenticating gateway would know them.
DEMO_ACCOUNTS = {  # id: (account number, country, plan)
    "acct-42": (4211, "NL", "pro"),
    "acct-7": (7003, "US", "free"),
    "acct-100": (1002, "DE", "pro"),
    "testuser1": (1, "NL", "free"),
}
ACCOUNTS = {
    account_id: flagware.Account(account_id, number=n, attributes={"country": c, "plan": p})
    for account_id, (n, c, p) in DEMO_ACCOUNTS.items()
}

store = flagware.FileStore(RULES)
app = Flask(__name__)

PAGE = """<!doctype html><title>flagware demo</title>
<h1>Hello {{ account or "anonymous visitor" }}</h1>
{% if flags["new_checkout"] %}<p><strong>New checkout</strong> is on for you.</p>
{% else %}<p>You see the classic checkout.</p>{% endif %}
<table>{% for name, on in flags.as_dict().items() %}
<tr><td>{{ name }}</td><td>{{ "on" if on else "off" }}</td><td>{{ flags.reason(name) }}</td></tr>
{% endfor %}</table>
<p>Try <code>?account=acct-42</code>, <code>acct-7</code>, <code>acct-100</code>,
<code>testuser1</code>.</p>
"""


def current_account() -> flagware.Account | None:
    account_id = request.headers.get("X-Account-Id") or request.args.get("account")
    return ACCOUNTS.get(account_id or "")


@app.get("/")
def index() -> str:
    account = current_account()
    with flagware.use_flags(store.engine().evaluate_all(account)) as flags:
        return render_template_string(PAGE, flags=flags, account=account and account.id)


@app.get("/api/flags")
def api_flags() -> dict[str, Any]:
    account = current_account()
    flags = store.engine().evaluate_all(account)
    return {
        "account": account.id if account else None,
        "flags": flags.as_dict(),
        "variants": flags.variants(),
    }


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
