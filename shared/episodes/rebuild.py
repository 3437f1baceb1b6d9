"""Rebuilding every metric contribution, daily aggregate and rollup from the event log alone."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.episodes.repository import recorded_columns
from shared.episodes.set_aside import fold_setting_aside
from shared.metrics.contributions import Row, contribution_rows
from shared.metrics.rollup_writes import REBUILD_ROLLUPS
from shared.models import Episode, EpisodeContribution, EventRecord, Organization
from shared.models.aggregates import KEY_COLUMNS
from shared.organizations.rule_sets import region_rule_sets
from shared.rules.fold import fold
from shared.rules.metrics import COUNT_FIELDS, contributions
from shared.rules.rule_set import RuleSet

BATCH = 1000
Progress = Callable[[int, int], None]

_TRUNCATE = text("TRUNCATE episode_contributions, daily_aggregates, monthly_counts, monthly_leads")
_AGGREGATE = text(
    f"""
    INSERT INTO daily_aggregates ({", ".join(KEY_COLUMNS)}, {", ".join(COUNT_FIELDS)}, episodes)
    SELECT {", ".join(KEY_COLUMNS)}, {", ".join(f"sum({c})" for c in COUNT_FIELDS)}, count(*)
    FROM episode_contributions
    GROUP BY {", ".join(KEY_COLUMNS)}
    """
)


async def rebuild_aggregates(
    session: AsyncSession, now: datetime, progress: Progress | None = None
) -> int:
    """Refold every episode and rewrite contributions, aggregates and rollups in one transaction.

    TRUNCATE locks the tables until commit (in the order recomputes touch them), so live
    recomputes wait instead of interleaving. Each batch is folded as the worker folds one
    (``fold_setting_aside``): an episode whose fold raises is set aside and left out of the
    counts, the others are counted. Returns the number of episodes folded.
    """
    await session.execute(_TRUNCATE)
    folder = _Folder(session, now, await _places(session))
    total = await session.scalar(select(text("count(*)")).select_from(Episode)) or 0
    done = folded = 0
    async for batch in _batches(session):
        ids = list(batch.hospitals)
        folded += await fold_setting_aside(session, ids, partial(folder.fold, batch), now)
        done += len(ids)
        if progress is not None:
            progress(done, total)
    await session.execute(_AGGREGATE)
    for statement in REBUILD_ROLLUPS:
        await session.execute(statement)
    return folded


# An organization's (region, medical area): plain values, which a rolled-back SAVEPOINT keeps.
Places = dict[str, tuple[str | None, str | None]]
# An episode's stored events as plain columns (body, seq, poster), in arrival order, not ORM
# objects (docs/performance.md).
Columns = list[tuple[dict[str, Any], int, str]]


async def _places(session: AsyncSession) -> Places:
    query = select(Organization.id, Organization.region, Organization.medical_area)
    return {org_id: (region, area) for org_id, region, area in await session.execute(query)}


@dataclass(frozen=True, slots=True)
class _Batch:
    """Up to ``BATCH`` episodes: each one's hospital and stored events."""

    hospitals: dict[uuid.UUID, str]
    events: dict[uuid.UUID, Columns]


async def _batches(session: AsyncSession) -> AsyncIterator[_Batch]:
    """Every episode in id order, in keyset batches, with its events (one query each)."""
    after: uuid.UUID | None = None
    while True:
        query = select(Episode.id, Episode.hospital_id).order_by(Episode.id).limit(BATCH)
        if after is not None:
            query = query.where(Episode.id > after)
        hospitals = dict((await session.execute(query)).all())
        if not hospitals:
            return
        after = max(hospitals)
        yield _Batch(hospitals, await _events(session, list(hospitals)))


async def _events(session: AsyncSession, episode_ids: list[uuid.UUID]) -> dict[uuid.UUID, Columns]:
    events: defaultdict[uuid.UUID, Columns] = defaultdict(list)
    for episode_id, body, seq, poster in await session.execute(
        select(EventRecord.episode_id, EventRecord.body, EventRecord.seq, EventRecord.poster_org_id)
        .where(EventRecord.episode_id.in_(episode_ids))
        .order_by(EventRecord.seq)
    ):
        events[episode_id].append((body, seq, poster))
    return events


@dataclass
class _Folder:
    """Folds episodes of a batch and inserts their contributions; rule sets read once a region."""

    session: AsyncSession
    now: datetime
    places: Places
    rule_sets: dict[str | None, list[RuleSet]] = field(default_factory=dict)

    async def fold(self, batch: _Batch, episode_ids: Sequence[uuid.UUID]) -> int:
        """Fold these episodes of ``batch`` (raises if any one fails); how many."""
        rows: list[Row] = []
        for episode_id in episode_ids:
            rows += await self._rows(episode_id, batch.hospitals[episode_id], batch.events)
        if rows:
            await self.session.execute(insert(EpisodeContribution), rows)
        return len(episode_ids)

    async def _rows(
        self, episode_id: uuid.UUID, hospital_id: str, events: dict[uuid.UUID, Columns]
    ) -> list[Row]:
        if episode_id not in events:  # nothing recorded: nothing to count
            return []
        region, medical_area = self.places.get(hospital_id, (None, None))
        if region not in self.rule_sets:
            self.rule_sets[region] = await region_rule_sets(self.session, region)
        recorded = [recorded_columns(*columns) for columns in events[episode_id]]
        state = fold(recorded, self.rule_sets[region], self.now)
        return [
            {"episode_id": episode_id, **row}
            for row in contribution_rows(contributions(state), medical_area, region)
        ]
