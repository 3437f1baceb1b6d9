"""What every ``handover`` command shares: help that reads naturally, and errors in one line.

Typer prints its internal type labels (``--help <bool>``, ``<str>``, ``{org_id}``) and, for any
exception, a long traceback. ``HandoverGroup`` (the ``cls`` of every Typer app of the CLI) gives
each parameter a plain metavar (``TEXT``, ``INTEGER``, ``[a|b]``; none for flags) and turns the
errors an operator can fix (service down, bad settings, an API's refusal) into one or two lines
that say what to do, with a non-zero exit code. Anything else still shows its traceback: a bug.
"""

from __future__ import annotations

import asyncio
import re
import socket
from enum import Enum
from typing import Any, NoReturn

import httpx
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, ProgrammingError
from typer.core import TyperArgument, TyperGroup, TyperOption
from typing_extensions import override

console = Console(stderr=True)
TYPE_NAMES = {"str": "TEXT", "int": "INTEGER", "float": "FLOAT", "bool": "BOOLEAN"}
EXIT_FAILED = 1  # the command could not do its work (service down, refused)
EXIT_USAGE = 2  # the command was set up wrongly (settings, arguments)


class CliError(Exception):
    """An expected failure: ``str(self)`` says what happened and what to do."""

    exit_code = EXIT_FAILED


class ServiceUnreachable(CliError):
    """The API did not answer at all."""

    def __init__(self, url: str) -> None:
        super().__init__(
            f"cannot reach the service at {url}: is `handover up` running? "
            "(set --url or HANDOVER_PORT)"
        )


class DatabaseUnreachable(CliError):
    """The database did not accept a connection."""

    def __init__(self, url: str, reason: str) -> None:
        where = safe_url(url)
        super().__init__(
            f"cannot reach the database at {where} ({reason}): is `handover up` or PostgreSQL "
            "running? (set DATABASE_URL to use another)"
        )


class SetupError(CliError):
    """The command is set up wrongly (settings, arguments): exit 2."""

    exit_code = EXIT_USAGE


DATABASE_URL_SHAPE = "postgresql://USER:PASSWORD@HOST:5432/DATABASE"
REGION_RULE = "1 to 64 of a-z, 0-9 and - (for example kagoshima)"
_REGION = re.compile(r"^[a-z0-9-]{1,64}$")


def checked_database_url(url: str) -> str:
    """``url`` when it names a PostgreSQL database, else a SetupError that never shows it (it
    may hold a password)."""
    try:
        parsed = make_url(url)
    except Exception:
        parsed = None
    # A host, or a unix-socket directory in ``?host=`` (the embedded server listens on one only).
    located = parsed is not None and (parsed.host or parsed.query.get("host"))
    if parsed is None or not parsed.drivername.startswith("postgresql") or not located:
        raise SetupError(f"DATABASE_URL is not a PostgreSQL URL: set it like {DATABASE_URL_SHAPE}")
    return url


def required_database_url(command: str) -> str:
    """DATABASE_URL for a production process (api, mllp, worker, scheduler, migrate)."""
    from shared.core.settings import get_settings

    url = get_settings().database_url
    if url is None:
        raise SetupError(
            f"DATABASE_URL is not set: `handover {command}` needs it (set DATABASE_URL="
            f"{DATABASE_URL_SHAPE}, or run everything on the embedded default with `handover up`)"
        )
    return checked_database_url(url)


def check_region(region: str, option: str = "--region") -> str:
    """A region code as the API takes it, else a SetupError saying what one looks like."""
    if not _REGION.match(region):
        raise SetupError(f"{option} {region!r} is not a region code: use {REGION_RULE}")
    return region


def check_base_url(url: str) -> str:
    """An http(s) URL with a host (the demo's --url), without a trailing slash."""
    try:
        parsed = httpx.URL(url)
    except Exception:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise SetupError(
            f"--url {url!r} is not an http:// or https:// address: "
            "give the API's base URL, for example http://127.0.0.1:8000"
        )
    return url.rstrip("/")


