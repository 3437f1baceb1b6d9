"""Webhooks when parts fail: a worker killed mid-delivery, a broker that is down."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api.app import create_app
from shared.core.settings import Settings
from shared.models import WebhookDelivery
from shared.notify import delivery
from shared.queue.broker import get_broker
from shared.queue.enqueue import send
from shared.queue.webhook_queue import WEBHOOK_SWEEP_ACTOR, enqueue_deliveries
from tests.factories import Api, admission
from tests.services import free_port, worker_process
from tests.webhook_receiver import WORKER_ENV, eventually, receiver, subscribe

pytestmark = pytest.mark.postgres


async def sweep_once(sessions: async_sessionmaker[AsyncSession], broker_url: str) -> int:
    """What the minute sweep does: enqueue every pending delivery whose attempt is due."""
    from datetime import UTC, datetime

    async with sessions() as session:
        ids = await delivery.due_ids(session, datetime.now(UTC))
    if ids:
        broker = get_broker(broker_url)
        try:
            await asyncio.to_thread(enqueue_deliveries, broker, ids)
        finally:
            broker.close()
    return len(ids)


async def delivery_row(
    sessions: async_sessionmaker[AsyncSession], webhook_id: str
) -> WebhookDelivery | None:
    async with sessions() as session:
        found: WebhookDelivery | None = await session.scalar(
            select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
        )
        return found


@pytest.mark.slow  # fault injection (kills a worker), as reliability/test_worker_killed.py
async def test_a_worker_killed_mid_delivery_delivers_after_restart(
    api: Api, database_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    hospital, office, h_key, o_key = await api.parties()
    path = f"/{office}"
    with receiver() as recv, pytest.MonkeyPatch.context() as mp:
        for name, value in WORKER_ENV.items():
            mp.setenv(name, value)
        recv.script[path] = [("sleep", 1.5, 200), 204]
        hook = await subscribe(api, o_key, recv.url(path), ["episode.admitted"])
        with worker_process(database_url, database_url) as worker:
            await api.post(admission(hospital, "K-1", "2026-11-30T10:00:00+09:00", office), h_key)

            async def arrived() -> bool:
                return bool(recv.at(path))

            assert await eventually(arrived)
            os.killpg(worker.pid, signal.SIGKILL)  # mid-request: the receiver has not answered
            worker.wait()
        killed_at = time.monotonic()
        row = await delivery_row(sessions, hook["id"])
        assert row is not None
        assert (row.state, row.attempts) == ("pending", 1)
        with worker_process(database_url, database_url):

            async def redelivered() -> bool:
                await sweep_once(sessions, database_url)
                return len(recv.at(path)) >= 2

            assert await eventually(redelivered, timeout=60)
        print(f"\nredelivered {time.monotonic() - killed_at:.1f} s after the kill (lease 11 s)")
        first, second = recv.at(path)[:2]
        assert first.headers["webhook-id"] == second.headers["webhook-id"]

        async def delivered() -> bool:
            found = await delivery_row(sessions, hook["id"])
            return found is not None and found.state == "delivered"

        assert await eventually(delivered)


@pytest.fixture
async def app_with_dead_broker(settings: Settings) -> AsyncIterator[Api]:
    """The API whose broker URL points at a port nothing listens on (the broker is down)."""
    dead = settings.model_copy(update={"broker_url": f"redis://127.0.0.1:{free_port()}/0"})
    app = create_app(dead)
    async with app.router.lifespan_context(app):  # its sessions send to the dead broker
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Api(client)
            await asyncio.sleep(2.5)  # let the failing enqueues give up before the app stops


async def test_the_broker_down_delays_a_notification_but_does_not_lose_it(
    app_with_dead_broker: Api, database_url: str,
    sessions: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    api = app_with_dead_broker
    hospital, office, h_key, o_key = await api.parties()
    path = f"/{office}"
    with receiver() as recv:
        hook = await subscribe(api, o_key, recv.url(path), ["episode.admitted"])
        with worker_process(database_url, database_url):
            r = await api.post(admission(hospital, "B-1", "2026-11-30T10:00:00+09:00", office),
                               h_key)  # fmt: skip
            assert r.status_code == 201
            await asyncio.sleep(3)
            assert recv.at(path) == [], "nothing can have been sent: the broker is down"
            row = await delivery_row(sessions, hook["id"])
            assert row is not None
            assert row.state == "pending"
            broker = get_broker(database_url)  # the minute sweep, as the scheduler sends it
            try:
                send(broker, WEBHOOK_SWEEP_ACTOR, ())
            finally:
                broker.close()

            async def arrived() -> bool:
                return bool(recv.at(path))

            assert await eventually(arrived)
