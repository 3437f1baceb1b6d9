"""Sending due deliveries: claim, sign, POST, record the attempt, schedule the retry or give up.

A claim moves the delivery's ``next_attempt_at`` a lease into the future and counts the attempt
before anything is sent, so a worker killed mid-request leaves a row that the sweep finds again
when the lease ends: delivery is at least once, with the same ``webhook-id``.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from shared.core import unit_of_work
from shared.core.settings import Settings
from shared.models import Webhook, WebhookAttempt, WebhookDelivery
from shared.notify import metrics, subscriptions
from shared.notify.client import Answer, WebhookClient
from shared.notify.secrets import decrypt
from shared.notify.signing import signed_headers

DEFAULT_DELAYS: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
FAILING_DISABLES_AFTER = timedelta(days=5)
BUSY_RETRY_SECONDS = 0.25
SLOT_WAIT_SECONDS = 1.0
SWEEP_BATCH = 5000  # per sweep; a longer backlog is taken by the next minutes


def retry_delays(settings: Settings) -> tuple[float, ...]:
    """The retry schedule in seconds (HANDOVER_WEBHOOK_RETRY_DELAYS overrides the default)."""
    text = settings.webhook_retry_delays.strip()
    if not text:
        return DEFAULT_DELAYS
    delays = tuple(float(part) for part in text.split(",") if part.strip())
    if any(d < 0 for d in delays):
        raise ValueError("HANDOVER_WEBHOOK_RETRY_DELAYS must be non-negative seconds")
    return delays


def lease(settings: Settings) -> timedelta:
    """How long a claimed attempt is left alone before the sweep may try again."""
    return timedelta(seconds=3 * settings.webhook_timeout_seconds + 5)


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    webhook_id: uuid.UUID
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    url: str
    secrets: tuple[str, ...]


def body_of(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


async def claim(
    session: AsyncSession, ids: Sequence[uuid.UUID], now: datetime, settings: Settings
) -> list[Claimed]:
    """Take the due, pending deliveries of enabled webhooks among ``ids``; count the attempt."""
    enabled = select(Webhook.id).where(Webhook.enabled)
    rows = (
        await session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id.in_(ids),
                WebhookDelivery.state == "pending",
                WebhookDelivery.next_attempt_at <= now,
                WebhookDelivery.webhook_id.in_(enabled),
            )
            .values(attempts=WebhookDelivery.attempts + 1, next_attempt_at=now + lease(settings))
            .returning(
                WebhookDelivery.id,
                WebhookDelivery.webhook_id,
                WebhookDelivery.payload,
                WebhookDelivery.attempts,
                WebhookDelivery.created_at,
            )
        )
    ).all()
    if not rows:
        return []
    hooks = {
        h.id: h
        for h in await session.scalars(
            select(Webhook).where(Webhook.id.in_({r.webhook_id for r in rows}))
        )
    }
    return [
        Claimed(r.id, r.webhook_id, r.payload, r.attempts, r.created_at,
                hooks[r.webhook_id].url, signing_secrets(settings, hooks[r.webhook_id], now))
        for r in rows
    ]  # fmt: skip


def signing_secrets(settings: Settings, hook: Webhook, now: datetime) -> tuple[str, ...]:
    """The current secret, and the previous one while its 24 h overlap lasts."""
    found = [decrypt(settings, hook.secret_encrypted)]
    expires = hook.previous_secret_expires_at
    if hook.previous_secret_encrypted and expires is not None and expires > now:
        found.append(decrypt(settings, hook.previous_secret_encrypted))
    return tuple(found)


async def attempt(client: WebhookClient, claimed: Claimed, now: datetime) -> Answer | None:
    """One signed POST; the timestamp and signatures are new on every attempt."""
    body = body_of(claimed.payload)
    headers = signed_headers(str(claimed.id), body, claimed.secrets, now)
    headers["user-agent"] = "handover-webhooks/1"
    return await client.post(
        str(claimed.webhook_id), claimed.url, body.encode(), headers, slot_wait=SLOT_WAIT_SECONDS
    )


def _retryable(status: int | None) -> bool:
    return status is None or status in (408, 429) or status >= 500 or 300 <= status < 400


def disabled_error(reason: str | None) -> str:
    """The ``last_error`` of a delivery a disabled webhook is not sent."""
    return f"webhook disabled: {reason or 'disabled'}"[:500]


async def disable(session: AsyncSession, webhook_id: uuid.UUID, reason: str) -> None:
    """Send it nothing more: its pending deliveries fail, saying why."""
    subscriptions.changed(session)
    await session.execute(
        update(Webhook)
        .where(Webhook.id == webhook_id)
        .values(enabled=False, disabled_reason=reason[:300])
    )
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.state == "pending")
        .values(state="failed", next_attempt_at=None, last_error=disabled_error(reason))
    )


async def record(
    session: AsyncSession,
    claimed: Claimed,
    answer: Answer,
    now: datetime,
    delays: Sequence[float],
) -> float | None:
    """Store the attempt and its consequence; returns the seconds until the retry, if any."""
    status = answer.status_code
    session.add(
        WebhookAttempt(delivery_id=claimed.id, attempted_at=now, status_code=status,
                       error=answer.error, duration_ms=int(answer.seconds * 1000))
    )  # fmt: skip
    metrics.ATTEMPT_SECONDS.observe(answer.seconds)
    values: dict[str, Any] = {"last_status_code": status}
    retry_in: float | None = None
    if status is not None and 200 <= status < 300:
        values.update(state="delivered", delivered_at=now, next_attempt_at=None, last_error=None)
        metrics.DELIVERIES.labels("delivered").inc()
        metrics.DELIVERY_LATENCY.observe(max(0.0, (now - claimed.created_at).total_seconds()))
        await session.execute(
            update(Webhook).where(Webhook.id == claimed.webhook_id).values(failing_since=None)
        )
    else:
        what = answer.error or f"HTTP {status}"
        if _retryable(status) and claimed.attempts <= len(delays):
            retry_in = delays[claimed.attempts - 1]
            if answer.retry_after is not None:
                retry_in = min(max(retry_in, answer.retry_after), max(delays))
            values.update(next_attempt_at=now + timedelta(seconds=retry_in),
                          last_error=f"{what}; retrying in {retry_in:g} s")  # fmt: skip
            metrics.DELIVERIES.labels("retry").inc()
        else:
            why = "gave up after" if _retryable(status) else "not retried:"
            values.update(state="failed", next_attempt_at=None,
                          last_error=f"{what}; {why} attempt {claimed.attempts}")  # fmt: skip
            metrics.DELIVERIES.labels("failed").inc()
    await session.execute(
        update(WebhookDelivery).where(WebhookDelivery.id == claimed.id).values(**values)
    )
    if values.get("state") != "delivered":
        await _after_failure(session, claimed.webhook_id, status, now)
    return retry_in


async def _after_failure(
    session: AsyncSession, webhook_id: uuid.UUID, status: int | None, now: datetime
) -> None:
    """410 disables at once; so does a run of only failures lasting five days."""
    if status == 410:
        await disable(session, webhook_id, "the endpoint answered 410 Gone")
        return
    since = await session.scalar(
        update(Webhook)
        .where(Webhook.id == webhook_id)
        .values(failing_since=func.coalesce(Webhook.failing_since, now))
        .returning(Webhook.failing_since)
    )
    if since is not None and now - since >= FAILING_DISABLES_AFTER:
        await disable(session, webhook_id, "every attempt failed for five days")


async def deliver(
    sessions: async_sessionmaker[AsyncSession],
    client: WebhookClient,
    settings: Settings,
    ids: Sequence[uuid.UUID],
    now: datetime,
) -> dict[uuid.UUID, float]:
    """Send the due deliveries among ``ids`` concurrently; returns {id: seconds to retry}."""
    async with sessions() as session:
        async with unit_of_work.transaction(session):
            claimed = await claim(session, ids, now, settings)
        if not claimed:
            return {}
        # An endpoint still at its concurrency bound after SLOT_WAIT is not waited for (a
        # worker thread would be held by one slow receiver): those deliveries come back in a
        # second, no attempt counted.
        results = await asyncio.gather(*(attempt(client, c, now) for c in claimed))
        sent = [(c, a) for c, a in zip(claimed, results, strict=True) if a is not None]
        deferred = [c.id for c, a in zip(claimed, results, strict=True) if a is None]
        delays = retry_delays(settings)
        retries: dict[uuid.UUID, float] = dict.fromkeys(deferred, BUSY_RETRY_SECONDS)
        if deferred:
            async with unit_of_work.transaction(session):
                await session.execute(
                    update(WebhookDelivery)
                    .where(WebhookDelivery.id.in_(deferred))
                    .values(attempts=WebhookDelivery.attempts - 1,
                            next_attempt_at=now + timedelta(seconds=BUSY_RETRY_SECONDS))
                )  # fmt: skip
        async with unit_of_work.transaction(session):
            for item, answer in sent:
                done = datetime.now(now.tzinfo)
                try:
                    async with session.begin_nested():  # one deleted webhook spoils no other
                        retry_in = await record(session, item, answer, done, delays)
                except IntegrityError:
                    continue  # deleted while its request was in flight: nothing to record
                if retry_in is not None:
                    retries[item.id] = retry_in
        return retries


async def due_ids(
    session: AsyncSession, now: datetime, limit: int = SWEEP_BATCH
) -> list[uuid.UUID]:
    """Pending deliveries whose attempt is due (the sweep's pick-up), oldest due first."""
    query = (
        select(WebhookDelivery.id)
        .where(WebhookDelivery.state == "pending", WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
    )
    return list(await session.scalars(query))


@dataclass(frozen=True, slots=True)
class PendingDeliveries:
    """The outbox's backlog: pending deliveries, those due now, and the oldest due one's wait."""

    pending: int
    due: int
    oldest_due_seconds: float


async def pending_deliveries(
    db: AsyncSession | AsyncConnection, now: datetime
) -> PendingDeliveries:
    """One read behind both gauges (the API's and the worker's); the partial index on pending
    rows keeps it cheap however long the delivery log grows."""
    is_due = WebhookDelivery.next_attempt_at <= now
    waited = func.extract("epoch", now - func.min(WebhookDelivery.next_attempt_at).filter(is_due))
    query = select(func.count(), func.count().filter(is_due), func.coalesce(waited, 0)).where(
        WebhookDelivery.state == "pending"
    )
    pending, due, oldest = (await db.execute(query)).one()
    return PendingDeliveries(int(pending), int(due), float(oldest))
