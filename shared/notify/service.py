"""Webhook subscriptions: create, change, rotate, ping, retry; each scoped to its organization.

Each change is a use case: it audits itself (the action named where it is audited) inside the
caller's unit of work, which commits and then hands the new deliveries to the worker.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from shared.access.audit import audit
from shared.access.principal import Principal
from shared.core import unit_of_work
from shared.core.pagination import decode_cursor, keyset_page
from shared.core.settings import Settings
from shared.models import Organization, Webhook, WebhookDelivery
from shared.notify import repository, subscriptions
from shared.notify.client import TargetPolicy, TargetRefused, check_target
from shared.notify.delivery import disable, disabled_error
from shared.notify.outbox import new_delivery, payload
from shared.notify.schemas import PING, WebhookIn, WebhookPatch
from shared.notify.secrets import WebhookKeyMissing, new_secret
from shared.notify.secrets import encrypt as _encrypt
from shared.rules.bounds import TIMESTAMP_ID_CURSOR, timestamp_id_key

# (created_at, id) of the last delivery of a page

ROTATION_OVERLAP = timedelta(hours=24)
SUBSCRIBER_ROLES = frozenset({"hospital", "care_office", "support_center", "admin"})


@dataclass
class NotifyError(Exception):
    """A refusal in the terms of the HTTP contract (status, detail, field errors)."""

    status: int
    detail: str
    errors: list[dict[str, Any]] | None = field(default=None)


NOT_FOUND = "No webhook with this id is visible to this key."


def encrypt(settings: Settings, secret: str) -> str:
    """The stored form of a secret; without the deployment's key, a 503 that says so."""
    try:
        return _encrypt(settings, secret)
    except WebhookKeyMissing as exc:
        raise NotifyError(503, f"Webhooks are not configured on this server: {exc}.") from exc


def _audited(
    session: AsyncSession,
    principal: Principal,
    action: str,
    webhook_id: uuid.UUID,
    client_address: str | None,
) -> None:
    """The audit row of a change; the caller's unit of work commits it with the change."""
    audit(session, principal, action, client_address=client_address, webhook_id=str(webhook_id))


async def _check_url(url: str, settings: Settings) -> None:
    try:
        await check_target(url, TargetPolicy.from_settings(settings))
    except (TargetRefused, ValueError, httpx.InvalidURL) as exc:
        raise NotifyError(
            422, f"url is not allowed: {exc}", [{"loc": ["body", "url"], "msg": str(exc)}]
        ) from exc


async def _owner(session: AsyncSession, principal: Principal, body: WebhookIn) -> str:
    if not principal.is_admin:
        if body.organization_id not in (None, principal.organization_id):
            raise NotifyError(403, "A key subscribes only its own organization.")
        assert principal.organization_id is not None
        return principal.organization_id
    if body.organization_id is None:
        raise NotifyError(422, "The admin names the organization_id the webhook is for.",
                          [{"loc": ["body", "organization_id"], "msg": "required"}])  # fmt: skip
    if await session.get(Organization, body.organization_id) is None:
        raise NotifyError(422, "No organization with this id.",
                          [{"loc": ["body", "organization_id"], "msg": "unknown"}])  # fmt: skip
    return body.organization_id


async def create(
    session: AsyncSession,
    principal: Principal,
    body: WebhookIn,
    settings: Settings,
    *,
    client_address: str | None = None,
) -> tuple[Webhook, str]:
    """A new enabled subscription and its secret (returned only now)."""
    organization_id = await _owner(session, principal, body)
    await _check_url(body.url, settings)
    secret = new_secret()
    hook = Webhook(
        id=uuid.uuid4(), organization_id=organization_id, url=body.url,
        event_types=sorted(set(body.event_types)), description=body.description, enabled=True,
        secret_encrypted=encrypt(settings, secret),
    )  # fmt: skip
    session.add(hook)
    await session.flush()
    await session.refresh(hook)
    subscriptions.changed(session)
    _audited(session, principal, "create_webhook", hook.id, client_address)
    return hook, secret


async def get(session: AsyncSession, principal: Principal, webhook_id: uuid.UUID) -> Webhook:
    hook = await repository.get_visible(session, principal, webhook_id)
    if hook is None:
        raise NotifyError(404, NOT_FOUND)
    return hook


async def _locked(session: AsyncSession, principal: Principal, webhook_id: uuid.UUID) -> Webhook:
    hook = await repository.get_visible(session, principal, webhook_id, lock=True)
    if hook is None:
        raise NotifyError(404, NOT_FOUND)
    return hook


