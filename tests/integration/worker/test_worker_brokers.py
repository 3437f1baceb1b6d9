"""A real worker process consumes messages sent by the bridge, on each supported broker."""

from __future__ import annotations

import os
import random
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from shared.queue.broker import get_broker
from shared.queue.enqueue import broker_reachable, enqueue_ping
from tests.services import fresh_database, require_service, wait_until, worker_process

REDIS_URL = os.environ.get("TEST_REDIS_URL", f"redis://127.0.0.1:6379/{random.randint(1, 15)}")
RABBITMQ_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


@pytest.fixture
def database_url() -> Iterator[str]:
    with fresh_database("handover_test_worker") as url:
        yield url


def _processed(database_url: str, token: uuid.UUID) -> bool:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT processed_at FROM pings WHERE token = %s", (token,)).fetchone()
    return row is not None and row[0] is not None


def _ping_round_trip(database_url: str, broker_url: str) -> None:
    token = uuid.uuid4()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO pings (token) VALUES (%s)", (token,))
    broker = get_broker(broker_url)
    try:
        assert broker_reachable(broker)
        with worker_process(database_url, broker_url) as worker:
            started = time.monotonic()
            enqueue_ping(broker, token)
            assert wait_until(lambda: _processed(database_url, token), timeout=20), (
                "the worker did not process the ping within 20 s"
            )
            print(f"ping processed {time.monotonic() - started:.2f}s after enqueue")
            assert worker.poll() is None
        assert worker.returncode == 0, "the worker did not shut down cleanly on SIGTERM"
    finally:
        broker.close()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.slow
def test_ping_through_redis_is_processed_by_a_real_worker(database_url: str) -> None:
    require_service("redis", REDIS_URL)
    _ping_round_trip(database_url, REDIS_URL)


@pytest.mark.postgres
@pytest.mark.rabbitmq
@pytest.mark.slow
def test_ping_through_rabbitmq_is_processed_by_a_real_worker(database_url: str) -> None:
    require_service("rabbitmq", RABBITMQ_URL)
    _ping_round_trip(database_url, RABBITMQ_URL)


@pytest.mark.postgres
@pytest.mark.slow
def test_ping_through_the_postgres_broker_is_processed_by_a_real_worker(database_url: str) -> None:
    _ping_round_trip(database_url, database_url.replace("postgresql://", "postgresql+asyncpg://"))


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:1/0",
        "amqp://guest:guest@127.0.0.1:1/%2F",
        "postgresql://postgres@127.0.0.1:1/postgres",
    ],
)
def test_an_unreachable_broker_is_reported_quickly_without_raising(url: str) -> None:
    broker = get_broker(url)
    try:
        started = time.monotonic()
        assert broker_reachable(broker) is False
        assert time.monotonic() - started < 5
    finally:
        broker.close()
