"""The ``flagware`` command group: global options, exit codes, and the commands.

Commands live in one module per topic, imported when one of their commands runs; this
module names them and turns flagware's expected errors into one-line messages with the
documented exit codes.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from flagware.cli.connect import install_log_handler
from flagware.cli.errors import ConfigError, Refused, Unavailable, problems_text
from flagware.cli.settings import Settings, default_actor
from flagware.errors import NotFound, RulesetError, StoreError

__all__ = ["COMMANDS", "cli"]

COMMANDS = {
    "validate": ("rules", "validate"),
    "push": ("rules", "push"),
    "pull": ("rules", "pull"),
    "diff": ("rules", "diff"),
    "list": ("flags", "list_flags"),
    "show": ("flags", "show"),
    "enable": ("flags", "enable"),
    "disable": ("flags", "disable"),
    "set": ("flags", "set_flag"),
    "eval": ("evaluate", "evaluate"),
    "lint": ("lint", "lint"),
    "test-users": ("users", "test_users"),
    "segments": ("segments", "segments"),
    "history": ("audit", "history"),
    "restore": ("audit", "restore"),
    "stale": ("stale", "stale"),
    "token": ("tokens", "token"),
    "admin": ("serve", "admin"),
    "demo": ("serve", "demo"),
}
"""Command name -> (module under ``flagware.cli``, attribute): a command's module is
imported when that command runs, so ``flagware set`` imports none of the other topics'."""

HELP = """Operate feature flags: the ruleset in Redis (--redis-url) or in a file (--rules).

\b
Examples:
  flagware --redis-url redis://localhost:6379/0 push flags.yaml
  flagware set new_checkout --percent 25
  flagware disable new_checkout
  flagware eval --account acct-42 --attr plan=pro

\b
Exit codes:
  0  done
  1  refused or not found: an invalid ruleset, an unknown flag, a version
     conflict, a declined confirmation; `diff` found differences
  2  usage error, or missing configuration (no store chosen, no secret,
     no admin credentials)
  3  store unavailable: Redis unreachable, or no valid ruleset in the namespace
"""


def _is_redis_error(exc: BaseException) -> bool:
    try:
        import redis  # noqa: PLC0415 - optional extra
    except ImportError:
        return False
    return isinstance(exc, redis.RedisError)


class FlagwareGroup(click.Group):
    """A click group that loads its commands from :data:`COMMANDS` on demand and turns
    flagware's errors into messages and exit codes."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = COMMANDS.get(cmd_name)
        if where is None:
            return None
        command: click.Command = getattr(
            importlib.import_module(f"flagware.cli.{where[0]}"), where[1]
        )
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RulesetError as exc:  # also raised by edits that would make it invalid
            raise Refused(f"{problems_text(exc)}\nnothing was written") from None
        except NotFound as exc:  # a flag or version that went away while the command ran
            raise Refused(f"{exc}; nothing was written") from None
        except StoreError as exc:  # VersionConflict is caught where it can happen
            raise Unavailable(str(exc)) from None
        except Exception as exc:
            if _is_redis_error(exc):
                raise Unavailable(f"Redis failed: {exc}") from None
            raise


def _choose_store(ctx: click.Context, redis_url: str | None, rules: Path | None) -> None:
    """Refuse two stores from the same kind of source; the command line beats the env."""
    if redis_url is None or rules is None:
        return
    on_command_line = {
        name
        for name in ("redis_url", "rules")
        if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE
    }
    if len(on_command_line) != 1:
        raise ConfigError("choose one store: --redis-url or --rules, not both")


@click.group(
    cls=FlagwareGroup,
    help=HELP,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--redis-url",
    envvar="FLAGWARE_REDIS_URL",
    metavar="URL",
    help="The ruleset in Redis: redis://[user:password@]host:port/db. Env: FLAGWARE_REDIS_URL.",
)
@click.option(
    "--namespace",
    envvar="FLAGWARE_NAMESPACE",
    default="default",
    show_default=True,
    help="The ruleset's namespace in Redis. Env: FLAGWARE_NAMESPACE.",
)
@click.option(
    "--rules",
    envvar="FLAGWARE_RULES",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="The ruleset in a file (.yaml, .json, .toml) instead. Env: FLAGWARE_RULES.",
)
@click.option(
    "--actor",
    envvar="FLAGWARE_ACTOR",
    default=default_actor,
    metavar="NAME",
    help="Who the audit history names for changes [default: <user>@<host> (cli)]. "
    "Env: FLAGWARE_ACTOR.",
)
@click.option("-v", "--verbose", is_flag=True, help="Also print the library's info messages.")
@click.version_option(package_name="flagware", prog_name="flagware")
@click.pass_context
def cli(
    ctx: click.Context,
    *,
    redis_url: str | None,
    namespace: str,
    rules: Path | None,
    actor: str,
    verbose: bool,
) -> None:
    """The group's callback: resolve the global options for the command."""
    if not actor.strip():
        raise click.BadParameter("must not be empty", param_hint="--actor")
    _choose_store(ctx, redis_url, rules)
    if redis_url is not None and rules is not None:  # the one on the command line wins
        if ctx.get_parameter_source("rules") is ParameterSource.COMMANDLINE:
            redis_url = None
        else:
            rules = None
    ctx.obj = Settings(redis_url, namespace, rules, actor.strip(), verbose)
    install_log_handler(ctx, verbose)
