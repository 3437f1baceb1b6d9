"""Full calendar months of a metrics query read from the monthly rollups, when they can answer.

``monthly_counts`` and ``monthly_leads`` keep only month, side, hospital, medical area and
region (and the lead days), so they answer a query exactly when it breaks down, filters and
scopes by those alone, per month or over the whole window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from shared.access.visibility import Scope
from shared.metrics.sums import (
    Groups,
    Sums,
    add_group,
    conditions,
    side_sums,
)
from shared.metrics.window import GROUP_COLUMNS, Granularity, Window, month_window
from shared.models import MonthlyCount, MonthlyLead
from shared.rules.metrics import ADMISSION_COUNTS, DISCHARGE_COUNTS

# Columns both rollups keep (besides month, side and lead days).
ROLLUP_COLUMNS: Final = frozenset({"hospital_id", "medical_area", "region"})
ROLLUP_SCOPES: Final = frozenset({"all", "region", "hospital"})
_DAY: Final = timedelta(days=1)


def rollup_months(
    window: Window,
    scope: Scope,
    filters: Mapping[str, str | None],
    group_by: Sequence[str],
    granularity: Granularity | None,
) -> Window | None:
    """The full calendar months inside `window`, if the rollups can answer the query exactly.

    None when the query needs a column, scope or period the rollups lack, or has no full month.
    """
    if granularity not in (None, "month") or scope.kind not in ROLLUP_SCOPES:
        return None
    if any(GROUP_COLUMNS.get(name) not in ROLLUP_COLUMNS for name in group_by):
        return None
    if any(value is not None and name not in ROLLUP_COLUMNS for name, value in filters.items()):
        return None
    start, end = window.start, window.end
    first = start if start.day == 1 else month_window(start.year, start.month).end + _DAY
    last = end if (end + _DAY).day == 1 else end.replace(day=1) - _DAY
    return Window(first, last) if first <= last else None


def edge_windows(window: Window, months: Window) -> list[Window]:
    """The days of `window` before and after its full months (none, one or two windows)."""
    edges = []
    if window.start < months.start:
        edges.append(Window(window.start, months.start - _DAY))
    if months.end < window.end:
        edges.append(Window(months.end + _DAY, window.end))
    return edges


def _keys(
    table: type[MonthlyCount] | type[MonthlyLead],
    group_by: Sequence[str],
    granularity: Granularity | None,
) -> list[ColumnElement[Any]]:
    keys: list[ColumnElement[Any]] = [table.month.label("period")] if granularity else []
    keys.extend(getattr(table, GROUP_COLUMNS[name]) for name in group_by)
    return keys


async def rollup_sums(
    session: AsyncSession,
    months: Window,
    scope: Scope,
    *,
    filters: Mapping[str, str | None],
    group_by: Sequence[str],
    granularity: Granularity | None,
    with_median: bool,
) -> Groups:
    """Sums per key over whole months (as ``daily_sums`` gives them): counts, then histograms."""
    mc, ml = MonthlyCount, MonthlyLead
    keys = _keys(mc, group_by, granularity)
    counts = (
        select(*keys, *side_sums(mc))
        .where(mc.month >= months.start, mc.month <= months.end, *conditions(mc, scope, filters))
        .group_by(*keys)
    )
    if with_median:  # as in daily_sums, where the lead column groups even a keyless query
        counts = counts.having(func.count() > 0)  # no rows, no group
    result: Groups = {}
    width = len(keys)
    names = ADMISSION_COUNTS + DISCHARGE_COUNTS
    for row in await session.execute(counts):
        sums = {n: int(v) for n, v in zip(names, row[width:], strict=True)}
        add_group(result, tuple(row[:width]), Sums(sums))
    if not with_median:
        return result
    keys = _keys(ml, group_by, granularity)
    leads = (
        select(*keys, ml.lead_days, func.sum(ml.coordinated))
        .where(ml.month >= months.start, ml.month <= months.end, *conditions(ml, scope, filters))
        .group_by(*keys, ml.lead_days)
    )
    for row in await session.execute(leads):
        lead, coordinated = int(row[width]), int(row[width + 1])
        if lead >= 0 and coordinated > 0:
            add_group(result, tuple(row[:width]), Sums(histogram={lead: coordinated}))
    return result
