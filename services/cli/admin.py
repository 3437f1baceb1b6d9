"""Operator commands: organizations, API keys, rebuilds and re-runs, straight on the database."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from services.cli.support import (
    REGION_RULE,
    CliError,
    DatabaseUnreachable,
    HandoverGroup,
    check_region,
    checked_database_url,
)
from shared.access.principal import Role
from shared.core import unit_of_work
from shared.core.db import create_engine, create_sessionmaker
from shared.core.settings import get_settings
from shared.episodes.rebuild import rebuild_aggregates
from shared.episodes.recompute import recompute_episodes
from shared.episodes.set_aside import release_set_aside
from shared.organizations.schemas import OrganizationIn, OrganizationPatch, OrgKind
from shared.organizations.service import (
    KeyNotAllowed,
    NotAHospital,
    OrganizationConflict,
    OrganizationNotFound,
    change_organization,
    issue_key,
    list_api_keys,
    list_organizations,
    register_organization,
    revoke_key,
)
from shared.queue.enqueue import RECOMPUTE_BATCH
from shared.sheets.store import rekey

org_app = typer.Typer(
    cls=HandoverGroup, help="Register, change and list organizations.", no_args_is_help=True
)
key_app = typer.Typer(
    cls=HandoverGroup, help="Create, list and revoke API keys.", no_args_is_help=True
)
console = Console(stderr=True)
T = TypeVar("T")


class EmbeddedServerGone(CliError):
    """`handover up` stopped (or crashed) and left its embedded.url behind."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"`handover up` is not running: {path} names its stopped PostgreSQL. "
            "Start `handover up` (in another terminal), or set DATABASE_URL"
        )


def _embedded_url_file() -> Path:
    from services.cli.launcher import EMBEDDED_URL_FILE  # the launcher's imports take seconds

    return Path(get_settings().data_dir).expanduser() / EMBEDDED_URL_FILE


def database_url() -> str:
    """DATABASE_URL, else the embedded server that `handover up` is running."""
    settings = get_settings()
    if settings.database_url is not None:
        return checked_database_url(settings.database_url)
    path = _embedded_url_file()
    if path.exists():
        return path.read_text().strip()
    console.print("[red]Set DATABASE_URL, or start the embedded default with `handover up`.[/]")
    raise typer.Exit(2)


