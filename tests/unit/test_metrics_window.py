"""Metric windows, breakdown names and series periods: the pure half of the metrics query."""

from __future__ import annotations

from datetime import date

import pytest

from shared.metrics.query import RATE_PARTS, Sums
from shared.metrics.window import (
    Window,
    WindowError,
    parse_group_by,
    period_label,
    periods,
    resolve_window,
)
from shared.rules.metrics import ADMISSION_COUNTS, COUNT_FIELDS, DISCHARGE_COUNTS, MetricTotals

TODAY = date(2024, 7, 15)


def test_from_and_to_are_both_inclusive() -> None:
    w = resolve_window(today=TODAY, from_=date(2024, 6, 1), to=date(2024, 6, 30))
    assert w == Window(date(2024, 6, 1), date(2024, 6, 30))
    assert w.days == 30


def test_one_day_range_is_allowed() -> None:
    assert resolve_window(today=TODAY, from_=TODAY, to=TODAY).days == 1


@pytest.mark.parametrize(("name", "start"), [("30d", "2024-06-16"), ("90d", "2024-04-17")])
def test_rolling_window_ends_on_today_inclusive(name: str, start: str) -> None:
    w = resolve_window(today=TODAY, window=name)
    assert w == Window(date.fromisoformat(start), TODAY)


def test_rolling_365_days_ends_on_as_of() -> None:
    w = resolve_window(today=TODAY, window="365d", as_of=date(2024, 3, 31))
    assert w == Window(date(2023, 4, 2), date(2024, 3, 31))  # 2024 is a leap year
    assert w.days == 365


@pytest.mark.parametrize(
    ("month", "end"), [("2024-02", 29), ("2023-02", 28), ("2024-12", 31), ("2024-06", 30)]
)
def test_month_covers_the_calendar_month(month: str, end: int) -> None:
    w = resolve_window(today=TODAY, month=month)
    year, mon = map(int, month.split("-"))
    assert w == Window(date(year, mon, 1), date(year, mon, end))


def test_fiscal_year_runs_april_first_to_march_thirty_first() -> None:
    w = resolve_window(today=TODAY, fiscal_year=2023)
    assert w == Window(date(2023, 4, 1), date(2024, 3, 31))
    assert w.days == 366


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({}, "from"),
        ({"from_": date(2024, 6, 1)}, "to"),
        ({"to": date(2024, 6, 1)}, "from"),
        ({"from_": date(2024, 6, 2), "to": date(2024, 6, 1)}, "to"),
        ({"from_": date(2024, 6, 1), "to": date(2024, 6, 2), "month": "2024-06"}, "month"),
        ({"window": "30d", "fiscal_year": 2024}, "fiscal_year"),
        ({"month": "2024-06", "as_of": date(2024, 6, 1)}, "as_of"),
        ({"window": "7d"}, "window"),
        ({"month": "2024-13"}, "month"),
        ({"month": "2024-6"}, "month"),
        ({"from_": date(2014, 1, 1), "to": date(2024, 1, 2)}, "to"),
    ],
)
def test_bad_window_names_the_parameter_to_fix(kwargs: dict[str, object], param: str) -> None:
    with pytest.raises(WindowError) as caught:
        resolve_window(today=TODAY, **kwargs)  # type: ignore[arg-type]
    assert caught.value.param == param
    assert caught.value.msg


def test_ten_years_is_the_longest_range() -> None:
    w = resolve_window(today=TODAY, from_=date(2014, 1, 1), to=date(2023, 12, 31))
    assert w.days == 3652


def test_group_by_keeps_order_and_drops_blanks_and_repeats() -> None:
    assert parse_group_by("ward_type, hospital,,ward_type") == ("ward_type", "hospital")
    assert parse_group_by(None) == ()
    assert parse_group_by("") == ()


def test_unknown_group_by_is_refused_naming_the_choices() -> None:
    with pytest.raises(WindowError) as caught:
        parse_group_by("hospital,patient")
    assert caught.value.param == "group_by"
    assert "'patient'" in caught.value.msg
    assert "care_level_band" in caught.value.msg


def test_month_periods_are_labelled_year_month() -> None:
    w = Window(date(2024, 11, 15), date(2025, 2, 3))
    labels = [period_label(p, "month") for p in periods(w, "month")]
    assert labels == ["2024-11", "2024-12", "2025-01", "2025-02"]


def test_week_periods_are_iso_weeks_across_the_year_end() -> None:
    w = Window(date(2024, 12, 25), date(2025, 1, 8))
    starts = list(periods(w, "week"))
    assert starts == [date(2024, 12, 23), date(2024, 12, 30), date(2025, 1, 6)]
    assert [period_label(p, "week") for p in starts] == ["2024-W52", "2025-W01", "2025-W02"]


def test_day_periods_are_iso_dates() -> None:
    w = Window(date(2024, 2, 28), date(2024, 3, 1))
    assert [period_label(p, "day") for p in periods(w, "day")] == [
        "2024-02-28",
        "2024-02-29",
        "2024-03-01",
    ]


def test_every_count_belongs_to_exactly_one_side() -> None:
    assert sorted(ADMISSION_COUNTS + DISCHARGE_COUNTS) == sorted(COUNT_FIELDS)


def test_rate_parts_divide_to_the_rates_summarize_computes() -> None:
    sums = Sums(dict(zip(COUNT_FIELDS, (7, 5, 3, 11, 9, 2, 4), strict=True)), {})
    totals = sums.totals()
    assert set(RATE_PARTS) == {
        name for name in MetricTotals.__dataclass_fields__ if name.endswith("_rate")
    }
    for rate, (numerator, denominator) in RATE_PARTS.items():
        assert getattr(totals, rate) * sums.counts[denominator] == sums.counts[numerator]


def test_merged_sums_keep_the_median_exact() -> None:
    a = Sums(histogram={2: 1, 5: 1})
    a.add(Sums(histogram={5: 1, 9: 1}))
    assert a.histogram == {2: 1, 5: 2, 9: 1}
    assert a.totals().median_coordination_lead_days == 5.0
