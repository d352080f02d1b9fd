"""What both example apps share: the demo accounts, who is logged in, and the store.

In a real deployment an authenticating gateway or your session layer tells you who the
account is; here a header (``X-Account-Id``, as a gateway would set it) or a signed demo
login cookie does. The demo login lets anyone log in as any account, test users included:
it exists so you can click through the example, and must never be deployed.

Configuration, all from the environment (see :func:`settings_from_env`):

- ``FLAGWARE_DEMO_LOGIN``: ``off`` removes the login form and ignores the login cookie
  (only ``X-Account-Id`` identifies accounts then); on by default.
- ``FLAGWARE_DEMO_SECRET``: signs the login cookie. Unset, a random secret is generated
  at first start and kept in a file only this user can read (``~/.cache/flagware/``), so
  every worker of one server, and the next restart, agree on it. There is no default
  anyone else could know.
- ``FLAGWARE_TOKEN_SECRET``: verifies signed override tokens (the secret ``flagware
  token`` mints them with). A different secret from the login's; unset, tokens are off.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TextIO

from itsdangerous import BadSignature, URLSafeSerializer

import flagware
from flagware.admin import BasicAuth

BUNDLED_RULES = Path(__file__).parent / "rules.yaml"
SESSION_COOKIE = "flagware_demo_session"
LOGIN_ENV = "FLAGWARE_DEMO_LOGIN"
LOGIN_SECRET_ENV = "FLAGWARE_DEMO_SECRET"
TOKEN_SECRET_ENV = "FLAGWARE_TOKEN_SECRET"
SECRET_FILE_NAME = "demo-login-secret"
LOGIN_BANNER = (
    "demo login: anyone can log in as any account, test users included — never deploy this"
)
# What older versions of this example signed with when FLAGWARE_DEMO_SECRET was unset. It is
# public, so it is refused as a secret (someone may still have it in an .env file).
PUBLISHED_SECRET = "flagware-demo-secret-change-me"
_ON = frozenset({"", "on", "1", "true", "yes"})
_OFF = frozenset({"off", "0", "false", "no"})
_GENERATED = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)

DEMO_ACCOUNTS = {  # id: (account number, country, plan)
    "acct-42": (4211, "NL", "pro"),
    "acct-7": (7003, "US", "free"),
    "acct-100": (1002, "DE", "pro"),
    "acct-555": (5555, "FR", "team"),
    "testuser1": (1, "NL", "free"),
    "testuser2": (2, "GB", "pro"),
}
ACCOUNTS = {
    account_id: flagware.Account(account_id, number=n, attributes={"country": c, "plan": p})
    for account_id, (n, c, p) in DEMO_ACCOUNTS.items()
}


class _Request(Protocol):
    """What the resolver needs; werkzeug's Request and Starlette's HTTPConnection both fit."""

    @property
    def headers(self) -> Any: ...

    @property
    def cookies(self) -> Any: ...


class DemoLogin:
    """The demo login: a cookie naming the account, signed so a visitor cannot edit it.

    Signing stops forgery, not impersonation: the login form itself lets anyone pick any
    account. A real app sets its session after checking a password.
    """

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("the demo login needs a secret")
        self._sessions = URLSafeSerializer(secret, salt="flagware-demo-login")

    def cookie(self, account_id: str) -> str:
        """The signed cookie value that logs ``account_id`` in."""
        return self._sessions.dumps(account_id)

    def account_id(self, cookie: str | None) -> str | None:
        """The account a cookie logs in, or None if it is missing or not signed by us."""
        if not cookie:
            return None
        try:
            value = self._sessions.loads(cookie)
        except BadSignature:
            return None
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Settings:
    """How an example app identifies accounts and verifies override tokens."""

    login: DemoLogin | None  # None: FLAGWARE_DEMO_LOGIN=off
    token_secret: str | None  # None: signed override tokens are off

    def resolve_account(self, request: _Request) -> flagware.Account | None:
        """The demo account of a request: the gateway header first, then the login cookie."""
        account_id = request.headers.get("X-Account-Id")
        if account_id is None and self.login is not None:
            account_id = self.login.account_id(request.cookies.get(SESSION_COOKIE))
        return ACCOUNTS.get(account_id or "")


def settings_from_env(
    environ: Mapping[str, str] | None = None, *, out: TextIO | None = None
) -> Settings:
    """The examples' settings from the environment; says on ``out`` (stderr) what is unsafe.

    Raises SystemExit with a message for a setting it must not run with.
    """
    env = os.environ if environ is None else environ
    say = sys.stderr if out is None else out
    switch = env.get(LOGIN_ENV, "").strip().lower()
    if switch not in _ON | _OFF:
        raise SystemExit(f"{LOGIN_ENV}={env[LOGIN_ENV]!r}: use on or off")
    login_secret = None
    if switch in _ON:
        print(
            f"flagware example: WARNING, {LOGIN_BANNER}. Set {LOGIN_ENV}=off to turn it off.",
            file=say,
        )
        login_secret = _login_secret(env, say)
    else:
        print(f"flagware example: demo login off ({LOGIN_ENV}=off).", file=say)
    print(
        "flagware example: accounts are also taken from the X-Account-Id header, as a "
        "gateway sets it; deploy only behind one that overwrites the client's.",
        file=say,
    )
    token_secret = env.get(TOKEN_SECRET_ENV) or None
    if token_secret is None:
        print(
            f"flagware example: signed override tokens are off (set {TOKEN_SECRET_ENV} to the "
            "secret `flagware token` mints them with).",
            file=say,
        )
    elif token_secret == PUBLISHED_SECRET:
        raise SystemExit(f"{TOKEN_SECRET_ENV} is a published example value; choose your own")
    elif token_secret == login_secret:
        raise SystemExit(
            f"{TOKEN_SECRET_ENV} must differ from {LOGIN_SECRET_ENV}: whoever can sign a login "
            "must not also be able to mint override tokens"
        )
    return Settings(None if login_secret is None else DemoLogin(login_secret), token_secret)


def _login_secret(env: Mapping[str, str], say: TextIO) -> str:
    chosen = env.get(LOGIN_SECRET_ENV)
    if chosen == PUBLISHED_SECRET:
        raise SystemExit(
            f"{LOGIN_SECRET_ENV} is the default older flagware examples published; anyone can "
            "forge logins with it. Choose your own, or unset it to have one generated."
        )
    if chosen:
        return chosen
    directory = private_cache_dir(env)
    if directory is None:
        print(
            "flagware example: no private directory to keep the demo login secret in; logins "
            f"last as long as this process, in this worker only (set {LOGIN_SECRET_ENV}).",
            file=say,
        )
        return secrets.token_urlsafe(32)
    path = directory / SECRET_FILE_NAME
    try:
        secret = _kept_secret(path)
    except (OSError, ValueError) as exc:
        print(
            f"flagware example: cannot use {path} ({exc}); logins last as long as this "
            f"process, in this worker only (set {LOGIN_SECRET_ENV}, or delete the file).",
            file=say,
        )
        return secrets.token_urlsafe(32)
    print(
        f"flagware example: demo login cookies are signed with the secret kept in {path} "
        f"(set {LOGIN_SECRET_ENV} to choose one).",
        file=say,
    )
    return secret


def private_cache_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    """A directory only this user can write: ~/.cache/flagware, else one in the temp dir."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    candidates = [Path(base) / "flagware", Path(tempfile.gettempdir()) / f"flagware-{os.getuid()}"]
    for directory in candidates:
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            continue
        if _private(directory, stat.S_ISDIR, 0o022):
            return directory
    return None


