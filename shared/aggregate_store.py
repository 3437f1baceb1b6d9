"""Replacing one episode's contribution to the daily aggregates, exactly and idempotently."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import DailyAggregate, EpisodeContribution
from shared.models.aggregates import COUNT_COLUMNS, KEY_COLUMNS
from shared.rules.metrics import MetricContribution

Row = dict[str, Any]
NO_LEAD = -1


def contribution_rows(
    contributions: Sequence[MetricContribution], medical_area: str | None, region: str | None
) -> list[Row]:
    """Contributions as table rows: '' for a missing key, -1 for no coordination lead."""
    rows = []
    for c in contributions:
        row: Row = {
            "day": c.day,
            "side": c.side,
            "hospital_id": c.hospital_id,
            "care_office_id": c.care_office_id or "",
            "insurer_number": c.insurer_number or "",
            "medical_area": medical_area or "",
            "region": region or "",
            "ward_type": c.ward_type,
            "care_level_band": c.care_level_band,
            "lead_days": NO_LEAD
            if c.lead_days is None or not c.coordinated_discharges
            else c.lead_days,
        }
        row.update(c.counts())
        rows.append(row)
    return rows


def _as_row(record: EpisodeContribution) -> Row:
    return {name: getattr(record, name) for name in (*KEY_COLUMNS, *COUNT_COLUMNS)}


async def replace_contributions(
    session: AsyncSession, episode_id: uuid.UUID, new_rows: list[Row]
) -> bool:
    """Swap the episode's stored contribution for ``new_rows``; False when nothing changed."""
    old = [
        _as_row(r)
        for r in await session.scalars(
            select(EpisodeContribution).where(EpisodeContribution.episode_id == episode_id)
        )
    ]
    if sorted(old, key=_sort_key) == sorted(new_rows, key=_sort_key):
        return False
    await session.execute(
        delete(EpisodeContribution).where(EpisodeContribution.episode_id == episode_id)
    )
    if new_rows:
        await session.execute(
            insert(EpisodeContribution), [{"episode_id": episode_id, **r} for r in new_rows]
        )
    deltas = [(r, -1) for r in old] + [(r, 1) for r in new_rows]
    for row, sign in sorted(deltas, key=lambda d: _sort_key(d[0])):  # fixed order: no deadlocks
        await _add(session, row, sign)
    return True


def _sort_key(row: Row) -> tuple[str, ...]:
    return tuple(str(row[k]) for k in KEY_COLUMNS)


async def _add(session: AsyncSession, row: Row, sign: int) -> None:
    values = {k: row[k] for k in KEY_COLUMNS}
    values.update({c: sign * row[c] for c in COUNT_COLUMNS})
    values["episodes"] = sign
    table = DailyAggregate.__table__
    stmt = insert(DailyAggregate).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(KEY_COLUMNS),
        set_={c: table.c[c] + stmt.excluded[c] for c in (*COUNT_COLUMNS, "episodes")},
    )
    await session.execute(stmt)
    if sign < 0:
        await session.execute(
            delete(DailyAggregate).where(
                *(table.c[k] == row[k] for k in KEY_COLUMNS), DailyAggregate.episodes <= 0
            )
        )
