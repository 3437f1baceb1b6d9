"""Replacing episodes' contributions to the aggregates and rollups, exactly and idempotently."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.metrics.rollup_writes import apply_rollup_deltas
from shared.models.aggregates import KEY_COLUMNS
from shared.rules.metrics import COUNT_FIELDS, MetricContribution

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
            "ward_type": c.ward_type or "",
            "care_level_band": c.care_level_band,
            "lead_days": NO_LEAD
            if c.lead_days is None or not c.coordinated_discharges
            else c.lead_days,
        }
        row.update(c.counts())
        rows.append(row)
    return rows


def _key(row: Row) -> tuple[Any, ...]:
    return tuple(row[k] for k in KEY_COLUMNS)


def _sort_key(key: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple(map(str, key))


def _ordered(rows: list[Row]) -> list[Row]:
    return sorted(rows, key=lambda r: _sort_key(_key(r)))


_KEYS = ", ".join(KEY_COLUMNS)
_COUNTED = (*COUNT_FIELDS, "episodes")
_OLD = text(
    f"SELECT episode_id, {_KEYS}, {', '.join(COUNT_FIELDS)} FROM episode_contributions"
    " WHERE episode_id = ANY(:ids)"
)
_DELETE_OLD = text("DELETE FROM episode_contributions WHERE episode_id = ANY(:ids)")
_INSERT_NEW = text(
    f"INSERT INTO episode_contributions (episode_id, {_KEYS}, {', '.join(COUNT_FIELDS)})"
    f" VALUES (:episode_id, {', '.join(f':{c}' for c in (*KEY_COLUMNS, *COUNT_FIELDS))})"
)
# Statement texts built once, so SQLAlchemy compiles and caches each of them once.
_UPSERT_DELTA = text(
    f"""
    INSERT INTO daily_aggregates ({_KEYS}, {", ".join(_COUNTED)})
    VALUES ({", ".join(f":{c}" for c in (*KEY_COLUMNS, *_COUNTED))})
    ON CONFLICT ({_KEYS}) DO UPDATE SET
    {", ".join(f"{c} = daily_aggregates.{c} + EXCLUDED.{c}" for c in _COUNTED)}
    """
)
_DROP_EMPTY = text(
    "DELETE FROM daily_aggregates"
    " WHERE hospital_id = :hospital_id AND day = ANY(:days) AND episodes <= 0"
)


Deltas = dict[tuple[Any, ...], dict[str, int]]


async def replace_contributions(session: AsyncSession, shares: dict[uuid.UUID, list[Row]]) -> int:
    """Swap each episode's stored contribution for its new rows; returns how many changed.

    The difference is summed per aggregate key first, then applied in key order, so
    concurrent recomputes never deadlock and each aggregate row is touched once.
    """
    old = await _stored_rows(session, list(shares))
    changed = [i for i in shares if _ordered(old[i]) != _ordered(shares[i])]
    if not changed:
        return 0
    await _rewrite_rows(session, {i: shares[i] for i in changed})
    await _apply_deltas(session, _deltas({i: (old[i], shares[i]) for i in changed}))
    return len(changed)


async def _stored_rows(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Row]]:
    """Each episode's stored contribution rows (none for an episode never counted)."""
    old: dict[uuid.UUID, list[Row]] = {i: [] for i in ids}
    for record in (await session.execute(_OLD, {"ids": ids})).mappings():
        row = dict(record)
        old[row.pop("episode_id")].append(row)
    return old


async def _rewrite_rows(session: AsyncSession, shares: dict[uuid.UUID, list[Row]]) -> None:
    """Replace the stored rows of these episodes with their new ones."""
    await session.execute(_DELETE_OLD, {"ids": list(shares)})
    inserts = [{"episode_id": i, **row} for i, rows in shares.items() for row in rows]
    if inserts:
        await session.execute(_INSERT_NEW, inserts)


def _deltas(swaps: dict[uuid.UUID, tuple[list[Row], list[Row]]]) -> Deltas:
    """Per aggregate key, the new rows' counts minus the old rows' (and episodes ±1 a row)."""
    deltas: Deltas = {}
    for old, new in swaps.values():
        for sign, rows in ((-1, old), (1, new)):
            for row in rows:
                _add(deltas.setdefault(_key(row), dict.fromkeys(_COUNTED, 0)), row, sign)
    return deltas


def _add(total: dict[str, int], row: Row, sign: int) -> None:
    for column in COUNT_FIELDS:
        total[column] += sign * row[column]
    total["episodes"] += sign


async def _apply_deltas(session: AsyncSession, deltas: Deltas) -> None:
    """Add each summed delta to its row; drop rows that no episode counts in any more.

    The monthly rollups follow in the same transaction, after every daily row (lock order).
    """
    params = [
        {**dict(zip(KEY_COLUMNS, key, strict=True)), **deltas[key]}
        for key in sorted(deltas, key=_sort_key)
        if any(deltas[key].values())
    ]
    if params:
        await session.execute(_UPSERT_DELTA, params)
    shrunk = [p for p in params if p["episodes"] < 0]
    for hospital_id in sorted({p["hospital_id"] for p in shrunk}):
        days = sorted({p["day"] for p in shrunk if p["hospital_id"] == hospital_id})
        await session.execute(_DROP_EMPTY, {"hospital_id": hospital_id, "days": days})
    await apply_rollup_deltas(session, deltas)
