"""``handover up``: one command starts PostgreSQL (embedded by default), API, worker, scheduler."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import httpx
from rich.console import Console

from services.cli.instance_lock import DataDirInUse, instance_lock
from services.cli.supervisor import ChildSpec, GaveUp, Supervisor
from shared.core.embedded import EmbeddedPostgres, start_embedded
from shared.core.local_secrets import generated_secret
from shared.core.schema_migrations import upgrade_to_head
from shared.core.settings import Settings
from shared.queue.broker import init_broker_schema, is_postgres_url

POLL_INTERVAL_S = 0.5
ADMIN_TOKEN_FILE = "admin-token"
EMBEDDED_URL_FILE = "embedded.url"


class Interrupts:
    """Ctrl-C/SIGTERM raise KeyboardInterrupt, held back inside ``deferred()``: nothing escapes."""

    def __init__(self) -> None:
        self._deferring = False
        self._pending = False

    def _handler(self, _signum: int, _frame: FrameType | None) -> None:
        if self._deferring:
            self._pending = True
            return
        raise KeyboardInterrupt

    @contextmanager
    def installed(self) -> Iterator[None]:
        previous = {s: signal.signal(s, self._handler) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    @contextmanager
    def deferred(self) -> Iterator[None]:
        self._deferring = True
        try:
            yield
        finally:
            self._deferring = False
        if self._pending:
            raise KeyboardInterrupt

    def ignore(self) -> None:
        """While stopping: every stop is bounded, so an impatient second Ctrl-C must not orphan."""
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


def admin_token(settings: Settings, data_dir: Path) -> tuple[str | None, str]:
    """The admin key and where it came from; in development one is generated and kept 0600."""
    if settings.admin_token is not None:
        return None, "the value of HANDOVER_ADMIN_TOKEN"
    if settings.env != "development":
        return None, "none: set HANDOVER_ADMIN_TOKEN"
    token = generated_secret(data_dir, ADMIN_TOKEN_FILE)
    path = data_dir / ADMIN_TOKEN_FILE
    os.chmod(path, 0o600)
    return token, str(path)


def child_specs(
    host: str, port: int, mllp_host: str = "127.0.0.1", mllp_port: int = 2575
) -> list[ChildSpec]:
    """The processes, run with this interpreter so the venv needs no activation.

    Started in this order and stopped in reverse: worker, scheduler, the MLLP listener, the API.
    """
    python = sys.executable
    api = (python, "-m", "uvicorn", "services.api.app:create_app", "--factory",
           "--host", host, "--port", str(port))  # fmt: skip
    worker = (python, "-m", "dramatiq", "services.worker.actors", "--processes", "1",
              "--threads", "4", "--worker-shutdown-timeout", "5000")  # fmt: skip
    mllp = (python, "-m", "services.cli", "mllp", "--mllp-host", mllp_host,
            "--mllp-port", str(mllp_port))  # fmt: skip
    return [
        ChildSpec("api", api),
        ChildSpec("mllp", mllp),
        ChildSpec("scheduler", (python, "-m", "services.cli", "scheduler")),
        ChildSpec("worker", worker),
    ]


def _wait_ready(url: str, supervisor: Supervisor) -> bool:
    """Poll /readyz for up to a minute while supervising (a crash here is restarted too)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        supervisor.poll()
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(POLL_INTERVAL_S)
    return False


def _start_database(data_dir: Path, console: Console) -> EmbeddedPostgres:
    console.print(f"starting embedded PostgreSQL in [bold]{data_dir / 'pg'}[/]")
    embedded = start_embedded(data_dir)
    if not embedded.started:
        console.print(
            f"[yellow]PostgreSQL was already running on {data_dir / 'pg'} "
            f"(pid {embedded.server.get_pid()}): using it, and leaving it running on exit[/]",
            soft_wrap=True,
        )
    return embedded


def _stop_database(embedded: EmbeddedPostgres | None, console: Console) -> None:
    """Only a server this launcher started: one it attached to belongs to someone else."""
    if embedded is not None and embedded.started:
        embedded.stop()
        console.print("[dim]stopped PostgreSQL[/dim]")


def run_up(settings: Settings, host: str, port: int, console: Console) -> int:
    """One launcher per data dir; start everything, supervise it, stop it all on Ctrl-C/SIGTERM."""
    data_dir = settings.data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    url = f"http://{host}:{port}"
    try:
        with instance_lock(data_dir, url):
            return _run_locked(settings, data_dir, host, port, console)
    except DataDirInUse as exc:
        console.print(f"[red]{exc}[/]", soft_wrap=True)
        return 1


def _run_locked(settings: Settings, data_dir: Path, host: str, port: int, console: Console) -> int:
    """Stop order: worker, scheduler, API, then PostgreSQL (only if this launcher started it)."""
    interrupts = Interrupts()
    supervisor: Supervisor | None = None
    embedded: EmbeddedPostgres | None = None
    exit_code = 0
    with interrupts.installed():
        try:
            database_url = settings.database_url
            if database_url is None:
                with interrupts.deferred():
                    embedded = _start_database(data_dir, console)
                database_url = embedded.url
                (data_dir / EMBEDDED_URL_FILE).write_text(database_url + "\n")
            broker_url = settings.broker_url or database_url
            console.print("applying migrations")
            upgrade_to_head(database_url)
            if is_postgres_url(broker_url):
                init_broker_schema(broker_url)
            token, token_source = admin_token(settings, data_dir)
            env = dict(
                os.environ,
                DATABASE_URL=database_url,
                BROKER_URL=broker_url,
                HANDOVER_PORT=str(port),
                HANDOVER_DATA_DIR=str(data_dir),
            )
            if token is not None:
                env["HANDOVER_ADMIN_TOKEN"] = token
            specs = child_specs(host, port, settings.mllp_host, settings.mllp_port)
            supervisor = Supervisor(specs, env, console, shield=interrupts.deferred)
            supervisor.start_all()
            url = f"http://{host}:{port}"
            ready = _wait_ready(url, supervisor)
            console.print(
                f"[bold green]{'ready' if ready else 'started (not ready yet)'}[/]: "
                f"{url}  (docs: {url}/docs)"
            )
            console.print(f"HL7 v2 over MLLP: {settings.mllp_host}:{settings.mllp_port}")
            console.print(f"admin key (Authorization: Bearer …) from {token_source}:")
            console.print(token or "(not shown)", soft_wrap=True)
            console.print("press Ctrl-C to stop")
            supervisor.watch(POLL_INTERVAL_S)
        except GaveUp as exc:
            console.print(f"[red]giving up: {exc}; stopping[/]", soft_wrap=True)
            exit_code = 1
        except KeyboardInterrupt:
            console.print("stopping…")
        finally:
            interrupts.ignore()
            if supervisor is not None:
                supervisor.stop_all()
            _stop_database(embedded, console)
    return exit_code
