"""Metric sums from ``daily_aggregates`` only: caller scope, filters, grouped sums and medians."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final, Literal

from sqlalchemy import Date, DateTime, cast, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from shared.metrics_window import GROUP_COLUMNS, Granularity, Window
from shared.models import DailyAggregate, Episode, Organization
from shared.models.aggregates import COUNT_COLUMNS
from shared.principal import Principal
from shared.rules.metrics import MetricTotals, summarize

ADMISSION_COUNTS: Final = (
    "admissions_with_care_manager",
    "admission_info_provided",
    "admission_info_on_time",
)
DISCHARGE_COUNTS: Final = (
    "eligible_discharges",
    "coordinated_discharges",
    "missed_discharges",
    "coordination_on_time",
)

# Each rate of MetricTotals and the counts it divides, so a series can show its arithmetic.
RATE_PARTS: Final[dict[str, tuple[str, str]]] = {
    "admission_handover_rate": ("admission_info_provided", "admissions_with_care_manager"),
    "admission_handover_on_time_rate": ("admission_info_on_time", "admissions_with_care_manager"),
    "discharge_miss_rate": ("missed_discharges", "eligible_discharges"),
    "discharge_coordination_rate": ("coordinated_discharges", "eligible_discharges"),
    "coordination_on_time_rate": ("coordination_on_time", "eligible_discharges"),
}
MEDIAN: Final = "median_coordination_lead_days"
SERIES_METRICS: Final[tuple[str, ...]] = (*COUNT_COLUMNS, *RATE_PARTS, MEDIAN)
FILTER_COLUMNS: Final = (
    "hospital_id",
    "care_office_id",
    "insurer_number",
    "medical_area",
    "region",
)

ScopeKind = Literal["all", "region", "hospital", "care_office"]


class ScopeUnavailable(Exception):
    """The key's organization is gone, so nothing can be shown for it."""


@dataclass(frozen=True, slots=True)
class Scope:
    """What a caller may see: everything, one region, one hospital or one care office's rows."""

    kind: ScopeKind
    value: str | None = None


@dataclass(slots=True)
class Sums:
    """Summed counts and the coordination lead-day histogram of one group (mergeable)."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNT_COLUMNS, 0))
    histogram: dict[int, int] = field(default_factory=dict)

    def add(self, other: Sums) -> None:
        for name, value in other.counts.items():
            self.counts[name] += value
        for lead, count in other.histogram.items():
            self.histogram[lead] = self.histogram.get(lead, 0) + count

    def totals(self) -> MetricTotals:
        return summarize(self.counts, self.histogram)


async def scope_for(session: AsyncSession, principal: Principal) -> Scope:
    """Admin: all; viewer: its organization's region; hospital or care office: its own rows."""
    if principal.is_admin:
        return Scope("all")
    if principal.organization_id is None:
        raise ScopeUnavailable
    if principal.role == "viewer":
        region = await session.scalar(
            select(Organization.region).where(Organization.id == principal.organization_id)
        )
        if region is None:
            raise ScopeUnavailable
        return Scope("region", region)
    if principal.role == "hospital":
        return Scope("hospital", principal.organization_id)
    return Scope("care_office", principal.organization_id)


def _conditions(scope: Scope, filters: Mapping[str, str | None]) -> list[ColumnElement[bool]]:
    """Scope and filters are ANDed: a filter narrows what the scope shows, never widens it."""
    da = DailyAggregate
    conds: list[ColumnElement[bool]] = []
    if scope.kind == "region":
        conds.append(da.region == scope.value)
    elif scope.kind == "hospital":
        conds.append(da.hospital_id == scope.value)
    elif scope.kind == "care_office":
        conds.append(da.care_office_id == scope.value)
    for name in FILTER_COLUMNS:
        value = filters.get(name)
        if value is not None:
            conds.append(getattr(da, name) == value)
    unknown = set(filters) - set(FILTER_COLUMNS)
    if unknown:
        raise ValueError(f"unknown filters: {sorted(unknown)}")
    return conds


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
) -> dict[tuple[Any, ...], Sums]:
    """One GROUP BY over the day range: key = (period start?, *group columns) with '' → None.

    The median needs the lead-day histogram, i.e. one more GROUP BY column; without it
    (``with_median=False``) the histograms stay empty and fewer rows come back.
    """
    da = DailyAggregate
    keys: list[ColumnElement[Any]] = []
    if granularity is not None:
        keys.append(_period_column(granularity).label("period"))
    keys.extend(getattr(da, GROUP_COLUMNS[name]) for name in group_by)
    sides = [(name, "admission") for name in ADMISSION_COUNTS] + [
        (name, "discharge") for name in DISCHARGE_COUNTS
    ]
    sums = [
        func.coalesce(func.sum(getattr(da, name)).filter(da.side == side), 0).label(name)
        for name, side in sides
    ]
    # The lead column comes last among the keys, so each row is (*key, lead?, *counts).
    leads = [da.lead_days.expression] if with_median else []
    stmt = (
        select(*keys, *leads, *sums)
        .where(da.day >= window.start, da.day <= window.end, *_conditions(scope, filters or {}))
        .group_by(*keys, *leads)
    )
    result: dict[tuple[Any, ...], Sums] = {}
    width = len(keys)
    names = ADMISSION_COUNTS + DISCHARGE_COUNTS
    for row in await session.execute(stmt):
        key = tuple(None if v == "" else v for v in row[:width])
        counts = {n: int(v) for n, v in zip(names, row[width + len(leads) :], strict=True)}
        histogram: dict[int, int] = {}
        coordinated = counts["coordinated_discharges"]
        if leads and row[width] >= 0 and coordinated > 0:
            histogram[int(row[width])] = coordinated
        result.setdefault(key, Sums()).add(Sums(counts, histogram))
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
