"""Work screens: the pending list, flags with acknowledge, an episode's timeline, the forms."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.api.deps import client_address, intake
from services.api.observability import count_ingested
from services.api.ui.pages import (
    OFFICE_ROLES,
    PARTY_ROLES,
    CallerDep,
    DbDep,
    read_form,
    redirect,
    render,
    require,
)
from services.api.ui.recording import field_errors
from shared.access.visibility import visible_episode
from shared.core import unit_of_work
from shared.core.pagination import BadCursor
from shared.episodes import flag_service
from shared.episodes.view import read_episode
from shared.episodes.work_lists import list_pending
from shared.events.recording import STORED, OneEvent, created_types, kept, record
from shared.models import Episode
from shared.organizations.service import organization_names
from shared.rules.calendar import local_date
from shared.rules.zone import TOKYO
from shared.sheets.documents import TITLES
from shared.sheets.store import sheets_by_event

router = APIRouter(prefix="/ui", include_in_schema=False)
BY_SCREEN: Final = OneEvent(via="ui")

PENDING_LABELS: Final = {
    "admission_info": "入院時情報提供",
    "discharge_planned": "退院予定",
    "discharge_coordination": "退院調整",
    "care_office_unknown": "担当ケアマネ不明",
    "open_flag": "未解消のフラグ",
}
FLAG_LABELS: Final = {
    "missed_discharge_coordination": "退院調整漏れ",
    "admission_info_overdue": "入院時情報提供の遅れ",
    "discharge_coordination_due": "退院調整の期限接近",
}
EVENT_LABELS: Final = {
    "admission": "入院",
    "stay_update": "入院情報の更新",
    "admission_info": "入院時情報提供",
    "care_assignment": "担当ケアマネの決定",
    "discharge_planned": "退院予定日の設定",
    "discharge_coordination": "退院調整",
    "discharge_conference": "退院前カンファレンス",
    "no_cm_referral": "ケアマネ不在の紹介",
    "discharge": "退院",
    "scope_exclusion": "対象外の指定",
    "cancel": "取消",
}
CHANNELS: Final = {"fax": "FAX", "phone": "電話", "visit": "訪問", "mail": "郵送", "ict": "ICT"}
FORM_FIELDS: Final = ("hospital_id", "encounter_ref", "occurred_at", "channel", "care_office_id")
FLAG_PAGE: Final = 200
# (raised_at, id) of a page's last flag: the same keyset as GET /v1/flags' cursor


@router.get("/work")
async def work_list(request: Request, caller: CallerDep, db: DbDep) -> Response:
    """What the caller's organization has to do now, most urgent first."""
    require(caller, PARTY_ROLES)
    items, _ = await list_pending(db, caller.principal, local_date(datetime.now(UTC)),
                                  client_address=client_address(request), via="ui")  # fmt: skip
    await unit_of_work.commit(db)  # the audit row
    names = {i.hospital_id: i.hospital_name for i in items if i.hospital_name is not None}
    return render(
        request, "work.html", caller=caller, items=items, names=names, labels=PENDING_LABELS
    )


async def _flags_page(
    request: Request,
    caller: CallerDep,
    db: DbDep,
    *,
    errors: dict[str, str] | None = None,
    notes: dict[str, str] | None = None,
    done: bool = False,
    status: int = 200,
) -> Response:
    """One page of open flags, newest first, after ``?cursor=`` (the keyset of GET /v1/flags)."""
    cursor = request.query_params.get("cursor") or None
    try:
        rows, next_cursor = await flag_service.list_flags(
            db, caller.principal, status="open", kind=None, limit=FLAG_PAGE, cursor=cursor,
            client_address=client_address(request), via="ui",
        )  # fmt: skip
    except BadCursor:
        return redirect("/ui/flags")  # a mangled link: start again from the newest
    await unit_of_work.commit(db)  # the audit row
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
        errors=errors or {},
        notes=notes or {},
        done=done,
        cursor=cursor,
        next_cursor=next_cursor,
    )


@router.get("/flags")
async def flags(request: Request, caller: CallerDep, db: DbDep) -> Response:
    """Open flags of the caller's organization, each with a form to acknowledge it."""
    require(caller, PARTY_ROLES)
    return await _flags_page(request, caller, db, done=request.query_params.get("done") == "1")


@router.post("/flags/{flag_id}/acknowledge")
async def acknowledge_flag(
    request: Request, flag_id: uuid.UUID, caller: CallerDep, db: DbDep
) -> Response:
    """The same acknowledgement as POST /v1/flags/{id}/acknowledge: a note, the flag stays."""
    require(caller, PARTY_ROLES)
    fields = await read_form(request, caller.session)
    note = fields.get("note", "").strip()
    if not 1 <= len(note) <= 1000:
        message = "確認メモを入力してください（1〜1000文字）。"
        return await _flags_page(
            request, caller, db, errors={str(flag_id): message}, notes={str(flag_id): note},
            status=422,
        )  # fmt: skip
    row = await flag_service.acknowledge_flag(
        db, caller.principal, flag_id, note, now=datetime.now(UTC),
        client_address=client_address(request), via="ui",
    )  # fmt: skip
    await unit_of_work.commit(db)
    if row is None:
        return render(request, "not_found.html", status=404, caller=caller)
    cursor = request.query_params.get("cursor")
    return redirect("/ui/flags?done=1" + (f"&cursor={quote(cursor)}" if cursor else ""))


