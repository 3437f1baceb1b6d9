"""GET /v1/flags and acknowledgement: each missed or late handover, to whoever must act."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from services.api.deps import PrincipalDep, SessionDep, client_address, require_roles
from services.api.errors import Problem
from services.api.params import Cursor
from services.api.routing import AuthFirstRoute
from shared.access.principal import Principal
from shared.core import unit_of_work
from shared.episodes import flag_service
from shared.episodes.flag_service import shows_patient
from shared.episodes.work_schemas import AcknowledgeIn, FlagOut, FlagPage
from shared.models import Episode, Flag
from shared.rules.events import Patient
from shared.rules.flags import FlagKind

router = APIRouter(route_class=AuthFirstRoute, prefix="/v1/flags", tags=["flags"])
PARTIES = require_roles("hospital", "care_office", "support_center", "admin")


def _out(flag: Flag, episode: Episode, principal: Principal) -> FlagOut:
    """Patient fields and the acknowledgement note (free text) go to the parties only."""
    out = FlagOut.model_validate(flag, from_attributes=True)
    if shows_patient(principal):
        out.encounter_ref = episode.encounter_ref
        patient = episode.state.get("patient")
        out.patient = Patient.model_validate(patient) if patient else None
    else:
        out.acknowledgement_note = None
    return out


@router.get("", response_model=FlagPage)
async def list_flags(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    status: Literal["open", "cleared", "all"] = "open",
    kind: FlagKind | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Cursor = None,
) -> FlagPage:
    """The caller's flags, newest first (admin and viewer: all in scope, without patient fields)."""
    rows, next_cursor = await flag_service.list_flags(
        session, principal, status=status, kind=kind, limit=limit, cursor=cursor,
        client_address=client_address(request),
    )  # fmt: skip
    await unit_of_work.commit(session)  # the audit row
    return FlagPage(items=[_out(f, e, principal) for f, e in rows], next_cursor=next_cursor)


@router.post("/{flag_id}/acknowledge", response_model=FlagOut, dependencies=[PARTIES])
async def acknowledge_flag(
    request: Request,
    flag_id: uuid.UUID,
    body: AcknowledgeIn,
    session: SessionDep,
    principal: PrincipalDep,
) -> FlagOut:
    """Record that a party has seen the flag, with a note; the flag stays until resolved."""
    row = await flag_service.acknowledge_flag(
        session, principal, flag_id, body.note, now=datetime.now(UTC),
        client_address=client_address(request),
    )  # fmt: skip
    await unit_of_work.commit(session)
    if row is None:
        raise Problem(404, "No flag with this id is visible to this key.")
    return _out(*row, principal)
