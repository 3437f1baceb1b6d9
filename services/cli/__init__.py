"""The ``handover`` command: run everything (``up``) or one process at a time (production)."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from rich.console import Console

from services.cli.admin import (
    key_app,
    org_app,
    rebuild_metrics,
    refold_set_aside,
    rekey_sheets,
)
from services.cli.demo.post import demo_command
from services.cli.people import user_app
from services.cli.support import HandoverGroup, required_database_url
from shared.core.settings import get_settings

app = typer.Typer(
    cls=HandoverGroup,
    help="Handover (入退院支援ルール) service: API, worker, scheduler and migrations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # a local may hold a token or a patient's record
)
console = Console(stderr=True)

HostOption = Annotated[str, typer.Option(help="Interface the API listens on.")]
PortOption = Annotated[
    int | None, typer.Option(help="API port (default: HANDOVER_PORT or 8000).", show_default=False)
]


MllpHostOption = Annotated[
    str | None,
    typer.Option(
        help="Interface the MLLP listener listens on (default: HANDOVER_MLLP_HOST or 127.0.0.1).",
        show_default=False,
    ),
]
MllpPortOption = Annotated[
    int | None,
    typer.Option(help="MLLP port (default: HANDOVER_MLLP_PORT or 2575).", show_default=False),
]


@app.command()
def up(
    host: HostOption = "127.0.0.1",
    port: PortOption = None,
    mllp_host: MllpHostOption = None,
    mllp_port: MllpPortOption = None,
) -> None:
    """Start PostgreSQL (embedded unless DATABASE_URL is set), API, worker, scheduler, MLLP."""
    from services.cli.launcher import run_up

    settings = get_settings()
    overrides = {"mllp_host": mllp_host, "mllp_port": mllp_port}
    settings = settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    try:
        code = run_up(settings, host, port or settings.port, console)
    except Exception as exc:
        console.print(f"[red]handover up failed:[/] {type(exc).__name__}: {exc}")
        raise typer.Exit(1) from None
    raise typer.Exit(code)


@app.command()
def migrate() -> None:
    """Apply database migrations and, for the Postgres broker, create its queue schema."""
    from shared.core.schema_migrations import upgrade_to_head
    from shared.queue.broker import init_broker_schema, is_postgres_url

    settings = get_settings()
    database_url = required_database_url("migrate")
    upgrade_to_head(database_url)
    console.print("[green]database at head[/]")
    broker_url = settings.broker_url or database_url
    if is_postgres_url(broker_url):
        created = init_broker_schema(broker_url)
        console.print(f"[green]broker schema {'created' if created else 'present'}[/]")


@app.command()
def api(
    host: HostOption = "0.0.0.0",
    port: PortOption = None,
    workers: Annotated[
        int, typer.Option(min=1, help="API processes (each one core's worth of requests).")
    ] = 1,
) -> None:
    """Run the HTTP API (uvicorn; more processes with --workers, or more containers)."""
    import uvicorn

    settings = get_settings()
    required_database_url("api")
    uvicorn.run(
        "services.api.app:create_app",
        factory=True,
        host=host,
        port=port or settings.port,
        workers=workers,
        proxy_headers=True,
        log_level=settings.log_level.lower(),
    )


@app.command()
def worker(
    processes: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    threads: Annotated[int, typer.Option(help="Threads per worker process.")] = 4,
) -> None:
    """Run Dramatiq worker processes on the broker from BROKER_URL (or the database)."""
    required_database_url("worker")  # one line here, not a traceback from each process
    argv = [
        sys.executable, "-m", "dramatiq", "services.worker.actors",
        "--processes", str(processes), "--threads", str(threads),
        "--worker-shutdown-timeout", "5000",
    ]  # fmt: skip
    os.execv(sys.executable, argv)


@app.command()
def scheduler() -> None:
    """Run the one periodic scheduler (periodiq): sends sweep every minute."""
    from services.worker.scheduler import run_scheduler

    required_database_url("scheduler")
    raise typer.Exit(run_scheduler())


@app.command()
def mllp(mllp_host: MllpHostOption = None, mllp_port: MllpPortOption = None) -> None:
    """Run the MLLP listener: HL7 v2 ADT messages over TCP, answered with ACKs."""
    import asyncio
    import logging

    from services.mllp.channels import ChannelConfigError
    from services.mllp.server import run

    settings = get_settings()
    required_database_url("mllp")
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    try:
        asyncio.run(run(settings, mllp_host or settings.mllp_host, mllp_port or settings.mllp_port))
    except (OSError, ChannelConfigError) as exc:  # a taken port, an unusable channel setting
        console.print(f"[red]handover mllp failed:[/] {exc}")
        raise typer.Exit(1) from None


app.add_typer(org_app, name="org")
app.add_typer(key_app, name="key")
app.add_typer(user_app, name="user")
app.command("rebuild-metrics")(rebuild_metrics)
app.command("refold-set-aside")(refold_set_aside)
app.command("rekey-sheets")(rekey_sheets)
app.command("demo")(demo_command)