async def patch(
    session: AsyncSession,
    principal: Principal,
    webhook_id: uuid.UUID,
    body: WebhookPatch,
    settings: Settings,
    *,
    client_address: str | None = None,
) -> Webhook:
    """Change the given fields; disabling fails what is pending, enabling starts afresh."""
    hook = await _locked(session, principal, webhook_id)
    if body.url is not None:
        await _check_url(body.url, settings)
        hook.url = body.url
    if body.event_types is not None:
        hook.event_types = sorted(set(body.event_types))
    if "description" in body.model_fields_set:
        hook.description = body.description
    if body.enabled is True and not hook.enabled:
        hook.enabled, hook.disabled_reason, hook.failing_since = True, None, None
    elif body.enabled is False and hook.enabled:
        await session.flush()
        await disable(session, hook.id, "disabled by its organization")
    await session.flush()
    await session.refresh(hook)
    subscriptions.changed(session)
    _audited(session, principal, "patch_webhook", webhook_id, client_address)
    return hook


async def delete(
    session: AsyncSession,
    principal: Principal,
    webhook_id: uuid.UUID,
    *,
    client_address: str | None = None,
) -> None:
    """The subscription and its delivery log go together."""
    await session.delete(await _locked(session, principal, webhook_id))
    await session.flush()
    subscriptions.changed(session)
    _audited(session, principal, "delete_webhook", webhook_id, client_address)


async def rotate(
    session: AsyncSession,
    principal: Principal,
    webhook_id: uuid.UUID,
    settings: Settings,
    now: datetime,
    *,
    client_address: str | None = None,
) -> tuple[Webhook, str]:
    """A new secret; the old one keeps signing beside it for 24 hours."""
    hook = await _locked(session, principal, webhook_id)
    secret = new_secret()
    hook.previous_secret_encrypted = hook.secret_encrypted
    hook.previous_secret_expires_at = now + ROTATION_OVERLAP
    hook.secret_encrypted = encrypt(settings, secret)
    await session.flush()
    await session.refresh(hook)
    _audited(session, principal, "rotate_webhook_secret", webhook_id, client_address)
    return hook, secret


def _failed_if_disabled(hook: Webhook, delivery: WebhookDelivery) -> bool:
    """A disabled webhook is sent nothing: the delivery fails at once, saying why (api.md)."""
    if hook.enabled:
        return False
    delivery.state, delivery.next_attempt_at = "failed", None
    delivery.last_error = disabled_error(hook.disabled_reason)
    return True


async def ping(
    session: AsyncSession,
    principal: Principal,
    webhook_id: uuid.UUID,
    now: datetime,
    *,
    client_address: str | None = None,
) -> WebhookDelivery:
    """A delivery like any other, with ``data`` empty (no subscription needed)."""
    hook = await _locked(session, principal, webhook_id)
    row = new_delivery(hook.id, PING, payload(PING, now, {}), now)
    delivery = WebhookDelivery(**row)
    failed = _failed_if_disabled(hook, delivery)
    session.add(delivery)
    await session.flush()
    if not failed:
        unit_of_work.queue_deliveries(session, [delivery.id])
    _audited(session, principal, "ping_webhook", webhook_id, client_address)
    return delivery


async def retry(
    session: AsyncSession,
    principal: Principal,
    webhook_id: uuid.UUID,
    delivery_id: uuid.UUID,
    now: datetime,
    *,
    client_address: str | None = None,
) -> WebhookDelivery:
    """Send a delivery again now, with the same ``webhook-id``; attempts keep counting."""
    hook = await _locked(session, principal, webhook_id)
    delivery = await repository.delivery_of(session, hook.id, delivery_id)
    if delivery is None:
        raise NotifyError(404, "No delivery with this id for this webhook.")
    if not _failed_if_disabled(hook, delivery):
        delivery.state, delivery.next_attempt_at = "pending", now
        unit_of_work.queue_deliveries(session, [delivery.id])
    await session.flush()
    _audited(session, principal, "retry_webhook_delivery", webhook_id, client_address)
    return delivery


async def deliveries(
    session: AsyncSession,
    principal: Principal,
    webhook_id: uuid.UUID,
    limit: int,
    cursor: str | None,
) -> tuple[list[WebhookDelivery], str | None]:
    """The delivery log, newest first, and the cursor of the next page."""
    hook = await get(session, principal, webhook_id)
    after = decode_cursor(cursor, TIMESTAMP_ID_CURSOR) if cursor is not None else None

    async def fetch(n: int) -> Sequence[WebhookDelivery]:
        return await repository.deliveries_page(session, hook.id, n, after)

    return await keyset_page(fetch, limit, lambda row: timestamp_id_key(row.created_at, row.id))
