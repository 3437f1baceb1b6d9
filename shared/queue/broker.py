"""The one broker factory: Redis, RabbitMQ or Postgres chosen by URL scheme, explicit middleware."""

from __future__ import annotations

import logging
from typing import Any

import dramatiq
import psycopg
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import (
    AgeLimit,
    AsyncIO,
    Callbacks,
    Middleware,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)
from periodiq import PeriodiqMiddleware
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.core import unit_of_work
from shared.core.db import create_engine, create_sessionmaker
from shared.core.settings import Settings, get_settings, to_psycopg_url
from shared.queue.after_commit import AfterCommit

logger = logging.getLogger("handover.worker.broker")

MAX_RETRIES = 5
MIN_BACKOFF_MS = 1_000
MAX_BACKOFF_MS = 5 * 60_000
TIME_LIMIT_MS = 5 * 60_000
PERIODIC_SKIP_AFTER_S = 30
POOL_TIMEOUT_S = 5.0
POSTGRES_SCHEMES = frozenset({"postgres", "postgresql"})


class DatabaseMiddleware(Middleware):
    """Owns the worker's async engine: built once the worker boots, disposed on its event loop."""

    def __init__(self, database_url: str | None = None) -> None:
        self._database_url = database_url
        self._engine: AsyncEngine | None = None
        self._sessionmaker: async_sessionmaker[AsyncSession] | None = None

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        """The session factory actors use; only valid inside a booted worker."""
        if self._sessionmaker is None:
            raise RuntimeError("the worker has not booted: no database engine yet")
        return self._sessionmaker

    def before_worker_boot(self, broker: dramatiq.Broker, _worker: dramatiq.Worker) -> None:
        # before, not after: worker threads consume as soon as they start, before after_worker_boot.
        url = self._database_url or get_settings().database_url
        if url is None:
            raise RuntimeError("DATABASE_URL is not set")
        self._engine = create_engine(url, pool_size=5)
        self._sessionmaker = create_sessionmaker(self._engine)
        # What actors commit (flag notifications) goes to the broker as the API's writes do.
        unit_of_work.bind(self._sessionmaker, AfterCommit(broker).hand_off)

    def after_worker_shutdown(self, _broker: dramatiq.Broker, _worker: dramatiq.Worker) -> None:
        engine, self._engine, self._sessionmaker = self._engine, None, None
        loop_thread = get_event_loop_thread()
        if engine is not None and loop_thread is not None:
            # asyncpg connections belong to the AsyncIO middleware's loop, still running here.
            loop_thread.run_coroutine(engine.dispose())


def scheme_of(url: str) -> str:
    """The URL scheme without any ``+driver`` suffix, lower-cased."""
    scheme, sep, _ = url.partition("://")
    if not sep:
        raise ValueError("broker URL must have a scheme")
    return scheme.split("+", 1)[0].lower()


def is_postgres_url(url: str) -> bool:
    return scheme_of(url) in POSTGRES_SCHEMES


def _bounded(url: str) -> str:
    """Add a libpq connect_timeout unless the URL sets one, so an outage fails in seconds."""
    if "connect_timeout=" in url:
        return url
    return f"{url}{'&' if '?' in url else '?'}connect_timeout={POOL_TIMEOUT_S:.0f}"


def broker_url_from_settings(settings: Settings | None = None) -> str:
    """BROKER_URL when set, else the Postgres broker on the application database."""
    settings = settings or get_settings()
    url = settings.broker_url or settings.database_url
    if url is None:
        raise RuntimeError("set BROKER_URL or DATABASE_URL")
    return url


def build_middleware(database_url: str | None = None) -> list[Middleware]:
    """Ordered middleware; AsyncIO precedes DatabaseMiddleware so the engine is disposed first."""
    return [
        AsyncIO(),
        AgeLimit(),
        TimeLimit(time_limit=TIME_LIMIT_MS),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        Retries(max_retries=MAX_RETRIES, min_backoff=MIN_BACKOFF_MS, max_backoff=MAX_BACKOFF_MS),
        DatabaseMiddleware(database_url),
        PeriodiqMiddleware(skip_delay=PERIODIC_SKIP_AFTER_S),
    ]


def get_broker(url: str, *, database_url: str | None = None) -> dramatiq.Broker:
    """A broker for ``url``; ``database_url`` defaults to DATABASE_URL when the worker boots."""
    scheme = scheme_of(url)
    middleware = build_middleware(database_url)
    broker: dramatiq.Broker
    if scheme in {"redis", "rediss"}:
        from dramatiq.brokers.redis import RedisBroker

        broker = RedisBroker(url=url, middleware=middleware)  # type: ignore[no-untyped-call]
    elif scheme in {"amqp", "amqps"}:
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        broker = RabbitmqBroker(url=url, middleware=middleware, confirm_delivery=True)
    elif scheme in POSTGRES_SCHEMES:
        from dramatiq_postgres import PostgresBroker

        bounded_url = _bounded(to_psycopg_url(url))
        postgres_broker = PostgresBroker(url=bounded_url, middleware=middleware, results=False)
        postgres_broker.pool.timeout = POOL_TIMEOUT_S  # getconn waits 30 s by default
        broker = postgres_broker
    else:
        raise ValueError(f"unsupported broker URL scheme: {scheme}")
    return broker


def worker_sessionmaker(broker: dramatiq.Broker) -> async_sessionmaker[AsyncSession]:
    """The DatabaseMiddleware's session factory of a booted worker."""
    for middleware in broker.middleware:
        if isinstance(middleware, DatabaseMiddleware):
            return middleware.sessionmaker
    raise RuntimeError("the broker has no DatabaseMiddleware")


def init_broker_schema(url: str) -> bool:
    """Create dramatiq-postgres' schema if missing (advisory-locked, idempotent)."""
    from dramatiq_postgres import init

    with (
        psycopg.connect(to_psycopg_url(url), connect_timeout=10) as conn,
        conn.transaction(),
        conn.cursor() as cursor,
    ):
        created: Any = init(cursor)
    return bool(created)
