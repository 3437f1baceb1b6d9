"""Rebuilding every metric contribution, daily aggregate and rollup from the event log alone."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.episodes.repository import recorded_columns
from shared.metrics.contributions import contribution_rows
from shared.metrics.rollup_writes import REBUILD_ROLLUPS
from shared.models import Episode, EpisodeContribution, EventRecord, Organization
from shared.models.aggregates import COUNT_COLUMNS, KEY_COLUMNS
from shared.organizations.rule_sets import region_rule_sets
from shared.rules.events import RecordedEvent
from shared.rules.fold import fold
from shared.rules.metrics import contributions
from shared.rules.rule_set import RuleSet

BATCH = 1000
Progress = Callable[[int, int], None]

_TRUNCATE = text("TRUNCATE episode_contributions, daily_aggregates, monthly_counts, monthly_leads")
_AGGREGATE = text(
    f"""
    INSERT INTO daily_aggregates ({", ".join(KEY_COLUMNS)}, {", ".join(COUNT_COLUMNS)}, episodes)
    SELECT {", ".join(KEY_COLUMNS)}, {", ".join(f"sum({c})" for c in COUNT_COLUMNS)}, count(*)
    FROM episode_contributions
    GROUP BY {", ".join(KEY_COLUMNS)}
    """
)


async def rebuild_aggregates(
    session: AsyncSession, now: datetime, progress: Progress | None = None
) -> int:
    """Refold every episode and rewrite contributions, aggregates and rollups in one transaction.

    TRUNCATE locks the tables until commit (in the order recomputes touch them), so live
    recomputes wait instead of interleaving.
    Returns the number of episodes folded.
    """
    await session.execute(_TRUNCATE)
    orgs = {o.id: o for o in await session.scalars(select(Organization))}
    rule_sets: dict[str | None, list[RuleSet]] = {}
    total = await session.scalar(select(text("count(*)")).select_from(Episode)) or 0
    done = 0
    after: uuid.UUID | None = None
    while True:
        query = select(Episode.id, Episode.hospital_id).order_by(Episode.id).limit(BATCH)
        if after is not None:
            query = query.where(Episode.id > after)
        episodes = (await session.execute(query)).all()
        if not episodes:
            break
        after = episodes[-1][0]
        # Plain columns, not ORM objects: a third of the time went to building EventRecords.
        events: defaultdict[uuid.UUID, list[RecordedEvent]] = defaultdict(list)
        for episode_id, body, seq, poster in await session.execute(
            select(
                EventRecord.episode_id, EventRecord.body, EventRecord.seq, EventRecord.poster_org_id
            )
            .where(EventRecord.episode_id.in_([e[0] for e in episodes]))
            .order_by(EventRecord.seq)
        ):
            events[episode_id].append(recorded_columns(body, seq, poster))
        batch = []
        for episode_id, hospital_id in episodes:
            if not events[episode_id]:  # nothing recorded: nothing to count
                continue
            hospital = orgs.get(hospital_id)
            region = hospital.region if hospital else None
            if region not in rule_sets:
                rule_sets[region] = await region_rule_sets(session, region)
            state = fold(events[episode_id], rule_sets[region], now)
            medical_area = hospital.medical_area if hospital else None
            for contribution in contribution_rows(contributions(state), medical_area, region):
                batch.append({"episode_id": episode_id, **contribution})
        if batch:
            await session.execute(insert(EpisodeContribution), batch)
        done += len(episodes)
        if progress is not None:
            progress(done, total)
    await session.execute(_AGGREGATE)
    for statement in REBUILD_ROLLUPS:
        await session.execute(statement)
    return done