def in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one committed transaction on a short-lived engine."""

    url = database_url()

    async def run() -> T:
        engine = create_engine(url, pool_size=1)
        try:
            async with (
                create_sessionmaker(engine)() as session,
                unit_of_work.transaction(session),
            ):
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except (ConnectionError, socket.gaierror, TimeoutError) as exc:
        if get_settings().database_url is None:  # the URL came from `handover up`'s file
            raise EmbeddedServerGone(_embedded_url_file()) from None
        raise DatabaseUnreachable(url, exc.strerror or str(exc)) from None


@org_app.command("add")
def org_add(
    org_id: Annotated[
        str, typer.Argument(help="医療機関コード / 介護保険事業所番号 or a stable code")
    ],
    kind: Annotated[OrgKind, typer.Option(help="What the organization is.")],
    name: Annotated[str, typer.Option(help="Display name")],
    region: Annotated[str, typer.Option(help="Region (rule set) code, a-z 0-9 -")],
    municipality_code: Annotated[str | None, typer.Option(help="6-digit 団体コード")] = None,
    medical_area: Annotated[str | None, typer.Option(help="二次医療圏 name")] = None,
    hl7_sending_facility: Annotated[
        str | None,
        typer.Option(help="Hospitals: MSH-4 of their HL7 v2 feed (1-20 printable, no | ^ ~ \\ &)"),
    ] = None,
) -> None:
    """Register an organization (an identical repeat is fine; a different one is refused)."""
    try:
        body = OrganizationIn(
            id=org_id,
            kind=kind,
            name=name,
            region=region,
            municipality_code=municipality_code,
            medical_area=medical_area,
            hl7_sending_facility=hl7_sending_facility,
        )
    except ValidationError as exc:
        for error in exc.errors(include_input=False):
            where = ".".join(map(str, error["loc"]))
            msg = f"use {REGION_RULE}" if where == "region" else str(error["msg"])
            console.print(f"[red]{escape(where)}: {escape(msg)}[/]")
        raise typer.Exit(2) from None
    try:
        _, created = in_transaction(lambda s: register_organization(s, body))
    except OrganizationConflict as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    console.print(f"[green]{'registered' if created else 'already registered'}[/] {org_id}")


@org_app.command("update")
def org_update(
    org_id: Annotated[str, typer.Argument(help="The registered organization's id")],
    name: Annotated[str | None, typer.Option(help="New display name")] = None,
    municipality_code: Annotated[
        str | None, typer.Option(help="6-digit 団体コード; '' clears it")
    ] = None,
    medical_area: Annotated[str | None, typer.Option(help="二次医療圏 name; '' clears it")] = None,
    hl7_sending_facility: Annotated[
        str | None,
        typer.Option(
            help="Hospitals: MSH-4 of their HL7 v2 feed (1-20 printable, no | ^ ~ \\ &);"
            " '' clears it"
        ),
    ] = None,
) -> None:
    """Change an organization's name, municipality code, medical area or HL7 sending facility
    (its id, kind and region never change)."""
    given = {
        "name": name,
        "municipality_code": municipality_code,
        "medical_area": medical_area,
        "hl7_sending_facility": hl7_sending_facility,
    }
    sent = {k: (None if v == "" else v) for k, v in given.items() if v is not None}
    if not sent:
        console.print("[red]nothing to change: give --name, --municipality-code, --medical-area"
                      " or --hl7-sending-facility[/]")  # fmt: skip
        raise typer.Exit(2)
    try:
        patch = OrganizationPatch.model_validate(sent)
    except ValidationError as exc:
        for error in exc.errors(include_input=False):
            console.print(f"[red]{'.'.join(map(str, error['loc']))}: {error['msg']}[/]")
        raise typer.Exit(2) from None
    try:
        in_transaction(lambda s: change_organization(s, org_id, patch))
    except (OrganizationConflict, OrganizationNotFound, NotAHospital) as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    console.print(f"[green]updated[/] {org_id}: {', '.join(sorted(sent))}")


@key_app.command("create")
def key_create(
    organization_id: Annotated[str, typer.Argument(help="The organization the key acts for")],
    role: Annotated[Role, typer.Option(help="What the key may do (viewer: aggregates only).")],
) -> None:
    """Create an API key; it is printed once on stdout and stored only as a hash."""
    try:
        issued = in_transaction(lambda s: issue_key(s, organization_id, role))
    except KeyNotAllowed as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    console.print(f"key id {issued.id} ({issued.role} for {issued.organization_id}):")
    typer.echo(issued.key)


@key_app.command("revoke")
def key_revoke(key_id: Annotated[uuid.UUID, typer.Argument(help="The key's id")]) -> None:
    """Revoke a key: it gets 401 from then on."""
    if not in_transaction(lambda s: revoke_key(s, key_id)):
        console.print(f"[red]no API key {key_id}[/]")
        raise typer.Exit(1)
    console.print(f"[green]revoked[/] {key_id}")


@org_app.command("list")
def org_list(
    kind: Annotated[OrgKind | None, typer.Option(help="Only this kind.")] = None,
    region: Annotated[str | None, typer.Option(help="Only this region.")] = None,
) -> None:
    """List the registered organizations, by id."""
    if region is not None:
        check_region(region)
    orgs = in_transaction(lambda s: list_organizations(s, kind=kind, region=region))
    table = Table(
        "id", "kind", "name", "region", "municipality", "medical area", "HL7 facility", box=None
    )
    for o in orgs:
        table.add_row(
            o.id,
            o.kind,
            o.name,
            o.region,
            o.municipality_code,
            o.medical_area,
            o.hl7_sending_facility,
        )
    Console().print(table)
    console.print(f"{len(orgs)} organization(s)")


@key_app.command("list")
def key_list(
    organization: Annotated[
        str | None, typer.Option(help="Only the keys of this organization.", show_default=False)
    ] = None,
) -> None:
    """List API keys (never the keys themselves): role, created, last used, revoked."""
    keys = in_transaction(lambda s: list_api_keys(s, organization, limit=None))
    table = Table(box=None)
    # The id is what `key revoke` needs: never cut, whatever the terminal's width; the other
    # columns wrap instead.
    table.add_column("id", no_wrap=True, min_width=36)
    for name in ("organization", "role", "created", "last used", "revoked"):
        table.add_column(name, overflow="fold")
    for k in keys:
        table.add_row(
            str(k.id), k.organization_id, k.role, _when(k.created_at),
            _when(k.last_used_at), _when(k.revoked_at),
        )  # fmt: skip
    Console().print(table)
    console.print(f"{len(keys)} key(s)")


def _when(at: datetime | None) -> str:
    return at.astimezone().strftime("%Y-%m-%d %H:%M") if at is not None else "-"


def rebuild_metrics() -> None:
    """Rebuild every daily aggregate from the event log (live recomputes wait meanwhile)."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn())  # fmt: skip
    started = time.monotonic()
    # A bar only on a terminal, erased when done: a failure (database down) is one line.
    live = Progress(*columns, console=console, transient=True, disable=not console.is_terminal)
    with live as progress:
        task = progress.add_task("counting episodes", total=None)

        def report(done: int, total: int) -> None:
            last = done >= total
            text = "summing aggregates and rollups" if last else "refolding episodes"
            progress.update(task, completed=done, total=total, description=text)

        folded = in_transaction(lambda s: rebuild_aggregates(s, datetime.now(UTC), report))
    elapsed = time.monotonic() - started
    console.print(f"[green]rebuilt[/] aggregates from {folded} episode(s) in {elapsed:.1f} s")


async def _refold_released(session: AsyncSession) -> tuple[int, int]:
    released = await release_set_aside(session)
    folded = 0
    for start in range(0, len(released), RECOMPUTE_BATCH):
        part = released[start : start + RECOMPUTE_BATCH]
        folded += await recompute_episodes(session, part, datetime.now(UTC))
    return len(released), folded


def refold_set_aside() -> None:
    """Fold the episodes the worker set aside again (after fixing the cause); exit 1 if any fail."""
    released, folded = in_transaction(_refold_released)
    failed = released - folded
    console.print(f"[green]folded[/] {folded} of {released} set-aside episode(s)")
    if failed:
        console.print(f"[red]{failed} still fail[/]: GET /v1/admin/set-aside-episodes lists why")
        raise typer.Exit(1)


def rekey_sheets() -> None:
    """Re-encrypt every stored sheet with HANDOVER_SHEET_KEY (the last step of a rotation)."""
    settings = get_settings()
    done = in_transaction(lambda s: rekey(s, settings))
    console.print(f"[green]re-encrypted[/] {done} sheet(s) with the current HANDOVER_SHEET_KEY")
