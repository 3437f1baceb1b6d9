"""The one way to compute what GET /v1/metrics shows: the JSON router and the screens both call it.

Totals stay exact (``MetricTotals`` holds fractions); the JSON body turns them into floats, the
screens into the survey's rounded percentages, each from the same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.access.principal import Principal
from shared.access.visibility import episode_scope
from shared.metrics.query import Scope, Sums, grouped_sums, merged, stale_episodes
from shared.metrics.schemas import GroupKey, MetricFigures, MetricGroup, MetricsOut
from shared.metrics.window import GROUP_COLUMNS, Granularity, Window, periods
from shared.organizations.service import organization_names
from shared.rules.metrics import MetricTotals


def group_key(group_by: Sequence[str], values: Sequence[Any]) -> GroupKey:
    """The response's key names (hospital_id, medical_area, …) for one group's values."""
    return {GROUP_COLUMNS[name]: v for name, v in zip(group_by, values, strict=True)}


NAMED_KEYS: dict[str, str] = {"hospital_id": "hospital_name", "care_office_id": "care_office_name"}


async def names_beside(
    session: AsyncSession, keys: Sequence[GroupKey]
) -> list[dict[str, str | None]]:
    """Each key's hospital_name / care_office_name (only for the ids it has), in one lookup."""
    names = await organization_names(
        session, [key.get(column) for key in keys for column in NAMED_KEYS]
    )
    return [
        {
            name: None if key[column] is None else names.get(str(key[column]))
            for column, name in NAMED_KEYS.items()
            if column in key
        }
        for key in keys
    ]


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
    # hospital_name / care_office_name of each group, in the order of `groups`
    group_names: list[dict[str, str | None]] = field(default_factory=list)

    def _names(self) -> list[dict[str, str | None]]:
        return self.group_names or [{} for _ in self.groups]

    def out(self) -> MetricsOut:
        """The body of GET /v1/metrics."""
        return MetricsOut(
            from_=self.window.start,
            to=self.window.end,
            stale_episodes=self.stale_episodes,
            total=MetricFigures(**MetricFigures.fields_of(self.total)),
            groups=[
                MetricGroup(key=key, **names, **MetricFigures.fields_of(totals))
                for (key, totals), names in zip(self.groups, self._names(), strict=True)
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
    keys = [group_key(group_by, k) for k, _ in ordered]
    return MetricsResult(
        window=window,
        stale_episodes=await stale_episodes(session, episode_scope(principal)),
        total=merged(groups).totals(),
        groups=[(key, s.totals()) for key, (_, s) in zip(keys, ordered, strict=True)],
        group_names=await names_beside(session, keys),
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
