"""What a browser may see of a request's flags: the values of flags marked ``client: true``.

Flags are evaluated on the server only; a browser gets the answers for its own account,
never the ruleset (no allowlists, attributes, salts or other accounts' buckets). Two ways
to hand them over, both limited to ``client: true`` flags:

- an endpoint the middlewares mount when given ``client_path`` (``/flagware/flags.json``
  is the usual one): ``GET`` returns :func:`client_payload` as JSON, marked
  ``Cache-Control: private, no-store`` and ``Vary`` on what identifies the account, so
  no shared cache hands one account's flags to another;
- :func:`bootstrap_script`, which inlines the same JSON in the first page, so its first
  paint needs no request.

A test user's overrides apply to both, as they do to the server's own reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flagware.engine.flagset import FlagSet
    from flagware.stores.store import Store

__all__ = [
    "DEFAULT_CLIENT_PATH",
    "DEFAULT_VARY",
    "SCRIPT_ID",
    "bootstrap_script",
    "client_names",
    "client_payload",
    "is_cross_site",
    "payload_response",
]

DEFAULT_CLIENT_PATH = "/flagware/flags.json"
# What usually decides the account (a session cookie, a bearer token), and the override.
DEFAULT_VARY = ("Cookie", "Authorization")
SCRIPT_ID = "flagware-flags"
# JSON inside <script> must not close the element or open a comment; U+2028/9 are escaped
# for older JavaScript parsers. Escaped, the JSON still parses to the same value.
_HTML_SAFE = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def client_names(store: Store) -> tuple[str, ...]:
    """The names of the flags the store's current ruleset marks ``client: true``."""
    return store.engine().client_flags


def client_payload(flags: FlagSet, names: Iterable[str]) -> dict[str, Any]:
    """``{"flags": {name: bool}, "variants": {name: variant}}`` for ``names`` only.

    A flag that is off, or has no variants, has no entry under ``variants``.
    """
    values = {name: flags.is_enabled(name) for name in names}
    variants: dict[str, str] = {}
    for name, on in values.items():
        if on:
            chosen = flags.variant(name)
            if chosen is not None:
                variants[name] = chosen
    return {"flags": values, "variants": variants}


def _json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def payload_response(
    payload: dict[str, Any], vary: Iterable[str], override_header: str
) -> tuple[bytes, list[tuple[str, str]]]:
    """The endpoint's body and headers for ``payload``."""
    body = _json(payload).encode("utf-8")
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "private, no-store"),
        ("Vary", ", ".join([*vary, override_header])),
        ("X-Content-Type-Options", "nosniff"),
    ]
    return body, headers


def bootstrap_script(
    flags: FlagSet, names: Iterable[str], *, element_id: str = SCRIPT_ID, nonce: str | None = None
) -> str:
    """``<script type="application/json" id="flagware-flags">{...}</script>``, safe to
    inline in HTML as it is (mark it safe in your template engine); read it in the page
    with ``JSON.parse(document.getElementById("flagware-flags").textContent)``."""
    attributes = f' id="{_attribute(element_id)}"'
    if nonce is not None:
        attributes += f' nonce="{_attribute(nonce)}"'
    text = _json(client_payload(flags, names)).translate(_HTML_SAFE)
    return f'<script type="application/json"{attributes}>{text}</script>'


def _attribute(value: str) -> str:
    """``value`` escaped for a double-quoted HTML attribute."""
    return (
        value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    )


def is_cross_site(sec_fetch_site: str | None) -> bool:
    """Whether the browser says another site made the request (``Sec-Fetch-Site``): the
    endpoint is same-origin only, and refuses those."""
    return sec_fetch_site == "cross-site"
