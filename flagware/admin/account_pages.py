"""Pages about accounts: the test users, and "explain for account X"."""

from __future__ import annotations

import logging
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from flagware.account import Account
from flagware.admin.forms import BadInput, parse_scalar, whole_number
from flagware.admin.guard import operator
from flagware.admin.pages import Pages, saved
from flagware.errors import RulesetError

__all__ = ["AccountPages"]

logger = logging.getLogger("flagware")


class AccountPages(Pages):
    """Handlers for /test-users and /explain."""

    async def test_users(self, request: Request) -> HTMLResponse:
        return self.render(
            request,
            "test_users.html",
            users=sorted(self.store.ruleset().test_users),
            saved=request.query_params.get("saved"),
            problems=[],
        )

    async def change_test_users(self, request: Request) -> Response:
        fields = await self.write_form(request)
        if isinstance(fields, Response):
            return fields
        account = str(fields.get("account", "")).strip()
        remove = fields.get("remove") == "1"
        if not account:
            return self.render(
                request,
                "test_users.html",
                422,
                users=sorted(self.store.ruleset().test_users),
                saved=None,
                problems=["Give the account id of the test user."],
            )
        write = self.store.remove_test_user if remove else self.store.add_test_user
        try:
            commit = await run_in_threadpool(write, account, actor=operator(request))
        except RulesetError as error:
            return self.render(
                request,
                "test_users.html",
                422,
                users=sorted(self.store.ruleset().test_users),
                saved=None,
                problems=list(error.problems),
            )
        return self.redirect(request, "test_users", saved(commit))

    async def explain(self, request: Request) -> HTMLResponse:
        params = request.query_params
        account_id = params.get("account", "").strip()
        number_text = params.get("number", "").strip()
        attributes_text = params.get("attributes", "")
        problems: list[str] = []  # in what was typed: the answer is a 400
        lookup_problems: list[str] = []  # the application's lookup failed: the server's trouble
        rows: list[Any] = []
        account: Account | None = None
        if account_id:
            found = await self._look_up(account_id, lookup_problems)
            attributes: dict[str, Any] = dict(found.attributes) if found else {}
            for line in attributes_text.splitlines():
                if line.strip():
                    key, sep, value = line.partition("=")
                    if not sep or not key.strip():
                        problems.append(f"attribute lines look like key=value, got {line!r}")
                        continue
                    attributes[key.strip()] = parse_scalar(value)
            number = found.number if found else None
            if number_text:
                try:
                    number = whole_number(number_text, "the account number", signed=True)
                except BadInput as error:
                    problems.append(str(error))
            try:
                account = Account(account_id, number=number, attributes=attributes)
            except (TypeError, ValueError) as error:
                problems.append(str(error))
        if account is not None and not problems and not lookup_problems:
            engine = self.store.engine()
            flags = engine.evaluate_all(account)
            rows = [flags.evaluation(name) for name in sorted(engine.ruleset.flags)]
        return self.render(
            request,
            "explain.html",
            400 if problems else 200,
            account=account,
            account_id=account_id,
            number=number_text,
            attributes=attributes_text,
            problems=lookup_problems + problems,
            rows=rows,
            is_test_user=account is not None and account.id in self.store.ruleset().test_users,
        )

    async def _look_up(self, account_id: str, problems: list[str]) -> Account | None:
        """The application's account, found off the event loop (it may query a database);
        if the lookup fails, a problem for the page (the details go to the log only)."""
        if self.lookup_account is None:
            return None
        try:
            return await run_in_threadpool(self.lookup_account, account_id)
        except Exception:
            logger.exception("flagware admin: lookup_account(%r) raised", account_id)
            problems.append(
                f"looking up account {account_id!r} failed, so it cannot be explained with its "
                "real number and attributes (the server log has the error)"
            )
            return None
