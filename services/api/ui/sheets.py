"""Sheet screens: fill a sheet for a stay (pre-filled from the office's last one), read, print.

A care office or support centre fills the 入院時情報提供書 (carried by ``admission_info``); a
hospital fills the 退院・退所情報記録書 (carried by ``discharge_coordination`` to the care office).
Both go through the one ingestion of POST /v1/events, so a double submit stores one sheet.
Reading and printing go through ``read_sheets``: parties only, every read written down.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.api.deps import client_address, intake
from services.api.observability import count_ingested
from services.api.ui.pages import PARTY_ROLES, Caller, CallerDep, DbDep, read_form, render, require
from services.api.ui.recording import field_errors
from services.api.ui.sheet_forms import form_values, item_errors, posted_items
from services.api.ui.work import BY_SCREEN, CHANNELS, _occurred_at
from shared.access.access_log import record_reads
from shared.access.visibility import visible_episode
from shared.core import unit_of_work
from shared.core.settings import get_settings
from shared.events.recording import STORED, created_types, kept, record
from shared.models import Episode
from shared.organizations.service import organization_names
from shared.rules.zone import TOKYO
from shared.sheets.documents import TITLES
from shared.sheets.layout import sections, shown, value_at
from shared.sheets.pdf import episode_sheet_pdf
from shared.sheets.reading import EpisodeSheets, read_sheets
from shared.sheets.store import previous_sheet

router = APIRouter(prefix="/ui", include_in_schema=False)
ENVELOPE: Final = ("occurred_at", "channel", "to_org_id")


@dataclass(frozen=True, slots=True)
class _Stay:
    """What the form needs of the stay, read once (the ORM row expires on a rollback)."""

    id: uuid.UUID
    hospital_id: str
    encounter_ref: str
    care_office_id: str | None
    patient: dict[str, Any]


async def _visible_stay(db: DbDep, caller: Caller, episode_id: uuid.UUID) -> _Stay | None:
    episode = await visible_episode(db, caller.principal, Episode.id == episode_id)
    if episode is None:
        return None
    patient = (episode.state or {}).get("patient") or {}
    return _Stay(
        episode.id, episode.hospital_id, episode.encounter_ref, episode.care_office_id, patient
    )


def _kind(caller: Caller) -> str:
    """What this caller fills: an office the admission sheet, a hospital the discharge one."""
    return "discharge_info_sheet" if caller.role == "hospital" else "admission_info_sheet"


async def _prefill(
    request: Request, db: DbDep, caller: Caller, stay: _Stay, kind: str
) -> dict[str, Any]:
    """The items of this office's last sheet of ``kind`` for the same insured person, if any.

    Showing it is a read of that earlier stay's sheet: the access log names it.
    """
    insurer, insured = stay.patient.get("insurer_number"), stay.patient.get("insured_number")
    if not insurer or not insured or caller.principal.organization_id is None:
        return {}
    found = await previous_sheet(
        db,
        get_settings(),
        kind=kind,
        poster_org_id=caller.principal.organization_id,
        insurer_number=insurer,
        insured_number=insured,
    )
    if found is None:
        return {}
    source_episode, document = found
    await record_reads(
        db,
        caller.principal,
        [source_episode],
        path=request.url.path,
        address=client_address(request),
    )
    await unit_of_work.commit(db)  # the access-log row
    items: dict[str, Any] = document.get("items", {})
    return items


def _form_page(
    request: Request,
    caller: Caller,
    episode: _Stay,
    names: dict[str, str],
    *,
    values: dict[str, str],
    prefilled: bool = False,
    errors: dict[str, str] | None = None,
    general: str | None = None,
    status: int = 200,
) -> Response:
    kind = _kind(caller)
    return render(
        request,
        "sheet_form.html",
        status=status,
        caller=caller,
        episode=episode,
        names=names,
        kind=kind,
        title=TITLES[kind],
        sections=sections(kind),
        values=values,
        prefilled=prefilled,
        errors=errors or {},
        general=general,
        channels=CHANNELS,
    )


@router.get("/episodes/{episode_id}/sheets/new")
async def sheet_form(
    request: Request, episode_id: uuid.UUID, caller: CallerDep, db: DbDep
) -> Response:
    """The form of the caller's sheet for this stay, pre-filled from its previous sheet."""
    require(caller, PARTY_ROLES)
    episode = await _visible_stay(db, caller, episode_id)
    if episode is None:
        return render(request, "not_found.html", status=404, caller=caller)
    names = await organization_names(db, [episode.hospital_id, episode.care_office_id])
    kind = _kind(caller)
    items = await _prefill(request, db, caller, episode, kind)
    values = form_values(kind, items) | {
        "event_id": str(uuid.uuid4()),
        "occurred_at": datetime.now(TOKYO).strftime("%Y-%m-%dT%H:%M"),
        "channel": "ict",
        "to_org_id": episode.care_office_id or "",
    }
    return _form_page(request, caller, episode, names, values=values, prefilled=bool(items))


