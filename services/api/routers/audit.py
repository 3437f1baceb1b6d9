"""GET /v1/audit: the trail of who read or changed which episode (admin only)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, TypeAdapter
from sqlalchemy import select

from services.api.deps import SessionDep, require_roles
from services.api.routing import AuthFirstRoute
from shared.models import AuditEntry
from shared.pagination import decode_cursor, encode_cursor
from shared.schemas.bounds import BoundedId, BoundedTimestamp
from shared.schemas.events import OrgId
from shared.schemas.timestamps import TokyoDatetime

router = APIRouter(
    route_class=AuthFirstRoute,
    prefix="/v1/audit",
    tags=["administration"],
    dependencies=[require_roles("admin")],
)

AUDIT_CURSOR: Final = TypeAdapter(BoundedId)  # the id of the last entry


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: TokyoDatetime
    key_id: uuid.UUID | None
    organization_id: str | None
    role: str
    action: str
    episode_id: uuid.UUID | None
    client_address: str | None
    detail: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditOut]
    next_cursor: str | None


@router.get("", response_model=AuditPage)
async def list_audit(
    session: SessionDep,
    organization_id: OrgId | None = None,
    episode_id: uuid.UUID | None = None,
    action: Annotated[str | None, Query(max_length=40)] = None,
    since: Annotated[BoundedTimestamp | None, Query(description="From (RFC 3339)")] = None,
    until: Annotated[BoundedTimestamp | None, Query(description="Before (RFC 3339)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> AuditPage:
    """Audit entries, newest first, filtered by organization, episode, action and time."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit + 1)
    if organization_id is not None:
        query = query.where(AuditEntry.organization_id == organization_id)
    if episode_id is not None:
        query = query.where(AuditEntry.episode_id == episode_id)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    if cursor is not None:
        query = query.where(AuditEntry.id < decode_cursor(cursor, AUDIT_CURSOR))
    rows = list(await session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(
        items=[AuditOut.model_validate(r) for r in rows],
        next_cursor=encode_cursor(rows[-1].id) if more and rows else None,
    )
