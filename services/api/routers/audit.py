"""GET /v1/audit: the trail of who read or changed which episode (admin only)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from services.api.deps import SessionDep, require_roles
from services.api.params import Cursor
from services.api.routing import AuthFirstRoute
from shared.access import audit as trail
from shared.rules.bounds import BoundedTimestamp
from shared.rules.events import OrgId
from shared.rules.timestamps import TokyoDatetime

router = APIRouter(
    route_class=AuthFirstRoute,
    prefix="/v1/audit",
    tags=["administration"],
    dependencies=[require_roles("admin")],
)


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="The entry's id (newest first)")
    at: TokyoDatetime = Field(description="When the access happened")
    key_id: uuid.UUID | None = Field(description="The API key used (null: the admin token)")
    organization_id: str | None = Field(description="The key's organization")
    role: str = Field(description="The key's role")
    action: str = Field(description="What was done (read_episode, list_pending, create_api_key, …)")
    episode_id: uuid.UUID | None = Field(description="The episode read or changed")
    client_address: str | None = Field(description="The client's IP address")
    detail: dict[str, Any] = Field(
        description="What else the action touched (ids, never personal data)"
    )


class AuditPage(BaseModel):
    items: list[AuditOut] = Field(description="This page's entries")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end"
    )


@router.get("", response_model=AuditPage)
async def list_audit(
    session: SessionDep,
    organization_id: OrgId | None = None,
    episode_id: uuid.UUID | None = None,
    action: Annotated[str | None, Query(max_length=40)] = None,
    since: Annotated[BoundedTimestamp | None, Query(description="From (RFC 3339)")] = None,
    until: Annotated[BoundedTimestamp | None, Query(description="Before (RFC 3339)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Cursor = None,
) -> AuditPage:
    """Audit entries, newest first, filtered by organization, episode, action and time."""
    rows, next_cursor = await trail.list_audit(
        session, organization_id=organization_id, episode_id=episode_id, action=action,
        since=since, until=until, limit=limit, cursor=cursor,
    )  # fmt: skip
    return AuditPage(items=[AuditOut.model_validate(r) for r in rows], next_cursor=next_cursor)
