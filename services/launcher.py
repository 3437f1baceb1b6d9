"""``handover up``: one command starts PostgreSQL (embedded by default), API, worker, scheduler."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx
from rich.console import Console

from services.worker.broker import init_broker_schema, is_postgres_url
from shared.embedded import EmbeddedPostgres, start_embedded
from shared.schema_migrations import upgrade_to_head
from shared.settings import Settings

STOP_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.5
ADMIN_TOKEN_FILE = "admin-token"
EMBEDDED_URL_FILE = "embedded.url"


@dataclass
class Child:
    """A child process leading its own process group, so Ctrl-C in the terminal never reaches it."""

    name: str
    popen: subprocess.Popen[bytes]

    @property
    def pgid(self) -> int:
        return self.popen.pid

    def group_alive(self) -> bool:
        try:
            os.killpg(self.pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


@dataclass
class Supervisor:
    """Starts children and stops them in a given order, escalating to SIGKILL of the whole group."""

    console: Console
    children: list[Child] = field(default_factory=list)

    def spawn(self, name: str, argv: list[str], env: dict[str, str]) -> Child:
        popen = subprocess.Popen(argv, env=env, start_new_session=True)
        child = Child(name, popen)
        self.children.append(child)
        self.console.print(f"[dim]started {name} (pid {popen.pid})[/dim]")
        return child

    def first_exited(self) -> Child | None:
        return next((c for c in self.children if c.popen.poll() is not None), None)

    def stop(self, child: Child, timeout: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM the leader only (dramatiq forwards it to its own children), then SIGKILL all."""
        if child.popen.poll() is None:
            child.popen.send_signal(signal.SIGTERM)
            try:
                child.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.console.print(f"[yellow]{child.name} still running after {timeout:.0f}s[/]")
        deadline = time.monotonic() + 2.0
        while child.group_alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        if child.group_alive():
            os.killpg(child.pgid, signal.SIGKILL)
        if child.popen.poll() is None:
            child.popen.wait()
        self.console.print(f"[dim]stopped {child.name} (exit {child.popen.returncode})[/dim]")

    def stop_all(self, order: list[str]) -> None:
        ranked = sorted(self.children, key=lambda c: order.index(c.name) if c.name in order else 99)
        for child in ranked:
            self.stop(child)
        self.children.clear()


class Interrupts:
    """Ctrl-C/SIGTERM raise KeyboardInterrupt, held back inside ``deferred()``: nothing escapes."""

    def __init__(self) -> None:
        self._deferring = False
        self._pending = False

    def _handler(self, signum: int, frame: FrameType | None) -> None:
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
    path = data_dir / ADMIN_TOKEN_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(32))
    os.chmod(path, 0o600)
    return path.read_text().strip(), str(path)


def child_commands(host: str, port: int) -> dict[str, list[str]]:
    """The three processes, run with this interpreter so the venv needs no activation."""
    python = sys.executable
    return {
        "api": [
            python,
            "-m",
            "uvicorn",
            "services.api.app:create_app",
            "--factory",
            "--host",
            host,
            "--port",
            str(port),
        ],
        "worker": [
            python,
            "-m",
            "dramatiq",
            "services.worker.actors",
            "--processes",
            "1",
            "--threads",
            "4",
            "--worker-shutdown-timeout",
            "5000",
        ],
        "scheduler": [python, "-m", "services.cli", "scheduler"],
    }


def _wait_ready(url: str, child: Child) -> bool:
    """Poll /readyz for up to a minute; False if the API died or never became ready."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and child.popen.poll() is None:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(POLL_INTERVAL_S)
    return False


def run_up(settings: Settings, host: str, port: int, console: Console) -> int:
    """Start everything; on Ctrl-C/SIGTERM stop worker, scheduler, API, then PostgreSQL."""
    data_dir = settings.data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    supervisor = Supervisor(console)
    embedded: EmbeddedPostgres | None = None
    exit_code = 0
    interrupts = Interrupts()
    with interrupts.installed():
        try:
            database_url = settings.database_url
            if database_url is None:
                console.print(f"starting embedded PostgreSQL in [bold]{data_dir / 'pg'}[/]")
                with interrupts.deferred():
                    embedded = start_embedded(data_dir)
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
            commands = child_commands(host, port)
            with interrupts.deferred():
                for name in ("api", "worker", "scheduler"):
                    supervisor.spawn(name, commands[name], env)
            url = f"http://{host}:{port}"
            ready = _wait_ready(url, supervisor.children[0])
            console.print(
                f"[bold green]{'ready' if ready else 'started (not ready yet)'}[/]: "
                f"{url}  (docs: {url}/docs)"
            )
            console.print(f"admin key (Authorization: Bearer …) from {token_source}:")
            console.print(token or "(not shown)", soft_wrap=True)
            console.print("press Ctrl-C to stop")
            while (dead := supervisor.first_exited()) is None:
                time.sleep(POLL_INTERVAL_S)
            console.print(f"[red]{dead.name} exited with {dead.popen.returncode}; stopping[/]")
            exit_code = 1
        except KeyboardInterrupt:
            console.print("stopping…")
        finally:
            interrupts.ignore()
            supervisor.stop_all(["worker", "scheduler", "api"])
            if embedded is not None:
                embedded.stop()
                console.print("[dim]stopped PostgreSQL[/dim]")
    return exit_code
