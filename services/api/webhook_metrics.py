"""Webhook outbox gauges on the API's /metrics, read from the database (the record) at scrape."""

from __future__ import annotations

from prometheus_client import Gauge
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.api.observability import REGISTRY

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
# The partial index on pending rows keeps this cheap however long the delivery log grows.
_QUERY = text(
    "SELECT count(*), count(*) FILTER (WHERE next_attempt_at <= now()),"
    " coalesce(extract(epoch FROM now() - min(next_attempt_at)"
    " FILTER (WHERE next_attempt_at <= now())), 0)"
    " FROM webhook_deliveries WHERE state = 'pending'"
)


async def refresh(conn: AsyncConnection) -> None:
    """Set the gauges from the outbox (called by the /metrics handler)."""
    pending, due, oldest = (await conn.execute(_QUERY)).one()
    PENDING.labels("pending").set(float(pending))
    PENDING.labels("due").set(float(due))
    OLDEST_DUE.set(float(oldest))
