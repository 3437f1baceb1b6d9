"""Business days (営業日) and the 入院時情報提供 deadline across weekends and holidays."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from shared.rules.calendar import (
    add_business_days,
    admission_info_deadline,
    is_business_day,
    local_date,
)
from shared.rules.rule_set import DEFAULT_RULE_SET, RuleSet
from shared.rules.zone import TOKYO

from .builders import at

BUSINESS_7 = RuleSet(effective_from=date(2000, 1, 1), deadline_calendar="business")
SAME_DAY = RuleSet(effective_from=date(2000, 1, 1), admission_info_deadline_days=0)


def test_local_date_is_the_tokyo_date_whatever_the_offset() -> None:
    assert local_date(at("2024-06-02T15:30:00+00:00")) == date(2024, 6, 3)
    assert local_date(at("2024-06-03T00:10:00-05:00")) == date(2024, 6, 3)
    assert local_date(at("2024-06-03T23:59")) == date(2024, 6, 3)


def test_local_date_refuses_a_naive_timestamp() -> None:
    with pytest.raises(ValueError, match="offset"):
        local_date(datetime(2024, 6, 3, 10, 0))


@pytest.mark.parametrize(
    ("day", "business"),
    [
        (date(2024, 6, 3), True),  # Monday
        (date(2024, 6, 1), False),  # Saturday
        (date(2024, 6, 2), False),  # Sunday
        (date(2024, 4, 29), False),  # 昭和の日
        (date(2024, 5, 3), False),  # 憲法記念日
        (date(2024, 5, 6), False),  # 振替休日
        (date(2024, 4, 30), True),
        (date(2024, 12, 27), True),
        (date(2024, 12, 29), False),
        (date(2024, 12, 30), False),  # Monday in 年末年始
        (date(2024, 12, 31), False),
        (date(2025, 1, 2), False),
        (date(2025, 1, 3), False),  # Friday in 年末年始
        (date(2025, 1, 6), True),
        (date(2024, 1, 4), True),
    ],
)
def test_is_business_day(day: date, business: bool) -> None:
    assert is_business_day(day) is business


def test_zero_business_days_is_the_day_itself_even_on_a_holiday() -> None:
    assert add_business_days(date(2024, 5, 3), 0) == date(2024, 5, 3)


def test_business_days_skip_golden_week() -> None:
    assert add_business_days(date(2024, 4, 26), 1) == date(2024, 4, 30)
    assert add_business_days(date(2024, 4, 26), 4) == date(2024, 5, 7)
    assert add_business_days(date(2024, 4, 26), 7) == date(2024, 5, 10)


def test_business_days_skip_new_year() -> None:
    assert add_business_days(date(2024, 12, 27), 1) == date(2025, 1, 6)
    assert add_business_days(date(2024, 12, 27), 2) == date(2025, 1, 7)


def test_negative_business_days_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        add_business_days(date(2024, 6, 3), -1)


def test_calendar_deadline_is_admission_date_plus_days() -> None:
    assert admission_info_deadline(at("2024-06-03T10:00"), DEFAULT_RULE_SET) == date(2024, 6, 10)


def test_calendar_deadline_does_not_skip_golden_week() -> None:
    assert admission_info_deadline(at("2024-04-26T10:00"), DEFAULT_RULE_SET) == date(2024, 5, 3)


def test_business_deadline_across_golden_week() -> None:
    assert admission_info_deadline(at("2024-04-26T10:00"), BUSINESS_7) == date(2024, 5, 10)


def test_business_deadline_across_new_year() -> None:
    rs = RuleSet(
        effective_from=date(2000, 1, 1),
        admission_info_deadline_days=2,
        deadline_calendar="business",
    )
    assert admission_info_deadline(at("2024-12-27T10:00"), rs) == date(2025, 1, 7)
    assert admission_info_deadline(at("2024-12-30T10:00"), rs) == date(2025, 1, 7)


def test_deadline_uses_the_tokyo_date_of_the_admission() -> None:
    # 2024-06-02T16:00Z is 2024-06-03 01:00 in Tokyo.
    assert admission_info_deadline(at("2024-06-02T16:00:00+00:00"), DEFAULT_RULE_SET) == date(
        2024, 6, 10
    )


@pytest.mark.parametrize(
    ("admitted", "deadline"),
    [
        ("2024-06-03T10:00", date(2024, 6, 3)),  # Monday, in hours
        ("2024-06-03T08:30", date(2024, 6, 3)),  # opening minute is in hours
        ("2024-06-03T17:29", date(2024, 6, 3)),
        ("2024-06-03T08:29", date(2024, 6, 4)),  # before opening
        ("2024-06-03T17:30", date(2024, 6, 4)),  # closing minute is after hours
        ("2024-06-03T23:00", date(2024, 6, 4)),
        ("2024-06-07T18:00", date(2024, 6, 10)),  # Friday evening → Monday
        ("2024-06-08T10:00", date(2024, 6, 10)),  # Saturday → Monday
        ("2024-04-26T18:00", date(2024, 4, 30)),  # Friday evening before Golden Week
        ("2024-05-03T10:00", date(2024, 5, 7)),  # holiday in Golden Week
        ("2024-12-28T10:00", date(2025, 1, 6)),  # year end → first business day
        ("2024-06-03T01:00:00+00:00", date(2024, 6, 3)),  # 10:00 Tokyo
        ("2024-06-03T09:00:00+00:00", date(2024, 6, 4)),  # 18:00 Tokyo
    ],
)
def test_same_day_deadline_rolls_after_hours_to_next_business_day(
    admitted: str, deadline: date
) -> None:
    assert admission_info_deadline(at(admitted), SAME_DAY) == deadline


def test_same_day_deadline_without_roll_stays_on_the_admission_date() -> None:
    rs = SAME_DAY.model_copy(update={"after_hours_rolls_to_next_day": False})
    assert admission_info_deadline(at("2024-06-08T22:00"), rs) == date(2024, 6, 8)


def test_custom_office_hours_decide_the_roll() -> None:
    rs = SAME_DAY.model_copy(update={"office_opens": time(9), "office_closes": time(12)})
    assert admission_info_deadline(at("2024-06-03T08:45"), rs) == date(2024, 6, 4)
    assert admission_info_deadline(at("2024-06-03T11:59"), rs) == date(2024, 6, 3)
    assert admission_info_deadline(at("2024-06-03T12:00"), rs) == date(2024, 6, 4)


def test_roll_applies_only_to_a_zero_day_deadline() -> None:
    rs = RuleSet(effective_from=date(2000, 1, 1), admission_info_deadline_days=2)
    # 2024 fee tier (II): 翌日又は翌々日, counted in calendar days even after hours.
    assert admission_info_deadline(at("2024-06-07T22:00"), rs) == date(2024, 6, 9)


def test_tokyo_zone_is_asia_tokyo() -> None:
    assert datetime(2024, 6, 3, tzinfo=TOKYO).utcoffset() is not None
    assert str(TOKYO) == "Asia/Tokyo"
