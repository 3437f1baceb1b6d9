"""Webhook actors: deliver due notifications, and the minute sweep that finds what was missed.

Imported by ``services.worker.actors`` once the broker is set; deliveries that fail with a
retryable answer are sent again with the broker's delay, and the sweep (guarded by a
``periodic_jobs`` slot) re-enqueues every pending delivery whose attempt is due, so a lost
message or a killed worker only delays a notification.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from datetime import UTC, datetime

import dramatiq
from periodiq import cron
from prometheus_client import start_http_server
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.worker.scheduler import SWEEP_CRON, minute_slot, periodic_slot
from shared.core.settings import get_settings
from shared.notify import delivery, metrics
from shared.notify.client import WebhookClient
from shared.queue.broker import worker_sessionmaker
from shared.queue.enqueue import DEFAULT_QUEUE
from shared.queue.webhook_queue import (
    DELIVER_ACTOR,
    WEBHOOK_QUEUE,
    WEBHOOK_SWEEP_ACTOR,
    enqueue_deliveries,
)

logger = logging.getLogger("handover.worker.webhooks")
WEBHOOK_SWEEP_JOB = "webhook_sweep"
DELIVER_LIMIT_MS = 5 * 60_000

_broker = dramatiq.get_broker()
_clients: dict[int, WebhookClient] = {}


def _serve_metrics() -> None:
    """The worker's webhook instruments on HANDOVER_WEBHOOK_METRICS_PORT, when it is set."""
    port = get_settings().webhook_metrics_port
    if port:
        try:
            start_http_server(port, registry=metrics.REGISTRY)
        except OSError:  # another worker process of this host serves them already
            logger.info("webhook metrics port %d is taken; not serving here", port)


_serve_metrics()


def _sessions() -> async_sessionmaker[AsyncSession]:
    return worker_sessionmaker(_broker)


def _client() -> WebhookClient:
    """One client per event loop (the AsyncIO middleware runs one per worker process)."""
    loop = id(asyncio.get_running_loop())
    if loop not in _clients:
        _clients[loop] = WebhookClient.from_settings(get_settings())
    return _clients[loop]


@dramatiq.actor(
    actor_name=DELIVER_ACTOR, queue_name=WEBHOOK_QUEUE, max_retries=0, time_limit=DELIVER_LIMIT_MS
)
async def deliver_webhooks(delivery_ids: list[str]) -> None:
    """Send the due deliveries among these, record each attempt, schedule the retries."""
    settings = get_settings()
    ids = [uuid.UUID(i) for i in delivery_ids]
    retries = await delivery.deliver(_sessions(), _client(), settings, ids, datetime.now(UTC))
    by_delay: dict[int, list[uuid.UUID]] = defaultdict(list)
    for delivery_id, seconds in retries.items():
        by_delay[int(seconds * 1000)].append(delivery_id)
    for delay_ms, batch in by_delay.items():
        try:
            await asyncio.to_thread(enqueue_deliveries, _broker, batch, delay_ms)
        except Exception as exc:  # the row holds next_attempt_at: the sweep retries it
            logger.warning("delayed re-enqueue failed (%s); left to the sweep", type(exc).__name__)


async def sweep_due(now: datetime) -> int:
    """Enqueue every pending delivery whose attempt is due; refresh the queue-depth gauge."""
    async with _sessions()() as session:
        backlog = await delivery.pending_deliveries(session, now)
        metrics.QUEUE_DEPTH.labels("pending").set(backlog.pending)
        metrics.QUEUE_DEPTH.labels("due").set(backlog.due)
        ids = await delivery.due_ids(session, now) if backlog.due else []
    if ids:
        await asyncio.to_thread(enqueue_deliveries, _broker, ids)
    return len(ids)


@dramatiq.actor(
    actor_name=WEBHOOK_SWEEP_ACTOR,
    queue_name=DEFAULT_QUEUE,
    max_retries=0,
    periodic=cron(SWEEP_CRON),
)
async def webhook_sweep() -> None:
    """Once per minute slot (guarded in the database): send what the broker lost or delayed."""
    now = datetime.now(UTC)
    slot = minute_slot(now)
    async with _sessions()() as session, periodic_slot(session, WEBHOOK_SWEEP_JOB, slot) as claimed:
        if not claimed:
            return
        sent = await sweep_due(now)
    if sent:
        logger.info("webhook sweep %s enqueued %d due delivery(ies)", slot.isoformat(), sent)
