"""Webhook delivery messages: their queue, actor names and the enqueue.

The outbox queues the ids of the deliveries a transaction wrote on the unit of work; after the
commit ``shared.queue.after_commit`` sends them with ``enqueue_deliveries``. A broker that is
down or hung only delays: the rows are committed and the webhook sweep finds them.
"""

from __future__ import annotations

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
