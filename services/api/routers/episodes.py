"""GET /v1/episodes: one hospital stay, to its parties only."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import ColumnElement, select

from services.api.deps import PrincipalDep, SessionDep, record_access, require_roles
from services.api.errors import Problem
from services.api.routing import AuthFirstRoute
from shared.episodes import events_by_episode, fold_rows, hospital_region, region_rule_sets
from shared.models import Episode
from shared.principal import Principal
from shared.rules.flags import open_flags
from shared.schemas.episodes import EpisodeEvent, EpisodeFlag, EpisodeOut
from shared.schemas.events import EncounterRef, OrgId
from shared.visibility import episode_scope

router = APIRouter(
    route_class=AuthFirstRoute,
    prefix="/v1/episodes",
    tags=["episodes"],
    dependencies=[require_roles("hospital", "care_office", "support_center", "admin")],
)
NOT_FOUND = "No episode with this id is visible to this key."


async def _visible(
    session: SessionDep, principal: Principal, *where: ColumnElement[bool]
) -> Episode:
    """The episode matching ``where`` if the caller may read it (shared.visibility), else 404."""
    episode = await session.scalar(select(Episode).where(*where, episode_scope(principal)))
    if episode is None:
        raise Problem(404, NOT_FOUND)
    return episode


async def _render(
    request: Request, session: SessionDep, principal: Principal, episode: Episode
) -> EpisodeOut:
    record_access(request, session, principal, "read_episode", episode_id=episode.id)
    await session.commit()
    now = datetime.now(UTC)
    rows = (await events_by_episode(session, [episode.id])).get(episode.id, [])
    rule_sets = await region_rule_sets(session, await hospital_region(session, episode.hospital_id))
    state = fold_rows(rows, rule_sets, now)
    return EpisodeOut(
        episode_id=episode.id,
        hospital_id=episode.hospital_id,
        encounter_ref=episode.encounter_ref,
        patient=state.patient,
        admitted_at=state.admitted_at,
        care_office_id=state.care_office_id,
        care_level=state.care_level,
        ward_type=state.ward_type,
        planned_discharge_date=state.planned_discharge_date,
        admission_info_at=state.admission_info_at,
        admission_info_deadline=state.admission_info_deadline,
        admission_info_on_time=state.admission_info_on_time,
        first_coordination_at=state.first_coordination_at,
        discharged_at=state.discharged_at,
        destination=state.destination,
        eligible=state.eligible,
        coordinated=state.coordinated,
        missed=state.missed,
        coordination_lead_days=state.coordination_lead_days,
        events=[
            EpisodeEvent(
                event_id=r.event_id,
                type=r.type,
                occurred_at=r.occurred_at,
                recorded_at=r.recorded_at,
                posted_by=r.poster_org_id,
                cancelled=r.event_id in state.cancelled_event_ids,
                body=r.body,
            )
            for r in rows
        ],
        flags=[EpisodeFlag(**asdict(f)) for f in open_flags(state, now)],
    )


@router.get("/{episode_id}", response_model=EpisodeOut)
async def get_episode(
    request: Request, episode_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> EpisodeOut:
    """One episode with its events and flags (404 unless the caller is a party)."""
    episode = await _visible(session, principal, Episode.id == episode_id)
    return await _render(request, session, principal, episode)


@router.get(
    "", response_model=EpisodeOut, responses={404: {"description": "No such episode visible"}}
)
async def find_episode(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    hospital_id: Annotated[OrgId, Query()],
    encounter_ref: Annotated[EncounterRef, Query()],  # printable only: NUL was a 500
) -> EpisodeOut:
    """The episode of a hospital's own stay number (404 unless the caller is a party)."""
    episode = await _visible(
        session,
        principal,
        Episode.hospital_id == hospital_id,
        Episode.encounter_ref == encounter_ref,
    )
    return await _render(request, session, principal, episode)
