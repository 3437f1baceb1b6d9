"""Keeping the monthly rollups equal to ``daily_aggregates`` projected to their keys.

The daily deltas of one recompute are summed per rollup key and applied in key order, after
the daily ones, so concurrent recomputes take row locks in one global order and never deadlock.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models.aggregates import KEY_COLUMNS
from shared.models.rollups import MONTHLY_COUNT_KEYS, MONTHLY_LEAD_KEYS
from shared.rules.metrics import COUNT_FIELDS

Deltas = dict[tuple[Any, ...], dict[str, int]]
_COUNTED = (*COUNT_FIELDS, "episodes")
_MONTH = "date_trunc('month', day::timestamp)::date"


def _upsert(table: str, keys: tuple[str, ...], counted: tuple[str, ...]) -> TextClause:
    columns = (*keys, *counted)
    return text(
        f"INSERT INTO {table} ({', '.join(columns)})"
        f" VALUES ({', '.join(f':{c}' for c in columns)})"
        f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET"
        f" {', '.join(f'{c} = {table}.{c} + EXCLUDED.{c}' for c in counted)}"
    )


def _drop_empty(table: str, counted: str) -> TextClause:
    return text(
        f"DELETE FROM {table} WHERE (hospital_id, month) IN"
        " (SELECT * FROM unnest(CAST(:hospitals AS varchar[]), CAST(:months AS date[])))"
        f" AND {counted} <= 0"
    )


_UPSERT_COUNTS = _upsert("monthly_counts", MONTHLY_COUNT_KEYS, _COUNTED)
_UPSERT_LEADS = _upsert("monthly_leads", MONTHLY_LEAD_KEYS, ("coordinated",))
_DROP_EMPTY_COUNTS = _drop_empty("monthly_counts", "episodes")
_DROP_EMPTY_LEADS = _drop_empty("monthly_leads", "coordinated")

# Both rollups summed from daily_aggregates (the full rebuild and the migration's backfill).
REBUILD_ROLLUPS = (
    text(
        f"INSERT INTO monthly_counts ({', '.join((*MONTHLY_COUNT_KEYS, *_COUNTED))})"
        f" SELECT {_MONTH}, side, hospital_id, medical_area, region,"
        f" {', '.join(f'sum({c})' for c in _COUNTED)}"
        " FROM daily_aggregates GROUP BY 1, 2, 3, 4, 5"
    ),
    text(
        f"INSERT INTO monthly_leads ({', '.join(MONTHLY_LEAD_KEYS)}, coordinated)"
        f" SELECT {_MONTH}, hospital_id, medical_area, region, lead_days,"
        " sum(coordinated_discharges) FROM daily_aggregates"
        " WHERE side = 'discharge' AND lead_days >= 0"
        " GROUP BY 1, 2, 3, 4, 5 HAVING sum(coordinated_discharges) > 0"
    ),
)


def rollup_deltas(deltas: Deltas) -> tuple[Deltas, Deltas]:
    """Daily deltas summed per monthly_counts key and per monthly_leads key."""
    counts: Deltas = {}
    leads: Deltas = {}
    for key, delta in deltas.items():
        row = dict(zip(KEY_COLUMNS, key, strict=True))
        month: date = row["day"].replace(day=1)
        place = (row["hospital_id"], row["medical_area"], row["region"])
        total = counts.setdefault((month, row["side"], *place), dict.fromkeys(_COUNTED, 0))
        for column in _COUNTED:
            total[column] += delta[column]
        if row["side"] == "discharge" and row["lead_days"] >= 0:
            lead = leads.setdefault((month, *place, row["lead_days"]), {"coordinated": 0})
            lead["coordinated"] += delta["coordinated_discharges"]
    return counts, leads


async def apply_rollup_deltas(session: AsyncSession, deltas: Deltas) -> None:
    """Add the daily deltas to both rollups; drop rows no episode counts in any more."""
    counts, leads = rollup_deltas(deltas)
    for table_deltas, keys, upsert, drop, counted in (
        (counts, MONTHLY_COUNT_KEYS, _UPSERT_COUNTS, _DROP_EMPTY_COUNTS, "episodes"),
        (leads, MONTHLY_LEAD_KEYS, _UPSERT_LEADS, _DROP_EMPTY_LEADS, "coordinated"),
    ):
        params = [
            {**dict(zip(keys, key, strict=True)), **table_deltas[key]}
            for key in sorted(table_deltas)
            if any(table_deltas[key].values())
        ]
        if params:
            await session.execute(upsert, params)
        shrunk = sorted({(p["hospital_id"], p["month"]) for p in params if p[counted] < 0})
        if shrunk:
            hospitals, months = zip(*shrunk, strict=True)
            await session.execute(drop, {"hospitals": list(hospitals), "months": list(months)})
