"""GET /v1/flags and acknowledgement: each missed or late handover, to whoever must act."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from sqlalchemy import tuple_

from services.api.deps import PrincipalDep, SessionDep, record_access, require_roles
from services.api.errors import Problem
from shared.flag_service import acknowledge, visible_flags
from shared.models import Episode, Flag
from shared.pagination import BadCursor, decode_cursor, encode_cursor
from shared.principal import Principal
from shared.rules.flags import FlagKind
from shared.schemas.events import Patient
from shared.schemas.work import AcknowledgeIn, FlagOut, FlagPage

router = APIRouter(prefix="/v1/flags", tags=["flags"])
PARTIES = require_roles("hospital", "care_office", "support_center", "admin")


def _shows_patient(principal: Principal) -> bool:
    return principal.role in ("hospital", "care_office", "support_center")


def _out(flag: Flag, episode: Episode, principal: Principal) -> FlagOut:
    out = FlagOut.model_validate(flag, from_attributes=True)
    if _shows_patient(principal):
        out.encounter_ref = episode.encounter_ref
        patient = episode.state.get("patient")
        out.patient = Patient.model_validate(patient) if patient else None
    return out


_visible = visible_flags


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
    query = _visible(principal).order_by(Flag.raised_at.desc(), Flag.id.desc()).limit(limit + 1)
    if status == "open":
        query = query.where(Flag.cleared_at.is_(None))
    elif status == "cleared":
        query = query.where(Flag.cleared_at.is_not(None))
    if kind is not None:
        query = query.where(Flag.kind == kind)
    if cursor is not None:
        try:
            raised, last_id = decode_cursor(cursor)
            after = (datetime.fromisoformat(raised), uuid.UUID(last_id))
        except (BadCursor, ValueError, TypeError) as exc:
            raise Problem(
                422,
                "cursor is not valid; pass next_cursor exactly as returned",
                errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
            ) from exc
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
