"""The one way to compute what GET /v1/metrics shows: the JSON router and the screens both call it.

Totals stay exact (``MetricTotals`` holds fractions); the JSON body turns them into floats, the
screens into the survey's rounded percentages, each from the same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.metrics_query import Scope, Sums, grouped_sums, merged, stale_episodes
from shared.metrics_window import GROUP_COLUMNS, Granularity, Window, periods
from shared.principal import Principal
from shared.rules.metrics import MetricTotals
from shared.schemas.metrics import GroupKey, MetricFigures, MetricGroup, MetricsOut
from shared.visibility import episode_scope


def group_key(group_by: Sequence[str], values: Sequence[Any]) -> GroupKey:
    """The response's key names (hospital_id, medical_area, …) for one group's values."""
    return {GROUP_COLUMNS[name]: v for name, v in zip(group_by, values, strict=True)}


def null_last(values: Sequence[Any]) -> tuple[tuple[bool, Any], ...]:
    """Sort keys with null ('none') last in each position."""
    return tuple((v is None, "" if v is None else v) for v in values)


@dataclass(frozen=True, slots=True)
class MetricsResult:
    """One window's exact totals, its groups in response order, and the unfolded count."""

    window: Window
    stale_episodes: int
    total: MetricTotals
    groups: list[tuple[GroupKey, MetricTotals]]

    def out(self) -> MetricsOut:
        """The body of GET /v1/metrics."""
        return MetricsOut(
            from_=self.window.start,
            to=self.window.end,
            stale_episodes=self.stale_episodes,
            total=MetricFigures(**MetricFigures.fields_of(self.total)),
            groups=[
                MetricGroup(key=key, **MetricFigures.fields_of(totals))
                for key, totals in self.groups
            ],
        )


async def compute_metrics(
    session: AsyncSession,
    principal: Principal,
    scope: Scope,
    window: Window,
    *,
    group_by: Sequence[str] = (),
    filters: Mapping[str, str | None] | None = None,
) -> MetricsResult:
    """Sums over the window in the caller's scope; groups only when `group_by` names some."""
    groups = await grouped_sums(session, window, scope, filters=filters, group_by=group_by)
    ordered = sorted(groups.items(), key=lambda item: null_last(item[0])) if group_by else []
    return MetricsResult(
        window=window,
        stale_episodes=await stale_episodes(session, episode_scope(principal)),
        total=merged(groups).totals(),
        groups=[(group_key(group_by, k), s.totals()) for k, s in ordered],
    )


async def period_sums(
    session: AsyncSession,
    window: Window,
    scope: Scope,
    granularity: Granularity,
    *,
    group_by: Sequence[str] = (),
    filters: Mapping[str, str | None] | None = None,
    with_median: bool = True,
) -> list[tuple[date, tuple[Any, ...], Sums]]:
    """Every period overlapping the window for every key seen, zero sums where there is no data."""
    sums = await grouped_sums(
        session,
        window,
        scope,
        filters=filters,
        group_by=group_by,
        granularity=granularity,
        with_median=with_median,
    )
    keys = sorted({k[1:] for k in sums}, key=null_last) if group_by else [()]
    starts = list(periods(window, granularity))
    return [(start, key, sums.get((start, *key), Sums())) for key in keys for start in starts]
