"""What every ``handover`` command shares: help that reads naturally, and errors in one line.

Typer prints its internal type labels (``--help <bool>``, ``<str>``, ``{org_id}``) and, for any
exception, a long traceback. ``HandoverGroup`` (the ``cls`` of every Typer app of the CLI) gives
each parameter a plain metavar (``TEXT``, ``INTEGER``, ``[a|b]``; none for flags) and turns the
errors an operator can fix (service down, bad settings, an API's refusal) into one or two lines
that say what to do, with a non-zero exit code. Anything else still shows its traceback: a bug.
"""

from __future__ import annotations

import asyncio
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
