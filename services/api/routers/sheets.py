"""GET /v1/episodes/{id}/sheets and one sheet's PDF: the stay's parties only."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from services.api.deps import PrincipalDep, SessionDep, client_address, require_roles
from services.api.errors import Problem
from services.api.routing import AuthFirstRoute
from shared.core import unit_of_work
from shared.core.settings import get_settings
from shared.rules.timestamps import TokyoDatetime
from shared.sheets.pdf import episode_sheet_pdf
from shared.sheets.reading import EpisodeSheets, read_sheets

router = APIRouter(
    route_class=AuthFirstRoute,
    prefix="/v1/episodes",
    tags=["sheets"],
    dependencies=[require_roles("hospital", "care_office", "support_center", "admin")],
)
NOT_FOUND = "No episode with this id is visible to this key."
NO_SHEET = "This episode has no sheet with this id."


class SheetOut(BaseModel):
    """One sheet an event of the stay carried, as posted (null items dropped)."""

    id: uuid.UUID = Field(description="The sheet's id (its PDF: .../sheets/{id}.pdf)")
    kind: str = Field(description="admission_info_sheet or discharge_info_sheet")
    event_id: uuid.UUID = Field(description="The event that carried it")
    posted_by: str = Field(description="The organization that posted the event")
    occurred_at: TokyoDatetime = Field(description="When the event happened")
    cancelled: bool = Field(description="True when a cancel removed the event")
    sheet: dict[str, Any] = Field(description='{"kind", "version", "items"} as posted')


class SheetsOut(BaseModel):
    """The stay's sheets in the order their events happened."""

    items: list[SheetOut] = Field(description="The sheets, oldest event first")


async def _read(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    episode_id: uuid.UUID,
    sheet_id: uuid.UUID | None = None,
) -> EpisodeSheets:
    found = await read_sheets(
        session,
        principal,
        episode_id,
        settings=get_settings(),
        sheet_id=sheet_id,
        path=request.url.path,
        client_address=client_address(request),
    )
    await unit_of_work.commit(session)  # the access-log row, before the answer
    if found is None:
        raise Problem(404, NOT_FOUND)
    return found


@router.get("/{episode_id}/sheets", response_model=SheetsOut)
async def list_sheets(
    request: Request, episode_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> SheetsOut:
    """The sheets (入院時情報提供書, 退院・退所情報記録書) of one stay (404 unless a party)."""
    found = await _read(request, session, principal, episode_id)
    return SheetsOut(
        items=[
            SheetOut(
                id=s.id,
                kind=s.kind,
                event_id=s.event_id,
                posted_by=s.posted_by,
                occurred_at=s.occurred_at,
                cancelled=s.cancelled,
                sheet=s.sheet,
            )
            for s in found.sheets
        ]
    )


@router.get(
    "/{episode_id}/sheets/{sheet_id}.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The sheet, A4"}},
)
async def sheet_pdf(
    request: Request,
    episode_id: uuid.UUID,
    sheet_id: uuid.UUID,
    session: SessionDep,
    principal: PrincipalDep,
) -> Response:
    """One sheet printed like the paper form (A4, Japanese)."""
    found = await _read(request, session, principal, episode_id, sheet_id)
    if not found.sheets:
        raise Problem(404, NO_SHEET)
    return Response(
        episode_sheet_pdf(found),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{sheet_id}.pdf"'},
    )
