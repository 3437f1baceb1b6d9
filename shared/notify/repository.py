"""Webhook queries: which subscriptions a caller may see, and the delivery log's pages."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, select, true, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from shared.access.principal import Principal
from shared.models import Webhook, WebhookDelivery


def visible(principal: Principal) -> ColumnElement[bool]:
    """An organization sees its own webhooks; the admin sees every one."""
    if principal.is_admin:
        return true()
    return Webhook.organization_id == principal.organization_id


async def get_visible(
    session: AsyncSession, principal: Principal, webhook_id: uuid.UUID, *, lock: bool = False
) -> Webhook | None:
    query = select(Webhook).where(Webhook.id == webhook_id, visible(principal))
    if lock:
        query = query.with_for_update()
    found: Webhook | None = await session.scalar(query)
    return found


async def list_visible(session: AsyncSession, principal: Principal) -> list[Webhook]:
    query = select(Webhook).where(visible(principal)).order_by(Webhook.created_at, Webhook.id)
    return list(await session.scalars(query))


async def delivery_of(
    session: AsyncSession, webhook_id: uuid.UUID, delivery_id: uuid.UUID
) -> WebhookDelivery | None:
    found: WebhookDelivery | None = await session.scalar(
        select(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.webhook_id == webhook_id)
        .with_for_update()
    )
    return found


async def deliveries_page(
    session: AsyncSession,
    webhook_id: uuid.UUID,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> list[WebhookDelivery]:
    """Up to ``limit`` deliveries newest first, after ``after``'s key."""
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook_id)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
        .limit(limit)
    )
    if after is not None:
        query = query.where(tuple_(WebhookDelivery.created_at, WebhookDelivery.id) < tuple_(*after))
    return list(await session.scalars(query))
