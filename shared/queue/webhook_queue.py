"""How committed webhook deliveries reach the worker: a non-blocking after-commit send.

The outbox hands the ids of the deliveries a transaction wrote to ``DeliveryQueue.add`` once it
has committed; the queue sends them a moment later from a thread, bounded in time. A broker that
is down or hung only delays: the rows are committed and the webhook sweep finds them.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable
from typing import Any

import dramatiq

from shared.queue.enqueue import _enqueue_once

logger = logging.getLogger("handover.worker.webhook_bridge")
# Their own queue: a backlog of recomputes in "default" does not hold notifications back.
WEBHOOK_QUEUE = "webhooks"
DELIVER_ACTOR = "deliver_webhooks"
WEBHOOK_SWEEP_ACTOR = "webhook_sweep"
DELIVER_BATCH = 10  # deliveries per message, sent concurrently by one actor call
ENQUEUE_TIMEOUT_SECONDS = 2.0
COALESCE_SECONDS = 0.01


def enqueue_deliveries(
    broker: dramatiq.Broker, delivery_ids: Iterable[uuid.UUID | str], delay_ms: int = 0
) -> None:
    """Deliver messages of up to DELIVER_BATCH ids; a repeat is harmless (claims are atomic)."""
    ids = [str(i) for i in delivery_ids]
    for start in range(0, len(ids), DELIVER_BATCH):
        message: dramatiq.Message[Any] = dramatiq.Message(
            queue_name=WEBHOOK_QUEUE, actor_name=DELIVER_ACTOR,
            args=(ids[start : start + DELIVER_BATCH],), kwargs={}, options={},
        )  # fmt: skip
        if delay_ms:
            broker.enqueue(message, delay=delay_ms)
        else:
            _enqueue_once(broker, message)


class DeliveryQueue:
    """Delivery ids waiting to be sent; ``add`` is called right after a commit."""

    def __init__(self, broker: dramatiq.Broker, *, enabled: bool = True) -> None:
        self.broker = broker
        self.enabled = enabled
        self._pending: list[uuid.UUID] = []
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def add(self, delivery_ids: Iterable[uuid.UUID]) -> None:
        """Never blocks, never raises; outside an event loop it leaves the rows to the sweep."""
        if not self.enabled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._pending.extend(delivery_ids)
        if self._pending and self._timer is None:
            self._timer = loop.call_later(COALESCE_SECONDS, self._send_now)

    def _send_now(self) -> None:
        self._timer = None
        ids, self._pending = self._pending, []
        if ids:
            task = asyncio.get_running_loop().create_task(self._send(ids))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send(self, ids: list[uuid.UUID]) -> None:
        work = asyncio.to_thread(enqueue_deliveries, self.broker, ids)
        try:
            await asyncio.wait_for(work, ENQUEUE_TIMEOUT_SECONDS)
        except Exception as exc:  # committed rows: the webhook sweep sends them
            logger.warning(
                "enqueue of %d webhook delivery(ies) failed (%s); the sweep will send them",
                len(ids),
                type(exc).__name__,
            )

    async def drain(self) -> None:
        """Send what is pending and wait (shutdown, tests)."""
        if self._timer is not None:
            self._timer.cancel()
            self._send_now()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
