"""GET /v1/flags and acknowledgement: each missed or late handover, to whoever must act."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Final, Literal

from fastapi import APIRouter, Query, Request
from pydantic import TypeAdapter
from sqlalchemy import tuple_

from services.api.deps import PrincipalDep, SessionDep, record_access, require_roles
from services.api.errors import Problem
from services.api.routing import AuthFirstRoute
from shared.access.principal import Principal
from shared.core.pagination import decode_cursor, encode_cursor
from shared.episodes.flag_service import acknowledge, visible_flags
from shared.episodes.work_schemas import AcknowledgeIn, FlagOut, FlagPage
from shared.models import Episode, Flag
from shared.rules.bounds import BoundedTimestamp
from shared.rules.events import Patient
from shared.rules.flags import FlagKind

router = APIRouter(route_class=AuthFirstRoute, prefix="/v1/flags", tags=["flags"])
PARTIES = require_roles("hospital", "care_office", "support_center", "admin")
FLAG_CURSOR: Final = TypeAdapter(tuple[BoundedTimestamp, uuid.UUID])  # (raised_at, id) of the last


def _shows_patient(principal: Principal) -> bool:
    return principal.role in ("hospital", "care_office", "support_center")


def _out(flag: Flag, episode: Episode, principal: Principal) -> FlagOut:
    """Patient fields and the acknowledgement note (free text) go to the parties only."""
    out = FlagOut.model_validate(flag, from_attributes=True)
    if _shows_patient(principal):
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
    cursor: str | None = None,
) -> FlagPage:
    """The caller's flags, newest first (admin and viewer: all in scope, without patient fields)."""
    newest_first = (Flag.raised_at.desc(), Flag.id.desc())
    query = visible_flags(principal).order_by(*newest_first).limit(limit + 1)
    if status == "open":
        query = query.where(Flag.cleared_at.is_(None))
    elif status == "cleared":
        query = query.where(Flag.cleared_at.is_not(None))
    if kind is not None:
        query = query.where(Flag.kind == kind)
    if cursor is not None:
        after = decode_cursor(cursor, FLAG_CURSOR)
        query = query.where(tuple_(Flag.raised_at, Flag.id) < tuple_(*after))
    rows = (await session.execute(query)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1][0] if rows else None
    if _shows_patient(principal):
        record_access(
            request,
            session,
            principal,
            "list_flags",
            episode_ids=sorted({str(e.id) for _, e in rows}),
        )
        await session.commit()
    return FlagPage(
        items=[_out(f, e, principal) for f, e in rows],
        next_cursor=encode_cursor([last.raised_at.isoformat(), str(last.id)])
        if more and last
        else None,
    )


@router.post("/{flag_id}/acknowledge", response_model=FlagOut, dependencies=[PARTIES])
async def acknowledge_flag(
    request: Request,
    flag_id: uuid.UUID,
    body: AcknowledgeIn,
    session: SessionDep,
    principal: PrincipalDep,
) -> FlagOut:
    """Record that a party has seen the flag, with a note; the flag stays until resolved."""
    row = await acknowledge(session, principal, flag_id, body.note, datetime.now(UTC))
    if row is None:
        raise Problem(404, "No flag with this id is visible to this key.")
    flag, episode = row
    record_access(
        request, session, principal, "acknowledge_flag", episode_id=episode.id, flag_id=str(flag.id)
    )
    await session.commit()
    return _out(flag, episode, principal)
