"""Metric contributions per episode and the survey totals (入院引継ぎ割合, 退院調整漏れ割合)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from shared.rules.metrics import (
    COUNT_FIELDS,
    MetricContribution,
    contributions,
    median_from_histogram,
    round_half_up_pct,
    summarize,
)
from shared.rules.rule_set import RuleSet

from .builders import OFFICE, OFFICE_2, Stream


def sum_contributions(
    items: Iterable[MetricContribution],
) -> tuple[dict[str, int], dict[int, int]]:
    """Add contributions up as the daily aggregates' SQL does: counts and a lead-day histogram."""
    counts = dict.fromkeys(COUNT_FIELDS, 0)
    histogram: Counter[int] = Counter()
    for item in items:
        for name, value in item.counts().items():
            counts[name] += value
        if item.lead_days is not None:
            histogram[item.lead_days] += 1
    return counts, dict(histogram)


def test_contributions_of_a_fully_handed_over_episode() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00", care_level="care_3", ward_type="recovery_rehab")
    s.info("2024-06-05T10:00")
    s.assign("2024-06-12T10:00", office=OFFICE_2)
    s.coordination("2024-06-12T15:00", to=OFFICE_2)
    s.discharge("2024-06-20T11:00")
    admission_side, discharge_side = contributions(s.fold())
    assert admission_side == MetricContribution(
        side="admission",
        day=date(2024, 6, 3),
        hospital_id="4610000001",
        care_office_id=OFFICE,
        insurer_number="462010",
        ward_type="recovery_rehab",
        care_level_band="care",
        admissions_with_care_manager=1,
        admission_info_provided=1,
        admission_info_on_time=1,
    )
    assert discharge_side == MetricContribution(
        side="discharge",
        day=date(2024, 6, 20),
        hospital_id="4610000001",
        care_office_id=OFFICE_2,
        insurer_number="462010",
        ward_type="recovery_rehab",
        care_level_band="care",
        eligible_discharges=1,
        coordinated_discharges=1,
        missed_discharges=0,
        coordination_on_time=1,
        lead_days=8,
    )


def test_contributions_of_a_missed_discharge() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00", care_level="support_2")
    s.info("2024-06-14T10:00")  # late
    s.discharge("2024-06-30T23:30")
    admission_side, discharge_side = contributions(s.fold())
    assert (admission_side.admission_info_provided, admission_side.admission_info_on_time) == (1, 0)
    assert admission_side.care_level_band == "support"
    assert discharge_side.day == date(2024, 6, 30)
    assert discharge_side.counts() == {
        **dict.fromkeys(COUNT_FIELDS, 0),
        "eligible_discharges": 1,
        "missed_discharges": 1,
    }
    assert discharge_side.lead_days is None


def test_excluded_discharge_contributes_zero_counts_but_admission_still_counts() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00")
    s.exclusion("2024-06-03T11:00", reason="short_test_stay")
    s.coordination("2024-06-04T10:00")
    s.discharge("2024-06-06T10:00")
    admission_side, discharge_side = contributions(s.fold())
    assert admission_side.admissions_with_care_manager == 1
    assert sum(discharge_side.counts().values()) == 0
    assert discharge_side.lead_days is None


def test_no_admission_means_no_contributions() -> None:
    s = Stream()
    s.info("2024-06-03T10:00")
    s.discharge("2024-06-20T10:00")
    assert contributions(s.fold()) == []


def test_in_hospital_episode_contributes_the_admission_side_only() -> None:
    s = Stream()
    s.admission("2024-06-30T23:59")
    [admission_side] = contributions(s.fold())
    assert admission_side.side == "admission"
    assert admission_side.day == date(2024, 6, 30)
    assert admission_side.admission_info_provided == 0


def test_discharge_side_is_dated_by_the_tokyo_discharge_date() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00")
    s.discharge("2024-06-30T15:10:00+00:00")  # 2024-07-01 00:10 in Tokyo
    assert contributions(s.fold())[1].day == date(2024, 7, 1)


@pytest.mark.parametrize(
    ("care_level", "band"),
    [
        ("support_1", "support"),
        ("support_2", "support"),
        ("care_1", "care"),
        ("care_5", "care"),
        ("applying", "other"),
        ("none", "other"),
        ("unknown", "other"),
    ],
)
def test_care_level_band_breakdown_key(care_level: str, band: str) -> None:
    s = Stream()
    s.admission(care_level=care_level)
    assert contributions(s.fold())[0].care_level_band == band


def test_office_at_admission_and_at_discharge_are_the_breakdown_keys() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00", care_office_id=None)
    s.assign("2024-06-02T10:00", office=OFFICE)
    s.assign("2024-06-10T10:00", office=OFFICE_2)
    s.discharge("2024-06-20T10:00")
    admission_side, discharge_side = contributions(s.fold())
    assert admission_side.care_office_id == OFFICE
    assert discharge_side.care_office_id == OFFICE_2


