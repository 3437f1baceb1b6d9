"""Metric sums per group: the caller's scope, filters, grouped sums and exact medians.

Full calendar months are read from the monthly rollups whenever those hold every column a
query needs; the days at the window's edges, and every other query, from ``daily_aggregates``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Final

from sqlalchemy import Date, DateTime, cast, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from shared.access.visibility import Scope as Scope
from shared.metrics.rollup_reads import edge_windows, rollup_months, rollup_sums
from shared.metrics.sums import Groups, add_group, conditions, side_sums
from shared.metrics.sums import Sums as Sums
from shared.metrics.window import GROUP_COLUMNS, Granularity, Window
from shared.models import DailyAggregate, Episode
from shared.rules.metrics import ADMISSION_COUNTS, COUNT_FIELDS, DISCHARGE_COUNTS

# Each rate of MetricTotals and the counts it divides, so a series can show its arithmetic.
RATE_PARTS: Final[dict[str, tuple[str, str]]] = {
    "admission_handover_rate": ("admission_info_provided", "admissions_with_care_manager"),
    "admission_handover_on_time_rate": ("admission_info_on_time", "admissions_with_care_manager"),
    "discharge_miss_rate": ("missed_discharges", "eligible_discharges"),
    "discharge_coordination_rate": ("coordinated_discharges", "eligible_discharges"),
    "coordination_on_time_rate": ("coordination_on_time", "eligible_discharges"),
}
MEDIAN: Final = "median_coordination_lead_days"
SERIES_METRICS: Final[tuple[str, ...]] = (*COUNT_FIELDS, *RATE_PARTS, MEDIAN)


def _period_column(granularity: Granularity) -> ColumnElement[date]:
    day: ColumnElement[date] = DailyAggregate.day.expression
    if granularity == "day":
        return day
    # A literal unit (not a bind) so GROUP BY sees the same expression as the select list.
    unit: ColumnElement[str] = literal_column(f"'{granularity}'")
    return cast(func.date_trunc(unit, cast(day, DateTime())), Date())


async def grouped_sums(
    session: AsyncSession,
    window: Window,
    scope: Scope,
    *,
    filters: Mapping[str, str | None] | None = None,
    group_by: Sequence[str] = (),
    granularity: Granularity | None = None,
    with_median: bool = True,
) -> Groups:
    """Sums per key = (period start?, *group columns), '' → None; exactly what `daily_sums` gives.

    Full months come from the rollups when they can answer, the edge days from daily_aggregates;
    sums and histograms add, so counts and medians are the same either way.
    """
    filters = filters or {}

    async def daily(days: Window) -> Groups:
        return await daily_sums(
            session,
            days,
            scope,
            filters=filters,
            group_by=group_by,
            granularity=granularity,
            with_median=with_median,
        )

    months = rollup_months(window, scope, filters, group_by, granularity)
    if months is None:
        return await daily(window)
    result = await rollup_sums(
        session,
        months,
        scope,
        filters=filters,
        group_by=group_by,
        granularity=granularity,
        with_median=with_median,
    )
    for edge in edge_windows(window, months):
        for key, sums in (await daily(edge)).items():
            add_group(result, key, sums)
    return result


async def daily_sums(
    session: AsyncSession,
    window: Window,
    scope: Scope,
    *,
    filters: Mapping[str, str | None] | None = None,
    group_by: Sequence[str] = (),
    granularity: Granularity | None = None,
    with_median: bool = True,
) -> Groups:
    """One GROUP BY of daily_aggregates over the day range (any breakdown, scope or filter).

    The median needs the lead-day histogram, i.e. one more GROUP BY column; without it
    (``with_median=False``) the histograms stay empty and fewer rows come back.
    """
    da = DailyAggregate
    keys: list[ColumnElement[Any]] = []
    if granularity is not None:
        keys.append(_period_column(granularity).label("period"))
    keys.extend(getattr(da, GROUP_COLUMNS[name]) for name in group_by)
    # The lead column comes last among the keys, so each row is (*key, lead?, *counts).
    leads = [da.lead_days.expression] if with_median else []
    stmt = (
        select(*keys, *leads, *side_sums(da))
        .where(da.day >= window.start, da.day <= window.end, *conditions(da, scope, filters or {}))
        .group_by(*keys, *leads)
    )
    result: Groups = {}
    width = len(keys)
    names = ADMISSION_COUNTS + DISCHARGE_COUNTS
    for row in await session.execute(stmt):
        counts = {n: int(v) for n, v in zip(names, row[width + len(leads) :], strict=True)}
        histogram: dict[int, int] = {}
        coordinated = counts["coordinated_discharges"]
        if leads and row[width] >= 0 and coordinated > 0:
            histogram[int(row[width])] = coordinated
        add_group(result, tuple(row[:width]), Sums(counts, histogram))
    return result


def merged(groups: Mapping[tuple[Any, ...], Sums]) -> Sums:
    """The total over groups: counts and histograms add, so the median stays exact."""
    total = Sums()
    for sums in groups.values():
        total.add(sums)
    return total


async def stale_episodes(session: AsyncSession, visible: ColumnElement[bool]) -> int:
    """Episodes matching `visible` (any date) stored but not yet folded into daily_aggregates."""
    stmt = (
        select(func.count()).select_from(Episode).where(Episode.dirty_since.is_not(None), visible)
    )
    return int(await session.scalar(stmt) or 0)
