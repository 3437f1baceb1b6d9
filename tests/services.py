"""Real services for tests: skip when unreachable (fail under CI=true), fresh databases, workers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from typing import Literal

import psycopg
import pytest
import redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

ServiceKind = Literal["postgres", "redis", "rabbitmq"]
TIMEOUT_S = 2


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _probe(kind: ServiceKind, url: str) -> None:
    if kind == "postgres":
        from shared.core.settings import to_psycopg_url

        with psycopg.connect(to_psycopg_url(url), connect_timeout=TIMEOUT_S) as conn:
            conn.execute("SELECT 1")
    elif kind == "redis":
        client = redis.Redis.from_url(
            url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S
        )
        try:
            client.ping()
        finally:
            client.close()
    elif kind == "rabbitmq":
        import pika

        params = pika.URLParameters(url)
        params.connection_attempts = 1
        params.socket_timeout = TIMEOUT_S
        params.stack_timeout = TIMEOUT_S
        pika.BlockingConnection(params).close()
    else:  # pragma: no cover
        raise ValueError(kind)


def require_service(kind: ServiceKind, url: str) -> None:
    """Skip (or, under CI=true, fail) when the service at ``url`` does not answer."""
    try:
        _probe(kind, url)
    except Exception as exc:
        reason = f"{kind} unreachable ({type(exc).__name__}: {exc})"
        if in_ci():
            pytest.fail(f"{reason}; CI=true requires every service", pytrace=False)
        pytest.skip(reason)


SERVER_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextmanager
def fresh_database(prefix: str = "handover_test", *, migrate: bool = True) -> Iterator[str]:
    """A new database on the real server, migrated to head with the broker schema; dropped after."""
    from shared.core.schema_migrations import upgrade_to_head
    from shared.queue.broker import init_broker_schema

    require_service("postgres", SERVER_URL)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(SERVER_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{SERVER_URL.rpartition('/')[0]}/{name}"
    try:
        if migrate:
            upgrade_to_head(url)
            init_broker_schema(url)
        yield url
    finally:
        with psycopg.connect(SERVER_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def rolled_back_sessions(
    engine: AsyncEngine,
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on one connection whose outer transaction is rolled back when the block ends.

    SQLAlchemy's "joining a session into an external transaction": each session's ``begin()``
    and ``commit()`` work on a SAVEPOINT (``join_transaction_mode="create_savepoint"``), so the
    code under test commits as it does in production, and nothing it wrote outlives the block.
    No other connection ever sees those writes, and the sessions share the one connection:
    use them one at a time.
    """
    from shared.core.db import create_sessionmaker

    async with engine.connect() as connection:
        outer = await connection.begin()
        sessions = create_sessionmaker(engine)
        sessions.configure(bind=connection, join_transaction_mode="create_savepoint")
        try:
            yield sessions
        finally:
            await outer.rollback()


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def empty_redis_db() -> Iterator[str]:
    """A Redis database (1-15) no one else uses, so no other worker takes our messages.

    It was empty when taken, so everything in it is ours: it is flushed afterwards.
    """
    require_service("redis", "redis://127.0.0.1:6379/0")
    for n in range(15, 0, -1):
        url = f"redis://127.0.0.1:6379/{n}"
        client = redis.Redis.from_url(url)
        try:
            if client.dbsize() == 0:
                break
        finally:
            client.close()
    else:
        pytest.fail("no empty Redis database (1-15) for the test broker")
    try:
        yield url
    finally:
        redis.Redis.from_url(url).flushdb()


def stop_process_group(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """SIGTERM the leader, then SIGKILL whatever is left of its process group."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            proc.wait(timeout)
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@contextmanager
def worker_process(database_url: str, broker_url: str) -> Iterator[subprocess.Popen[bytes]]:
    """A real ``dramatiq services.worker.actors`` process, in its own process group."""
    env = dict(os.environ, DATABASE_URL=database_url, BROKER_URL=broker_url)
    argv = [sys.executable, "-m", "dramatiq", "services.worker.actors", "--processes", "1",
            "--threads", "2", "--worker-shutdown-timeout", "5000"]  # fmt: skip
    proc = subprocess.Popen(argv, env=env, start_new_session=True)
    try:
        yield proc
    finally:
        stop_process_group(proc)


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0, interval: float = 0.2) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
