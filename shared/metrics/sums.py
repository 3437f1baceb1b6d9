"""What the metric readers share: count names, the caller's scope, mergeable sums, the WHERE."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import func
from sqlalchemy.sql.elements import ColumnElement

from shared.access.visibility import Scope
from shared.models import DailyAggregate, MonthlyCount, MonthlyLead
from shared.rules.metrics import (
    ADMISSION_COUNTS,
    COUNT_FIELDS,
    DISCHARGE_COUNTS,
    MetricTotals,
    summarize,
)

FILTER_COLUMNS: Final = (
    "hospital_id",
    "care_office_id",
    "insurer_number",
    "medical_area",
    "region",
)

SCOPE_COLUMNS: Final[dict[str, str]] = {
    "region": "region",
    "hospital": "hospital_id",
    "care_office": "care_office_id",
}
Table = type[DailyAggregate] | type[MonthlyCount] | type[MonthlyLead]


@dataclass(slots=True)
class Sums:
    """Summed counts and the coordination lead-day histogram of one group (mergeable)."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNT_FIELDS, 0))
    histogram: dict[int, int] = field(default_factory=dict)

    def add(self, other: Sums) -> None:
        for name, value in other.counts.items():
            self.counts[name] += value
        for lead, count in other.histogram.items():
            self.histogram[lead] = self.histogram.get(lead, 0) + count

    def totals(self) -> MetricTotals:
        return summarize(self.counts, self.histogram)


Groups = dict[tuple[Any, ...], Sums]


def conditions(
    table: Table, scope: Scope, filters: Mapping[str, str | None]
) -> list[ColumnElement[bool]]:
    """Scope and filters are ANDed: a filter narrows what the scope shows, never widens it."""
    conds: list[ColumnElement[bool]] = []
    if scope.kind in SCOPE_COLUMNS:
        conds.append(getattr(table, SCOPE_COLUMNS[scope.kind]) == scope.value)
    for name in FILTER_COLUMNS:
        value = filters.get(name)
        if value is not None:
            conds.append(getattr(table, name) == value)
    unknown = set(filters) - set(FILTER_COLUMNS)
    if unknown:
        raise ValueError(f"unknown filters: {sorted(unknown)}")
    return conds


def side_sums(table: type[DailyAggregate] | type[MonthlyCount]) -> list[ColumnElement[int]]:
    """Each count summed over its own side's rows only (admission counts first)."""
    sides = [(name, "admission") for name in ADMISSION_COUNTS] + [
        (name, "discharge") for name in DISCHARGE_COUNTS
    ]
    return [
        func.coalesce(func.sum(getattr(table, name)).filter(table.side == side), 0).label(name)
        for name, side in sides
    ]


def add_group(groups: Groups, key: tuple[Any, ...], sums: Sums) -> None:
    """Add `sums` to the group of `key`, with '' (no value recorded) read as None."""
    groups.setdefault(tuple(None if v == "" else v for v in key), Sums()).add(sums)
