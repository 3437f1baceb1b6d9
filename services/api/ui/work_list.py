"""対応リスト: the caller's work list on the screens, the same items as GET /v1/handovers/pending.

Each kind has its action: 入院時情報提供を記録 (the office's form, prefilled), open the stay, or
acknowledge the flag (a note, as on the flags page). Paged like the API (``?cursor=``) and
filtered by ``?kind=`` and ``?overdue=true``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.api.deps import client_address
from services.api.ui.pages import PARTY_ROLES, CallerDep, DbDep, redirect, render, require
from shared.core import unit_of_work
from shared.core.pagination import BadCursor
from shared.episodes.work_lists import list_pending
from shared.episodes.work_schemas import PendingKind
from shared.rules.calendar import local_date

router = APIRouter(prefix="/ui", include_in_schema=False)

PENDING_LABELS: Final[dict[str, str]] = {
    "admission_info": "入院時情報提供",
    "discharge_planned": "退院予定",
    "discharge_coordination": "退院調整",
    "care_office_unknown": "担当ケアマネ不明",
    "open_flag": "退院調整漏れ（未解消のフラグ）",
}
WORK_PAGE: Final = 100
KINDS: Final[tuple[str, ...]] = get_args(PendingKind)


def _filters(request: Request) -> dict[str, str]:
    """The page's filters as given (unknown values are dropped: the whole list is shown)."""
    kind = request.query_params.get("kind", "")
    overdue = request.query_params.get("overdue", "")
    return {
        **({"kind": kind} if kind in KINDS else {}),
        **({"overdue": "true"} if overdue == "true" else {}),
    }


async def work_page(
    request: Request,
    caller: CallerDep,
    db: DbDep,
    *,
    errors: dict[str, str] | None = None,
    notes: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    """One page of the work list, most urgent first, with an action per item."""
    filters = _filters(request)
    cursor = request.query_params.get("cursor") or None
    kind: PendingKind | None = filters.get("kind")  # type: ignore[assignment]
    try:
        items, next_cursor = await list_pending(
            db, caller.principal, local_date(datetime.now(UTC)), kind=kind,
            overdue=True if filters.get("overdue") else None, limit=WORK_PAGE, cursor=cursor,
            path=request.url.path, client_address=client_address(request),
        )  # fmt: skip
    except BadCursor:
        return redirect("/ui/work")  # a mangled link: start again from the top
    await unit_of_work.commit(db)  # the access-log rows
    return render(
        request,
        "work.html",
        status=status,
        caller=caller,
        items=items,
        labels=PENDING_LABELS,
        filters=filters,
        kinds=KINDS,
        cursor=cursor,
        first_url="/ui/work" + (f"?{urlencode(filters)}" if filters else ""),
        next_url=f"/ui/work?{urlencode({**filters, 'cursor': next_cursor})}"
        if next_cursor
        else None,
        back=urlencode({**filters, **({"cursor": cursor} if cursor else {})}),
        done=request.query_params.get("done") == "1",
        errors=errors or {},
        notes=notes or {},
    )


@router.get("/work")
async def work_list(request: Request, caller: CallerDep, db: DbDep) -> Response:
    """What the caller's organization has to do now, most urgent first."""
    require(caller, PARTY_ROLES)
    return await work_page(request, caller, db)
