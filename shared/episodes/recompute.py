"""The worker's unit of work: refold one episode, then its flags and its metric contribution.

Runs in one transaction holding the episode's row lock, so it is idempotent: running it twice,
or again after a crash half-way, leaves the same rows.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime

from sqlalchemy import Select, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from shared.episodes.flags import sync_flags
from shared.episodes.repository import EPISODE_LOCK_ORDER, apply_state, events_by_episode, fold_rows
from shared.episodes.set_aside import FOLDABLE, clear_marks, fold_setting_aside
from shared.metrics.contributions import Row, contribution_rows, replace_contributions
from shared.models import Episode, Flag, Organization
from shared.organizations.rule_sets import region_rule_sets
from shared.rules.calendar import local_date
from shared.rules.flags import FlagSpec, open_flags
from shared.rules.metrics import contributions
from shared.rules.rule_set import RuleSet


async def recompute_episodes(
    session: AsyncSession, episode_ids: Sequence[uuid.UUID], now: datetime
) -> int:
    """Refold the episodes, sync their flags and aggregates, clear their dirty marks.

    Locks the episode rows in ``EPISODE_LOCK_ORDER`` (as ingestion does: no deadlocks); a
    handful of queries per batch whatever its size. The episodes are independent: one whose
    data makes the fold raise is set aside (``shared.episodes.set_aside.fold_setting_aside``)
    while the others are stored. A database or network failure is raised (the message is
    retried). Returns how many of the episodes were folded.
    """

    async def fold(ids: Sequence[uuid.UUID]) -> int:
        return await _fold(session, await _lock(session, ids), now)

    return await fold_setting_aside(session, episode_ids, fold, now)


async def _lock(session: AsyncSession, episode_ids: Sequence[uuid.UUID]) -> list[Episode]:
    """The episodes, freshly read and row-locked in ``EPISODE_LOCK_ORDER``."""
    return list(
        await session.scalars(
            select(Episode)
            .where(Episode.id.in_(episode_ids))
            .order_by(*EPISODE_LOCK_ORDER)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )


async def _fold(session: AsyncSession, episodes: Sequence[Episode], now: datetime) -> int:
    """Fold locked episodes and write their state, contributions and flags (raises on any one)."""
    if not episodes:
        return 0
    hospitals = {
        o.id: o
        for o in await session.scalars(
            select(Organization).where(Organization.id.in_({e.hospital_id for e in episodes}))
        )
    }
    regions = {o.region for o in hospitals.values()}
    rule_sets: dict[str | None, list[RuleSet]] = {
        region: await region_rule_sets(session, region) for region in regions
    }
    events = await events_by_episode(session, [e.id for e in episodes])
    shares: dict[uuid.UUID, list[Row]] = {}
    flags: dict[uuid.UUID, tuple[str, list[FlagSpec]]] = {}
    for episode in episodes:
        rows = events.get(episode.id, [])
        hospital = hospitals.get(episode.hospital_id)
        region = hospital.region if hospital else None
        shares[episode.id], flags[episode.id] = [], (episode.hospital_id, [])
        if rows:  # an episode is created with its first event; none means nothing to count
            state = fold_rows(rows, rule_sets.get(region, []), now)
            apply_state(episode, state)
            medical_area = hospital.medical_area if hospital else None
            shares[episode.id] = contribution_rows(contributions(state), medical_area, region)
            flags[episode.id] = (episode.hospital_id, open_flags(state, now))
        episode.computed_version = episode.version
        episode.dirty_since = None
        clear_marks(episode)
    await replace_contributions(session, shares)
    await sync_flags(session, flags, now)
    await session.flush()
    return len(episodes)


async def recompute_episode(session: AsyncSession, episode_id: uuid.UUID, now: datetime) -> bool:
    """Recompute one episode (the API's after-commit message); False if absent or set aside."""
    return await recompute_episodes(session, [episode_id], now) == 1


async def _keyset_batches(
    session: AsyncSession, query: Select[datetime | date | None, uuid.UUID], batch: int, most: int
) -> AsyncIterator[list[uuid.UUID]]:
    """Episode ids of ``query`` (selecting a sort column and the id) in bounded keyset batches."""
    sort_column, id_column = query.selected_columns
    after: tuple[object, uuid.UUID] | None = None
    seen = 0
    while seen < most:
        page = query.order_by(sort_column, id_column).limit(min(batch, most - seen))
        if after is not None:
            page = page.where(tuple_(sort_column, id_column) > tuple_(*after))
        rows = (await session.execute(page)).all()
        if not rows:
            return
        seen += len(rows)
        after = (rows[-1][0], rows[-1][1])
        yield [row[1] for row in rows]


def dirty_episode_batches(
    session: AsyncSession, older_than: datetime, batch: int = 500, most: int = 10_000
) -> AsyncIterator[list[uuid.UUID]]:
    """Episodes stored but not folded since before ``older_than``, oldest first (the sweep).

    Set-aside episodes are left out until a new event moves their version on.
    """
    query = select(Episode.dirty_since, Episode.id).where(
        Episode.dirty_since.is_not(None), Episode.dirty_since < older_than, FOLDABLE
    )
    return _keyset_batches(session, query, batch, most)


def deadline_episode_batches(
    session: AsyncSession, now: datetime, batch: int = 500, most: int = 1_000_000
) -> AsyncIterator[list[uuid.UUID]]:
    """Open stays whose time-based flags may now be due: a deadline passed with no event."""
    today = local_date(now)
    lead_days = Episode.state["rule_set"]["discharge_notice_lead_days"].as_integer()
    open_flag = select(Flag.episode_id).where(Flag.cleared_at.is_(None))
    query = (
        select(Episode.admitted_at, Episode.id)
        .where(Episode.has_admission, Episode.discharged_at.is_(None), FOLDABLE)
        .where(
            or_(
                Episode.admission_info_at.is_(None)
                & (Episode.admission_info_deadline < today)
                & Episode.id.not_in(open_flag.where(Flag.kind == "admission_info_overdue")),
                Episode.first_coordination_at.is_(None)
                & (Episode.planned_discharge_date - lead_days <= today)
                & Episode.id.not_in(open_flag.where(Flag.kind == "discharge_coordination_due")),
            )
        )
    )
    return _keyset_batches(session, query, batch, most)
