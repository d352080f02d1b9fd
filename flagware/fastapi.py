"""FastAPI dependencies: the request's flags as a parameter, and routes gated by a flag.

The ASGI middleware does the work (:class:`flagware.asgi.FlagwareMiddleware`: one
evaluation per request, overrides for test users); these hand its result to endpoints::

    from fastapi import Depends, FastAPI
    from flagware.asgi import FlagwareMiddleware
    from flagware.fastapi import Flags, require_flag

    app = FastAPI()
    app.add_middleware(FlagwareMiddleware, store=store, resolve_account=resolve)

    @app.get("/checkout")
    async def checkout(flags: Flags) -> dict[str, bool]:
        return {"new": flags.is_enabled("new_checkout")}

    @app.get("/beta", dependencies=[Depends(require_flag("beta"))])  # 404 unless on
    async def beta() -> str: ...
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

try:
    from fastapi import Depends, HTTPException
    from starlette.requests import HTTPConnection
except ImportError:  # pragma: no cover - depends on the installed extras
    raise ImportError("flagware.fastapi needs FastAPI: pip install 'flagware[fastapi]'") from None

from flagware.engine.flagset import FlagSet
from flagware.errors import NoFlagContext

__all__ = ["Flags", "flags", "require_flag"]

SCOPE_KEY = "flagware.flags"  # where flagware.asgi puts the request's FlagSet


async def flags(connection: HTTPConnection) -> FlagSet:
    """``Depends(flags)``: the request's (or websocket's) FlagSet.

    Raises :class:`flagware.NoFlagContext` when the app is not behind
    :class:`flagware.asgi.FlagwareMiddleware`, a configuration error to see at once.
    """
    found = connection.scope.get(SCOPE_KEY)
    if not isinstance(found, FlagSet):
        raise NoFlagContext()
    return found


Flags = Annotated[FlagSet, Depends(flags)]
"""An endpoint parameter annotated ``Flags`` receives the request's FlagSet."""


def require_flag(
    name: str, *, status_code: int = 404
) -> Callable[[HTTPConnection], Awaitable[None]]:
    """A dependency that answers ``status_code`` (404: the route does not exist yet for
    this account) unless flag ``name`` is on for the request."""

    async def gate(connection: HTTPConnection) -> None:
        if not (await flags(connection)).is_enabled(name):
            raise HTTPException(status_code=status_code)

    gate.__name__ = f"require_flag_{name}"
    return gate