def _event(caller: Caller, episode: _Stay, fields: dict[str, str]) -> dict[str, Any]:
    """The event the form posts: its envelope from the stay, its sheet from the items."""
    kind = _kind(caller)
    raw: dict[str, Any] = {
        "event_id": fields.get("event_id", ""),
        "occurred_at": _occurred_at(fields.get("occurred_at", "").strip()),
        "hospital_id": episode.hospital_id,
        "encounter_ref": episode.encounter_ref,
        "channel": fields.get("channel", ""),
        "sheet": {"kind": kind, "version": 1, "items": posted_items(kind, fields)},
    }
    if kind == "admission_info_sheet":
        return {**raw, "type": "admission_info", "care_office_id": caller.principal.organization_id}
    return {
        **raw,
        "type": "discharge_coordination",
        "to_org_id": fields.get("to_org_id", "").strip(),
    }


@router.post("/episodes/{episode_id}/sheets/new")
async def sheet_submit(
    request: Request, episode_id: uuid.UUID, caller: CallerDep, db: DbDep
) -> Response:
    """Send the sheet with its event (the ingestion of POST /v1/events)."""
    require(caller, PARTY_ROLES)
    fields = await read_form(request, caller.session)
    episode = await _visible_stay(db, caller, episode_id)
    if episode is None:
        return render(request, "not_found.html", status=404, caller=caller)
    names = await organization_names(db, [episode.hospital_id, episode.care_office_id])
    raw = _event(caller, episode, fields)
    recorded = await unit_of_work.run(
        db, lambda: record(db, [raw], caller.principal, BY_SCREEN, **intake(request)), keep=kept
    )
    outcome = recorded.outcomes[0]
    count_ingested(created_types([raw], [outcome]))
    if outcome.status in STORED:
        return render(
            request,
            "sheet_done.html",
            caller=caller,
            episode_id=episode_id,
            title=TITLES[_kind(caller)],
            duplicate=outcome.status == "duplicate",
        )
    errors, general = field_errors(outcome, ENVELOPE)
    errors |= item_errors(outcome.errors)
    return _form_page(
        request,
        caller,
        episode,
        names,
        values=fields,
        errors=errors,
        general=None if errors else general,
        status=outcome.http_status,
    )


async def _read(
    request: Request, caller: Caller, db: DbDep, episode_id: uuid.UUID, sheet_id: uuid.UUID
) -> EpisodeSheets | None:
    require(caller, (*PARTY_ROLES, "admin"))
    found = await read_sheets(
        db,
        caller.principal,
        episode_id,
        settings=get_settings(),
        sheet_id=sheet_id,
        path=request.url.path,
        client_address=client_address(request),
    )
    await unit_of_work.commit(db)  # the access-log row
    return found if found is not None and found.sheets else None


@router.get("/episodes/{episode_id}/sheets/{sheet_id}.pdf")
async def sheet_pdf(
    request: Request, episode_id: uuid.UUID, sheet_id: uuid.UUID, caller: CallerDep, db: DbDep
) -> Response:
    """The sheet as the A4 PDF of GET /v1/episodes/{id}/sheets/{sheet_id}.pdf."""
    found = await _read(request, caller, db, episode_id, sheet_id)
    if found is None:
        return render(request, "not_found.html", status=404, caller=caller)
    return Response(
        episode_sheet_pdf(found),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{sheet_id}.pdf"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/episodes/{episode_id}/sheets/{sheet_id}")
async def sheet_page(
    request: Request, episode_id: uuid.UUID, sheet_id: uuid.UUID, caller: CallerDep, db: DbDep
) -> Response:
    """One sheet on screen, laid out in the form's sections."""
    found = await _read(request, caller, db, episode_id, sheet_id)
    if found is None:
        return render(request, "not_found.html", status=404, caller=caller)
    sheet = found.sheets[0]
    return render(
        request,
        "sheet.html",
        caller=caller,
        found=found,
        sheet=sheet,
        title=TITLES[sheet.kind],
        sections=sections(sheet.kind),
        items=sheet.sheet.get("items", {}),
        value_at=value_at,
        shown=shown,
        now=datetime.now(UTC),
    )
