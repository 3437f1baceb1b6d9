"""The worker's unit of work: refold one episode, then its flags and its metric contribution.

Runs in one transaction holding the episode's row lock, so it is idempotent: running it twice,
or again after a crash half-way, leaves the same rows.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.aggregate_store import contribution_rows, replace_contributions
from shared.episodes import apply_state, episode_events, fold_rows, region_rule_sets
from shared.flag_store import sync_flags
from shared.models import Episode, Flag, Organization
from shared.rules.calendar import local_date
from shared.rules.flags import open_flags
from shared.rules.metrics import contributions

MAX_LEAD_DAYS = 60  # the largest discharge_notice_lead_days a rule set may have


async def recompute_episode(session: AsyncSession, episode_id: uuid.UUID, now: datetime) -> bool:
    """Refold, sync flags and aggregates, clear the dirty mark; False if no such episode."""
    episode = await session.scalar(
        select(Episode).where(Episode.id == episode_id).with_for_update()
    )
    if episode is None:
        return False
    hospital = await session.get(Organization, episode.hospital_id)
    region = hospital.region if hospital else None
    rows = await episode_events(session, episode.id)
    state = fold_rows(rows, await region_rule_sets(session, region), now)
    apply_state(episode, state, {r.poster_org_id for r in rows if r.poster_org_id != "admin"})
    medical_area = hospital.medical_area if hospital else None
    await replace_contributions(
        session, episode.id, contribution_rows(contributions(state), medical_area, region)
    )
    await sync_flags(session, episode.id, episode.hospital_id, open_flags(state, now), now)
    episode.computed_version = episode.version
    episode.dirty_since = None
    await session.flush()
    return True


async def dirty_episode_ids(
    session: AsyncSession, older_than: datetime, limit: int = 1000
) -> list[uuid.UUID]:
    """Episodes whose events are stored but not folded since ``older_than`` (for the sweep)."""
    result = await session.scalars(
        select(Episode.id)
        .where(Episode.dirty_since.is_not(None), Episode.dirty_since < older_than)
        .order_by(Episode.dirty_since)
        .limit(limit)
    )
    return list(result)


async def deadline_episode_ids(
    session: AsyncSession, now: datetime, limit: int = 5000
) -> list[uuid.UUID]:
    """Open stays whose time-based flags may have changed: a deadline passed with no event."""
    today = local_date(now)
    overdue_flagged = select(Flag.episode_id).where(
        Flag.cleared_at.is_(None), Flag.kind == "admission_info_overdue"
    )
    due_flagged = select(Flag.episode_id).where(
        Flag.cleared_at.is_(None), Flag.kind == "discharge_coordination_due"
    )
    result = await session.scalars(
        select(Episode.id)
        .where(Episode.has_admission, Episode.discharged_at.is_(None))
        .where(
            or_(
                Episode.admission_info_at.is_(None)
                & (Episode.admission_info_deadline < today)
                & Episode.id.not_in(overdue_flagged),
                Episode.first_coordination_at.is_(None)
                & (Episode.planned_discharge_date <= today + timedelta(days=MAX_LEAD_DAYS))
                & Episode.id.not_in(due_flagged),
            )
        )
        .limit(limit)
    )
    return list(result)
