"""Webhook outbox gauges on the API's /metrics, read from the database (the record) at scrape."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import Gauge
from sqlalchemy.ext.asyncio import AsyncConnection

from services.api.observability import REGISTRY
from shared.notify.delivery import pending_deliveries

PENDING = Gauge(
    "handover_webhook_pending_deliveries",
    "Webhook deliveries not yet delivered or failed: all pending, and those due now.",
    ["which"],
    registry=REGISTRY,
)
OLDEST_DUE = Gauge(
    "handover_webhook_oldest_due_seconds",
    "How long the oldest due webhook delivery has waited past its attempt time.",
    registry=REGISTRY,
)


async def refresh(conn: AsyncConnection) -> None:
    """Set the gauges from the outbox (called by the /metrics handler)."""
    backlog = await pending_deliveries(conn, datetime.now(UTC))
    PENDING.labels("pending").set(float(backlog.pending))
    PENDING.labels("due").set(float(backlog.due))
    OLDEST_DUE.set(backlog.oldest_due_seconds)
