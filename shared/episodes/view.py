"""One episode as its parties read it (events, cancelled marks, open flags): JSON and screens."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from shared.access.audit import audit
from shared.access.principal import Principal
from shared.access.visibility import visible_episode
from shared.episodes.repository import events_by_episode, fold_rows
from shared.episodes.schemas import EpisodeEvent, EpisodeFlag, EpisodeOut
from shared.models import Episode
from shared.organizations.rule_sets import hospital_region, region_rule_sets
from shared.rules.flags import open_flags
from shared.sheets.store import sheets_by_event


async def read_episode(
    session: AsyncSession,
    principal: Principal,
    *where: ColumnElement[bool],
    now: datetime,
    client_address: str | None = None,
    via: str | None = None,
) -> EpisodeOut | None:
    """The episode matching ``where`` if the caller may read it (None: not visible), audited."""
    episode = await visible_episode(session, principal, *where)
    if episode is None:
        return None
    audit(session, principal, "read_episode", episode_id=episode.id,
          client_address=client_address, via=via)  # fmt: skip
    return await episode_out(session, episode, now)


async def episode_out(session: AsyncSession, episode: Episode, now: datetime) -> EpisodeOut:
    """Fold the episode's stored events now; found and audited by `read_episode`."""
    rows = (await events_by_episode(session, [episode.id])).get(episode.id, [])
    rule_sets = await region_rule_sets(session, await hospital_region(session, episode.hospital_id))
    state = fold_rows(rows, rule_sets, now)
    with_sheets = await sheets_by_event(session, episode.id)
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
                cancelled=(r.poster_org_id, r.event_id) in state.cancelled_events,
                body=r.body,
                has_sheet=(r.poster_org_id, r.event_id) in with_sheets,
            )
            for r in rows
        ],
        flags=[EpisodeFlag(**asdict(f)) for f in open_flags(state, now)],
    )
