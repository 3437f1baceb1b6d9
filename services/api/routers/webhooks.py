"""/v1/webhooks: subscribe an endpoint to the notifications its organization must act on."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Annotated, TypeVar

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.deps import PrincipalDep, SessionDep, client_address, require_roles
from services.api.errors import Problem
from services.api.params import Cursor
from services.api.routing import AuthFirstRoute
from shared.core import unit_of_work
from shared.core.settings import Settings
from shared.models import Webhook
from shared.notify import repository, service
from shared.notify.schemas import (
    DeliveryOut,
    DeliveryPage,
    WebhookIn,
    WebhookList,
    WebhookOut,
    WebhookPatch,
    WebhookWithSecret,
)
from shared.notify.service import NotifyError

router = APIRouter(
    route_class=AuthFirstRoute,
    prefix="/v1/webhooks",
    tags=["webhooks"],
    dependencies=[require_roles("hospital", "care_office", "support_center", "admin")],
    responses={404: {"description": "No such webhook visible to this key"}},
)
T = TypeVar("T")


async def _run(session: AsyncSession, work: Awaitable[T]) -> T:
    """The use case's answer, its writes committed; a refusal as problem+json, nothing kept."""
    try:
        result = await work
    except NotifyError as exc:
        raise Problem(exc.status, exc.detail, errors=exc.errors) from exc
    await unit_of_work.commit(session)
    return result


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _with_secret(hook: Webhook, secret: str) -> WebhookWithSecret:
    return WebhookWithSecret(**WebhookOut.model_validate(hook).model_dump(), secret=secret)


@router.post("", status_code=201, response_model=WebhookWithSecret)
async def create_webhook(
    request: Request, body: WebhookIn, session: SessionDep, principal: PrincipalDep
) -> WebhookWithSecret:
    """Subscribe an https endpoint; the answer holds the signing `secret`, shown only here."""
    address = client_address(request)
    hook, secret = await _run(
        session,
        service.create(session, principal, body, _settings(request), client_address=address),
    )
    return _with_secret(hook, secret)


@router.get("", response_model=WebhookList)
async def list_webhooks(session: SessionDep, principal: PrincipalDep) -> WebhookList:
    """Your organization's webhooks (admin: every organization's)."""
    hooks = await repository.list_visible(session, principal)
    return WebhookList(items=[WebhookOut.model_validate(h) for h in hooks])


@router.get("/{webhook_id}", response_model=WebhookOut)
async def get_webhook(
    webhook_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> WebhookOut:
    """One webhook (never its secret)."""
    return WebhookOut.model_validate(
        await _run(session, service.get(session, principal, webhook_id))
    )


@router.patch("/{webhook_id}", response_model=WebhookOut)
async def patch_webhook(
    request: Request,
    webhook_id: uuid.UUID,
    body: WebhookPatch,
    session: SessionDep,
    principal: PrincipalDep,
) -> WebhookOut:
    """Change `url`, `event_types`, `description` or `enabled` (enabling again starts afresh)."""
    address = client_address(request)
    hook = await _run(
        session,
        service.patch(session, principal, webhook_id, body, _settings(request),
                      client_address=address)
    )  # fmt: skip
    return WebhookOut.model_validate(hook)


@router.delete("/{webhook_id}", status_code=204, response_class=Response)
async def delete_webhook(
    request: Request, webhook_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> Response:
    """Unsubscribe; the delivery log goes with it."""
    address = client_address(request)
    await _run(session, service.delete(session, principal, webhook_id, client_address=address))
    return Response(status_code=204)


@router.post("/{webhook_id}/rotate-secret", response_model=WebhookWithSecret)
async def rotate_secret(
    request: Request, webhook_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> WebhookWithSecret:
    """A new secret (shown only here); the old one keeps signing beside it for 24 hours."""
    now, address = datetime.now(UTC), client_address(request)
    hook, secret = await _run(
        session,
        service.rotate(session, principal, webhook_id, _settings(request), now,
                       client_address=address)
    )  # fmt: skip
    return _with_secret(hook, secret)


@router.post("/{webhook_id}/ping", status_code=202, response_model=DeliveryOut)
async def ping_webhook(
    request: Request, webhook_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> DeliveryOut:
    """Send a signed `ping` (data `{}`) to check the endpoint and its signature check."""
    now, address = datetime.now(UTC), client_address(request)
    delivery = await _run(
        session, service.ping(session, principal, webhook_id, now, client_address=address)
    )
    return DeliveryOut.model_validate(delivery)


@router.get("/{webhook_id}/deliveries", response_model=DeliveryPage)
async def list_deliveries(
    webhook_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Cursor = None,
) -> DeliveryPage:
    """The delivery log, newest first: state, attempts, the last status or error, next try."""
    rows, next_cursor = await _run(
        session, service.deliveries(session, principal, webhook_id, limit, cursor)
    )
    return DeliveryPage(items=[DeliveryOut.model_validate(r) for r in rows],
                        next_cursor=next_cursor)  # fmt: skip


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/retry", status_code=202, response_model=DeliveryOut
)
async def retry_delivery(
    request: Request,
    webhook_id: uuid.UUID,
    delivery_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
) -> DeliveryOut:
    """Send a delivery again now, with the same `webhook-id`."""
    now, address = datetime.now(UTC), client_address(request)
    delivery = await _run(
        session,
        service.retry(session, principal, webhook_id, delivery_id, now, client_address=address),
    )
    return DeliveryOut.model_validate(delivery)
