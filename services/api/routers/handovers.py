"""GET /v1/handovers/pending: the work list of a care office or a hospital."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from services.api.deps import PrincipalDep, SessionDep, client_address, require_roles
from services.api.params import Cursor
from services.api.routing import AuthFirstRoute
from shared.core import unit_of_work
from shared.episodes.work_lists import list_pending
from shared.episodes.work_schemas import PendingKind, PendingList
from shared.rules.calendar import local_date

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
    kind: Annotated[PendingKind | None, Query(description="Only items of this kind")] = None,
    overdue: Annotated[
        bool | None, Query(description="Only overdue (or not overdue) items")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Page size (default 100)")] = 100,
    cursor: Cursor = None,
) -> PendingList:
    """What the caller's organization has to do now, most urgent first (by due date, undated last).

    Care office / support centre: `admission_info` (入院時情報提供 owed, with `due_date`),
    `discharge_planned` (with whether coordination was received), and `open_flag`: a discharged
    stay stays listed while a flag naming the office is open (e.g. a missed 退院調整: the patient
    may be home without services), until the flag clears. Hospital: `discharge_coordination`
    (退院調整 owed before a planned discharge) and `care_office_unknown`.

    Every item says why it is listed: `reason` (a stable code) and `detail` (in words, with the
    dates), plus `hospital_name` and `care_office_name`. Overdue means the due date has passed.
    Coordination is due `discharge_notice_lead_days` (default 7) before the planned discharge;
    when that day fell on or before the admission day (the plan is no further from the
    admission than the lead), the item is `planned_discharge_within_notice_lead`, due by the
    planned discharge, and overdue only after it. An `open_flag` item is always overdue.
    Cursor pagination: pass `next_cursor` back as `cursor` with the same filters.
    """
    items, next_cursor = await list_pending(
        session, principal, local_date(datetime.now(UTC)), kind=kind, overdue=overdue,
        limit=limit, cursor=cursor, client_address=client_address(request),
    )  # fmt: skip
    await unit_of_work.commit(session)  # the audit row
    return PendingList(items=items, next_cursor=next_cursor)
