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
    """What the caller's organization has to do now, most urgent first: `due_date` ascending,
    items without one last, ties by `episode_id`. Only stays the caller is a party to, still in
    hospital (except `open_flag`). `overdue`: today's local date is after `due_date`.

    - `admission_info` (the care office responsible now): the stay counts as having a care
      manager at admission and has no 入院時情報提供; due the admission-info deadline.
    - `discharge_planned` (the care office responsible now): a planned discharge date, with
      `coordination_received`; due the planned date.
    - `discharge_coordination` (the hospital): a planned date, no coordination yet, and the
      stay would be an eligible discharge if it left today (exactly the stays that can raise
      `discharge_coordination_due`); due planned date − `discharge_notice_lead_days`, already
      past (so overdue) for a short planned stay.
    - `care_office_unknown` (the hospital): a care level `support_*`/`care_*`/`applying`, no
      care office named, assigned or coordinated with, no `no_cm_referral`; no due date.
    - `open_flag` (the hospital, and the care office responsible at discharge): an open,
      unacknowledged `missed_discharge_coordination` flag (`flag_id`); due the discharge date.

    The care office responsible now: the latest non-cancelled `care_assignment` posted by the
    hospital or a party office, else the one named on the admission. Patient fields absent for
    the stay are absent from the item. Each item also says why (`reason`, `detail`) and names
    the hospital and the care office. Cursor pagination: pass `next_cursor` back as `cursor`
    with the same filters.
    """
    items, next_cursor = await list_pending(
        session, principal, local_date(datetime.now(UTC)), kind=kind, overdue=overdue,
        limit=limit, cursor=cursor, path=request.url.path, client_address=client_address(request),
    )  # fmt: skip
    await unit_of_work.commit(session)  # the access-log rows
    return PendingList(items=items, next_cursor=next_cursor)