def test_short_stay_by_rule_set_in_force_is_zero_on_the_discharge_side() -> None:
    rs = RuleSet(effective_from=date(2024, 1, 1), short_stay_max_days=3)
    s = Stream()
    s.admission("2024-06-03T10:00")
    s.discharge("2024-06-06T10:00")
    assert contributions(s.fold(rule_sets=[rs]))[1].eligible_discharges == 0


def test_summarize_gives_exact_rates_and_counts() -> None:
    totals = summarize(
        {
            "admissions_with_care_manager": 412,
            "admission_info_provided": 391,
            "admission_info_on_time": 377,
            "eligible_discharges": 350,
            "coordinated_discharges": 334,
            "missed_discharges": 16,
            "coordination_on_time": 280,
        },
        {3: 1, 6: 2, 10: 1},
    )
    assert totals.admissions_with_care_manager == 412
    assert totals.admission_handover_rate == Fraction(391, 412)
    assert totals.admission_handover_on_time_rate == Fraction(377, 412)
    assert totals.discharge_miss_rate == Fraction(16, 350)
    assert totals.discharge_coordination_rate == Fraction(334, 350)
    assert totals.coordination_on_time_rate == Fraction(280, 350)
    assert totals.median_coordination_lead_days == 6.0


def test_summarize_with_zero_denominators_gives_null_rates() -> None:
    totals = summarize({}, {})
    assert totals.eligible_discharges == 0
    assert totals.missed_discharges == 0
    assert totals.admission_handover_rate is None
    assert totals.admission_handover_on_time_rate is None
    assert totals.discharge_miss_rate is None
    assert totals.discharge_coordination_rate is None
    assert totals.coordination_on_time_rate is None
    assert totals.median_coordination_lead_days is None


def test_summarize_refuses_unknown_or_negative_counts() -> None:
    with pytest.raises(ValueError, match="unknown"):
        summarize({"missed": 1}, {})
    with pytest.raises(ValueError, match="negative"):
        summarize({"eligible_discharges": -1}, {})


@pytest.mark.parametrize(
    ("histogram", "median"),
    [
        ({}, None),
        ({4: 0}, None),
        ({5: 1}, 5.0),
        ({1: 1, 2: 1}, 1.5),
        ({0: 2, 10: 1}, 0.0),
        ({0: 1, 7: 1, 9: 2}, 8.0),
        ({9: 2, 0: 1, 7: 1}, 8.0),
        ({2: 3, 8: 3}, 5.0),
        ({1: 1, 3: 1, 100: 1}, 3.0),
    ],
)
def test_median_from_histogram_is_the_usual_median(
    histogram: dict[int, int], median: float | None
) -> None:
    assert median_from_histogram(histogram) == median


def test_sum_of_contributions_feeds_summarize() -> None:
    items = []
    for lead, discharge_day in [(8, "2024-06-20T10:00"), (2, "2024-06-21T10:00")]:
        s = Stream(f"E-{lead}")
        s.admission("2024-06-03T10:00")
        s.coordination(f"2024-06-{20 - lead:02d}T09:00")
        s.discharge(discharge_day)
        items.extend(contributions(s.fold()))
    missed = Stream("E-missed")
    missed.admission("2024-06-03T10:00", care_office_id=None, care_level="care_1")
    missed.discharge("2024-06-22T10:00")
    items.extend(contributions(missed.fold()))
    counts, histogram = sum_contributions(items)
    assert histogram == {8: 1, 3: 1}
    totals = summarize(counts, histogram)
    assert (totals.eligible_discharges, totals.coordinated_discharges) == (3, 2)
    assert totals.missed_discharges == 1
    assert totals.coordination_on_time == 1
    assert totals.admissions_with_care_manager == 2
    assert totals.discharge_miss_rate == Fraction(1, 3)
    assert totals.median_coordination_lead_days == 5.5


@pytest.mark.parametrize(
    ("fraction", "pct"),
    [
        (Fraction(41, 882), Decimal("4.6")),
        (Fraction(1, 2), Decimal("50.0")),
        (Fraction(1, 2000), Decimal("0.1")),
        (Fraction(1, 2001), Decimal("0.0")),
        (Fraction(1, 3), Decimal("33.3")),
        (Fraction(2, 3), Decimal("66.7")),
        (Fraction(0), Decimal("0.0")),
        (Fraction(1), Decimal("100.0")),
        (Fraction(949, 1000), Decimal("94.9")),
        (Fraction(9485, 10000), Decimal("94.9")),
        (Fraction(18971, 20000), Decimal("94.9")),
        (Fraction(572, 1000), Decimal("57.2")),
        (Fraction(-1, 2000), Decimal("-0.1")),
    ],
)
def test_round_half_up_pct(fraction: Fraction, pct: Decimal) -> None:
    result = round_half_up_pct(fraction)
    assert result == pct
    assert str(result) == str(pct)
