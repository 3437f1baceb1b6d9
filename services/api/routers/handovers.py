"""GET /v1/handovers/pending: the work list of a care office or a hospital."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from services.api.deps import PrincipalDep, SessionDep, record_access, require_roles
from services.api.routing import AuthFirstRoute
from shared.pending import pending_for
from shared.rules.calendar import local_date
from shared.schemas.work import PendingKind, PendingList

router = APIRouter(route_class=AuthFirstRoute, prefix="/v1/handovers", tags=["work lists"])


@router.get(
    "/pending",
    response_model=PendingList,
    dependencies=[require_roles("hospital", "care_office", "support_center")],
)
async def pending(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    kind: PendingKind | None = None,
    overdue: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
) -> PendingList:
    """What the caller's organization has to do now, most urgent first.

    Care office / support centre: `admission_info` (入院時情報提供 owed, with `due_date`) and
    `discharge_planned` (with whether coordination was received). Hospital:
    `discharge_coordination` (退院調整 owed before a planned discharge) and `care_office_unknown`.
    """
    items = await pending_for(session, principal, local_date(datetime.now(UTC)))
    if kind is not None:
        items = [i for i in items if i.kind == kind]
    if overdue is not None:
        items = [i for i in items if i.overdue == overdue]
    items = items[:limit]
    record_access(
        request,
        session,
        principal,
        "list_pending",
        episode_ids=sorted({str(i.episode_id) for i in items}),
    )
    await session.commit()
    return PendingList(items=items)