def _private(path: Path, kind: Callable[[int], bool], forbidden: int) -> bool:
    """Whether ``path`` (not followed if a link) is this user's own, of the ``kind`` wanted
    (``stat.S_ISDIR``, ``stat.S_ISREG``) and has none of the ``forbidden`` mode bits."""
    try:
        st = path.lstat()
    except OSError:
        return False
    return st.st_uid == os.getuid() and kind(st.st_mode) and not st.st_mode & forbidden


def _kept_secret(path: Path) -> str:
    """The secret kept in ``path``, created (mode 0600) by whichever process comes first.

    The file appears complete or not at all (written aside, then hard-linked into place,
    which fails if it exists), so gunicorn workers starting at once all read the winner's.
    """
    if not path.exists():
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(secrets.token_urlsafe(32) + "\n")
            # FileExistsError: another worker was first, and its secret is the one to use.
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    if not _private(path, stat.S_ISREG, 0o077):
        raise ValueError("it must be a file of yours that only you can read (mode 0600)")
    secret = path.read_text(encoding="ascii").strip()
    if not _GENERATED.fullmatch(secret):
        raise ValueError("it does not hold a generated secret")
    return secret


def admin_auth() -> BasicAuth:
    """The admin panel's login: FLAGWARE_ADMIN_USER / FLAGWARE_ADMIN_PASSWORD, or a random
    password printed at start (a demo must not ship a known default)."""
    user = os.environ.get("FLAGWARE_ADMIN_USER") or "admin"
    password = os.environ.get("FLAGWARE_ADMIN_PASSWORD")
    if not password:
        password = secrets.token_urlsafe(12)
        print(
            f"flagware admin panel: user {user!r}, password {password!r} "
            "(set FLAGWARE_ADMIN_PASSWORD to choose one)",
            file=sys.stderr,
        )
    return BasicAuth(user, password)


def store_from_env() -> flagware.Store:
    """The store the environment asks for.

    ``FLAGWARE_REDIS_URL``: the shared ruleset in Redis (seeded with the bundled ruleset
    if Redis has none yet); ``FLAGWARE_RULES``: a file, reloaded on change; neither: the
    bundled ruleset file.
    """
    redis_url = os.environ.get("FLAGWARE_REDIS_URL")
    if redis_url:
        return flagware.RedisStore.from_url(
            redis_url,
            namespace=os.environ.get("FLAGWARE_NAMESPACE", "demo"),
            bootstrap=BUNDLED_RULES,
        )
    return flagware.FileStore(os.environ.get("FLAGWARE_RULES") or BUNDLED_RULES)


def flags_payload(flags: flagware.FlagSet) -> dict[str, Any]:
    """The body of ``GET /api/flags``."""
    account = flags.account
    return {
        "account": account.id if account else None,
        "flags": flags.as_dict(),
        "variants": flags.variants(),
    }
