"""GET /v1/access-log: which person or key was shown which episode's patient fields (admin)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api.deps import SessionDep, require_roles
from services.api.params import Cursor, Limit
from services.api.routers.metrics import invalid
from services.api.routing import AuthFirstRoute
from shared.access.access_log import AccessLogFilter, access_log_csv, access_log_page
from shared.organizations.schemas import Page
from shared.rules.bounds import BoundedTimestamp
from shared.rules.events import OrgId
from shared.rules.timestamps import TokyoDatetime

router = APIRouter(
    route_class=AuthFirstRoute,
    prefix="/v1/access-log",
    tags=["administration"],
    dependencies=[require_roles("admin")],
)
CSV_TYPE = "text/csv; charset=utf-8"


class AccessLogOut(BaseModel):
    """One episode shown in one answer; ids only, never the patient fields."""

    model_config = ConfigDict(from_attributes=True)

    at: TokyoDatetime = Field(description="When the answer was made")
    actor_type: Literal["user", "api_key"] = Field(description="A person, or an API key")
    actor_id: uuid.UUID | None = Field(
        description="The person's or the key's id (null: the bootstrap admin token)"
    )
    organization_id: str | None = Field(description="The reader's organization (null: admin)")
    episode_id: uuid.UUID = Field(description="The episode whose patient fields were shown")
    path: str = Field(description="The request's own path (an API path or a screen)")
    address: str | None = Field(description="The client's IP address")


@router.get(
    "",
    response_model=Page[AccessLogOut],
    responses={
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "JSON, or with format=csv (or Accept: text/csv) every matching entry"
            " as a CSV attachment",
        }
    },
)
async def list_access_log(
    request: Request,
    session: SessionDep,
    organization_id: Annotated[OrgId | None, Query(description="The reader's organization")] = None,
    episode_id: Annotated[uuid.UUID | None, Query(description="The episode shown")] = None,
    since: Annotated[BoundedTimestamp | None, Query(description="From (RFC 3339)")] = None,
    until: Annotated[BoundedTimestamp | None, Query(description="Before (RFC 3339)")] = None,
    format: Annotated[Literal["json", "csv"] | None, Query(description="Body format")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[AccessLogOut] | StreamingResponse:
    """Every answer, screen page or file that showed an episode's patient fields, newest first:
    one entry per episode shown (a list of ten patients wrote ten), naming the person or the key.

    Filters: the reader's `organization_id`, `episode_id`, `since` (inclusive) and `until`
    (exclusive). JSON is paginated (`limit`, `cursor`); CSV (`format=csv`, or `Accept:
    text/csv` without `format`) is every matching entry, UTF-8 with a BOM and CRLF as the survey
    CSV, with the JSON fields as its columns.
    """
    if since is not None and until is not None and since > until:
        raise invalid("until", "must not be before `since`")
    filters = AccessLogFilter(organization_id, episode_id, since, until)
    if format == "csv" or (format is None and _wants_csv(request)):
        factory: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
        return StreamingResponse(
            access_log_csv(factory, filters),
            media_type=CSV_TYPE,
            headers={"Content-Disposition": 'attachment; filename="access-log.csv"'},
        )
    rows, next_cursor = await access_log_page(session, filters, limit=limit, cursor=cursor)
    return Page[AccessLogOut](
        items=[AccessLogOut.model_validate(r) for r in rows], next_cursor=next_cursor
    )


def _wants_csv(request: Request) -> bool:
    accepted = [part.split(";")[0].strip() for part in request.headers.get("accept", "").split(",")]
    return "text/csv" in accepted and "application/json" not in accepted