class ServiceRefused(CliError):
    """The API answered with an error (problem+json: its title and detail are shown)."""

    def __init__(self, what: str, response: httpx.Response) -> None:
        self.status_code = response.status_code
        super().__init__(f"{what}: HTTP {response.status_code} {problem_text(response)}")


def problem_text(response: httpx.Response) -> str:
    """``title: detail`` of a problem+json answer, else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if not isinstance(body, dict):
        return str(body)[:200]
    parts = [str(p) for p in (body.get("title"), body.get("detail")) if p]
    return ": ".join(dict.fromkeys(parts)) or response.reason_phrase


def safe_url(url: str) -> str:
    """A database URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "the configured database"


def settings_problem(exc: ValidationError) -> str:
    """One line per invalid setting, never the values (a token must not reach the terminal)."""
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        msg = str(error["msg"]).removeprefix("Value error, ")
        loc = ".".join(map(str, error["loc"]))
        lines.append(f"{loc}: {msg}" if loc else msg)
    return "invalid settings: " + "; ".join(lines)


def describe(exc: BaseException) -> tuple[str, int] | None:
    """The message and exit code of an expected error; None for a bug."""
    if isinstance(exc, CliError):
        return str(exc), exc.exit_code
    if isinstance(exc, ValidationError) and exc.title == "Settings":
        return settings_problem(exc), EXIT_USAGE
    if isinstance(exc, httpx.TransportError):
        url = str(exc.request.url.copy_with(path="/", query=None)).rstrip("/")
        return str(ServiceUnreachable(url)), EXIT_FAILED
    if isinstance(exc, ProgrammingError) and "does not exist" in str(exc.orig):
        first = str(exc.orig).splitlines()[0]
        return f"the database is not migrated ({first}): run `handover migrate`", EXIT_FAILED
    if isinstance(exc, (OperationalError, InterfaceError, DBAPIError)):
        first = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
        return f"database error: {first} (is DATABASE_URL right?)", EXIT_FAILED
    if isinstance(exc, (ConnectionError, socket.gaierror, TimeoutError, asyncio.TimeoutError)):
        return f"cannot connect: {exc} (is `handover up` running?)", EXIT_FAILED
    return None


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    """Print one red line to stderr and exit with ``code``."""
    console.print(f"[red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


class NaturalArgument(TyperArgument):
    """An argument shown as ``ORG_ID`` (``[ORG_ID]`` when optional), not ``{org_id}``."""

    def _usage_display_name(self) -> str:
        name = self.display_name_raw
        return name if self.required else f"[{name}]"

    @override  # typer calls it as display_type_rich(ctx=ctx): the name stays
    def display_type_rich(self, ctx: Any) -> str | None:
        return None  # the name and the help say it; `<str>` says nothing


def _type_label(param: TyperOption) -> str:
    """TEXT, INTEGER, UUID…; a choice is named after the option and its values join the help."""
    desc = param.type_descriptor
    if desc.is_choice:
        values = ", ".join(str(c.value if isinstance(c, Enum) else c) for c in desc.choices or ())
        param.help = f"{param.help or ''} One of: {values}.".strip()
        return (param.name or "choice").upper()
    bare = param.bare_type()
    return TYPE_NAMES.get(bare, bare.upper())


def naturalize(params: list[Any]) -> list[Any]:
    """Give each parameter a plain metavar (once: a parameter with one is left alone)."""
    for param in params:
        if isinstance(param, TyperOption) and param.metavar is None:
            param.metavar = "" if param.is_flag or param.count else _type_label(param)
        elif isinstance(param, TyperArgument) and not isinstance(param, NaturalArgument):
            if param.metavar is None:
                param.metavar = (param.name or "value").upper()
            param.__class__ = NaturalArgument
    return params


class HandoverGroup(TyperGroup):
    """The CLI's groups: natural help for them and their commands, expected errors in one line."""

    def get_params(self, ctx: Any) -> list[Any]:
        return naturalize(super().get_params(ctx))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None and not isinstance(command, HandoverGroup):
            naturalize(command.get_params(ctx))
        return command

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            found = describe(exc)
            if found is None:
                raise
            fail(*found)
