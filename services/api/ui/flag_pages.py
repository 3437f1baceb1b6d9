"""フラグ: the caller's flags on the screens, paged, sorted and filtered, each open one with its
actions (acknowledge with a note, open the stay, record 入院時情報提供 where that clears it)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Final, Literal, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.api.deps import client_address
from services.api.ui.pages import (
    PARTY_ROLES,
    CallerDep,
    DbDep,
    read_form,
    redirect,
    render,
    require,
)
from services.api.ui.work_list import work_page
from shared.core import unit_of_work
from shared.core.pagination import BadCursor
from shared.episodes import flag_service
from shared.organizations.service import organization_names
from shared.rules.flags import FlagKind

router = APIRouter(prefix="/ui", include_in_schema=False)

FLAG_LABELS: Final = {
    "missed_discharge_coordination": "退院調整漏れ",
    "admission_info_overdue": "入院時情報提供の遅れ",
    "discharge_coordination_due": "退院調整の期限接近",
}
STATUS_LABELS: Final = {"open": "未解消", "cleared": "解消済み", "all": "すべて"}
ORDER_LABELS: Final = {"newest": "新しい順", "oldest": "古い順"}
FLAG_PAGE: Final = 50
NOTE_MISSING: Final = "確認メモを入力してください（1〜1000文字）。"


def _filters(request: Request) -> dict[str, str]:
    """status, kind and order as given; an unknown value falls back to the default."""
    q = request.query_params
    return {
        "status": q["status"] if q.get("status") in STATUS_LABELS else "open",
        "kind": q["kind"] if q.get("kind") in get_args(FlagKind) else "",
        "order": q["order"] if q.get("order") in ORDER_LABELS else "newest",
    }


def _query(filters: dict[str, str], **more: str | None) -> str:
    """The filters (and cursor) that differ from the defaults, as a query string."""
    shown = {k: v for k, v in {**filters, **more}.items() if v and (k, v) not in DEFAULTS}
    return urlencode(shown)


def _url(filters: dict[str, str], **more: str | None) -> str:
    query = _query(filters, **more)
    return "/ui/flags" + (f"?{query}" if query else "")


DEFAULTS: Final = {("status", "open"), ("order", "newest")}


async def _flags_page(
    request: Request,
    caller: CallerDep,
    db: DbDep,
    *,
    errors: dict[str, str] | None = None,
    notes: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    """One page of the caller's flags, after ``?cursor=`` (the keyset of GET /v1/flags)."""
    filters = _filters(request)
    cursor = request.query_params.get("cursor") or None
    flag_status: Literal["open", "cleared", "all"] = filters["status"]  # type: ignore[assignment]
    kind: FlagKind | None = filters["kind"] or None  # type: ignore[assignment]
    try:
        rows, next_cursor = await flag_service.list_flags(
            db, caller.principal, status=flag_status, kind=kind, limit=FLAG_PAGE,
            cursor=cursor, oldest_first=filters["order"] == "oldest", path=request.url.path,
            client_address=client_address(request),
        )  # fmt: skip
    except BadCursor:
        return redirect(_url(filters))  # a mangled link: start again from the first page
    await unit_of_work.commit(db)  # the access-log rows
    names = await organization_names(
        db, [*(f.hospital_id for f, _ in rows), *(f.party_org_id for f, _ in rows)]
    )
    return render(
        request,
        "flags.html",
        status=status,
        caller=caller,
        rows=rows,
        names=names,
        labels=FLAG_LABELS,
        status_labels=STATUS_LABELS,
        order_labels=ORDER_LABELS,
        filters=filters,
        errors=errors or {},
        notes=notes or {},
        done=request.query_params.get("done") == "1",
        cursor=cursor,
        first_url=_url(filters),
        next_url=_url(filters, cursor=next_cursor) if next_cursor else None,
        back=_query(filters, cursor=cursor),
    )


@router.get("/flags")
async def flags(request: Request, caller: CallerDep, db: DbDep) -> Response:
    """The caller's flags (open ones by default), each open one with a form to acknowledge it."""
    require(caller, PARTY_ROLES)
    return await _flags_page(request, caller, db)


@router.post("/flags/{flag_id}/acknowledge")
async def acknowledge_flag(
    request: Request, flag_id: uuid.UUID, caller: CallerDep, db: DbDep
) -> Response:
    """The same acknowledgement as POST /v1/flags/{id}/acknowledge: a note, the flag stays.

    ``?from=work`` (the work list's form) returns to the work list, else to the flags page,
    with the page's own filters and cursor.
    """
    require(caller, PARTY_ROLES)
    from_work = request.query_params.get("from") == "work"
    fields = await read_form(request, caller.session)
    note = fields.get("note", "").strip()
    if not 1 <= len(note) <= 1000:
        page = work_page if from_work else _flags_page
        return await page(request, caller, db, errors={str(flag_id): NOTE_MISSING},
                          notes={str(flag_id): note}, status=422)  # fmt: skip
    row = await flag_service.acknowledge_flag(
        db, caller.principal, flag_id, note, now=datetime.now(UTC),
        client_address=client_address(request), via="ui",
    )  # fmt: skip
    await unit_of_work.commit(db)
    if row is None:
        return render(request, "not_found.html", status=404, caller=caller)
    kept = {k: v for k, v in request.query_params.items() if k != "from"}
    return redirect(("/ui/work?" if from_work else "/ui/flags?") + urlencode({"done": "1", **kept}))