@router.get("/episodes/{episode_id}")
async def episode(
    request: Request, episode_id: uuid.UUID, caller: CallerDep, db: DbDep
) -> Response:
    """An episode's timeline, cancelled events marked (parties only; others see 見つかりません)."""
    require(caller, (*PARTY_ROLES, "admin"))
    out = await read_episode(db, caller.principal, Episode.id == episode_id,
                             now=datetime.now(UTC), client_address=client_address(request),
                             via="ui")  # fmt: skip
    await unit_of_work.commit(db)  # the audit row
    if out is None:
        return render(request, "not_found.html", status=404, caller=caller)
    # A cancel names its target by event_id; a person reads what was cancelled instead.
    targets = {str(e.event_id): EVENT_LABELS.get(e.type, e.type) for e in out.events}
    names = await organization_names(
        db, [out.hospital_id, out.care_office_id, *(e.posted_by for e in out.events)]
    )
    sheet_of = await sheets_by_event(db, out.episode_id)  # which events carry a sheet (issue 25)
    return render(
        request,
        "episode.html",
        sheets=[
            (e, sheet_of[(e.posted_by, e.event_id)])
            for e in out.events
            if (e.posted_by, e.event_id) in sheet_of
        ],
        sheet_titles=TITLES,
        caller=caller,
        episode=out,
        names=names,
        labels=EVENT_LABELS,
        flag_labels=FLAG_LABELS,
        targets=targets,
        channels=CHANNELS,
    )


def _record_page(
    request: Request,
    caller: CallerDep,
    *,
    values: dict[str, dict[str, str]] | None = None,
    errors: dict[str, dict[str, str]] | None = None,
    general: dict[str, str] | None = None,
    done: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    """Both forms; each carries a fresh event_id so a double submit stores one event."""
    values = values or {}
    prefill = {k: request.query_params.get(k, "") for k in ("hospital_id", "encounter_ref")}
    forms = {}
    for name in ("admission_info", "care_assignment"):
        form = {"care_office_id": caller.principal.organization_id or "", **prefill}
        form |= values.get(name, {})
        form.setdefault("event_id", str(uuid.uuid4()))
        form.setdefault("occurred_at", datetime.now(TOKYO).strftime("%Y-%m-%dT%H:%M"))
        forms[name] = form
    return render(
        request,
        "record.html",
        status=status,
        caller=caller,
        forms=forms,
        errors=errors or {},
        general=general or {},
        done=done,
        channels=CHANNELS,
    )


@router.get("/record")
async def record_form(request: Request, caller: CallerDep) -> Response:
    """入院時情報提供 and 担当ケアマネの決定, for a care office or support centre."""
    require(caller, OFFICE_ROLES)
    return _record_page(request, caller)


def _occurred_at(text: str) -> str:
    """A datetime-local value (Asia/Tokyo) as RFC 3339 with +09:00; else passed on to fail."""
    try:
        local = datetime.fromisoformat(text)
    except ValueError:
        return text
    if local.tzinfo is None:
        local = local.replace(tzinfo=TOKYO)
    return local.isoformat()


@router.post("/record/{kind}")
async def record_submit(request: Request, kind: str, caller: CallerDep, db: DbDep) -> Response:
    """Record the form's event through the ingestion of POST /v1/events."""
    require(caller, OFFICE_ROLES)
    if kind not in ("admission_info", "care_assignment"):
        return render(request, "not_found.html", status=404, caller=caller)
    fields = await read_form(request, caller.session)
    form = {k: fields.get(k, "").strip() for k in ("event_id", *FORM_FIELDS)}
    raw: dict[str, Any] = {
        "event_id": form["event_id"],
        "type": kind,
        "occurred_at": _occurred_at(form["occurred_at"]),
        "hospital_id": form["hospital_id"],
        "encounter_ref": form["encounter_ref"],
        "care_office_id": form["care_office_id"] or caller.principal.organization_id,
    }
    if kind == "admission_info":
        raw["channel"] = form["channel"]
        raw["care_office_id"] = caller.principal.organization_id
    recorded = await unit_of_work.run(
        db, lambda: record(db, [raw], caller.principal, BY_SCREEN, **intake(request)), keep=kept
    )
    outcome = recorded.outcomes[0]
    count_ingested(created_types([raw], [outcome]))
    if outcome.status in STORED:
        visible = None
        if outcome.episode_id is not None:
            episode_id = outcome.episode_id
            found = await visible_episode(db, caller.principal, Episode.id == episode_id)
            visible = found is not None
        done = {"kind": kind, "event_id": outcome.event_id, "episode_id": outcome.episode_id,
                "visible": visible, "duplicate": outcome.status == "duplicate"}  # fmt: skip
        return _record_page(request, caller, done=done)
    errors, general = field_errors(outcome, FORM_FIELDS)
    return _record_page(
        request,
        caller,
        values={kind: form},
        errors={kind: errors},
        general={kind: general} if general else {},
        status=outcome.http_status,
    )
