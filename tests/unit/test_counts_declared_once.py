"""The seven counts are declared once (shared.rules.metrics); every table and answer follows it."""

from __future__ import annotations

import pytest

from shared.metrics.schemas import MetricFigures
from shared.models import DailyAggregate, EpisodeContribution, MonthlyCount
from shared.rules.metrics import ADMISSION_COUNTS, COUNT_FIELDS, DISCHARGE_COUNTS


def test_the_sides_partition_the_seven_counts() -> None:
    assert len(COUNT_FIELDS) == 7
    assert set(ADMISSION_COUNTS).isdisjoint(DISCHARGE_COUNTS)
    assert set(ADMISSION_COUNTS) | set(DISCHARGE_COUNTS) == set(COUNT_FIELDS)


@pytest.mark.parametrize("table", [DailyAggregate, EpisodeContribution, MonthlyCount])
def test_every_aggregate_table_has_a_column_per_count(table: type) -> None:
    assert set(COUNT_FIELDS) <= set(table.__table__.columns.keys())  # type: ignore[attr-defined]


def test_the_metrics_answer_names_every_count() -> None:
    assert set(COUNT_FIELDS) <= set(MetricFigures.model_fields)
