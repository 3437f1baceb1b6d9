"""The date and timestamp bounds of domain.md, computed from the clock passed in."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from pydantic import TypeAdapter, ValidationError

from shared.core.pagination import BadCursor, decode_cursor, encode_cursor
from shared.episodes.repository import recorded_columns
from shared.rules.bounds import (
    BoundedDate,
    BoundedId,
    BoundedTimestamp,
    check_date,
    check_fiscal_year,
    check_month,
    check_timestamp,
    latest_date,
)
from shared.rules.events import EVENT_ADAPTER, AdmissionEvent

NOW = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
TODAY = date(2026, 12, 2)


def test_dates_run_from_2000_to_three_years_after_today() -> None:
    assert check_date(date(2000, 1, 1), TODAY) == date(2000, 1, 1)
    assert check_date(date(2029, 12, 2), TODAY) == date(2029, 12, 2)
    for day in (date(1999, 12, 31), date(2029, 12, 3), date.min, date.max):
        with pytest.raises(ValueError, match="2000-01-01 to 2029-12-02"):
            check_date(day, TODAY)


def test_three_years_after_a_leap_day_is_the_28th() -> None:
    assert latest_date(date(2028, 2, 29)) == date(2031, 2, 28)


def test_timestamps_run_from_2000_tokyo_to_24_hours_ahead() -> None:
    tokyo = timezone(timedelta(hours=9))
    assert check_timestamp(datetime(2000, 1, 1, tzinfo=tokyo), NOW)
    assert check_timestamp(NOW + timedelta(hours=24), NOW)
    extremes = [
        datetime(1999, 12, 31, 23, 59, 59, tzinfo=tokyo),
        NOW + timedelta(hours=24, seconds=1),
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(-timedelta(hours=23, minutes=59))),
    ]
    for value in extremes:
        with pytest.raises(ValueError, match="must not be"):
            check_timestamp(value, NOW)


@pytest.mark.parametrize("text", ["1999-12", "2030-01", "0000-01", "9999-12", "2024-13", "24-06"])
def test_months_outside_the_bounds_or_malformed_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="month"):
        check_month(text, TODAY)


def test_the_first_and_last_months_and_fiscal_years_are_accepted() -> None:
    assert check_month("2000-01", TODAY) == (2000, 1)
    assert check_month("2029-12", TODAY) == (2029, 12)
    assert check_fiscal_year(2000, TODAY) == 2000
    assert check_fiscal_year(2029, TODAY) == 2029
    for year in (1999, 2030, 10**20, -1):
        with pytest.raises(ValueError, match="fiscal year"):
            check_fiscal_year(year, TODAY)


@pytest.mark.parametrize("value", [0.5, 1717380000, "1717380000", "2025-06-02T10:00:00", True])
def test_a_timestamp_needs_a_date_a_time_and_an_offset(value: object) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(BoundedTimestamp).validate_python(value)


@pytest.mark.parametrize("value", [20250602, "2025-6-2", "2025-06-02T00:00:00+09:00", "0001-01-02"])
def test_a_date_is_yyyy_mm_dd_in_bounds(value: object) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(BoundedDate).validate_python(value)


def test_a_typed_cursor_round_trips_and_refuses_every_other_shape() -> None:
    ids = TypeAdapter(BoundedId)
    assert decode_cursor(encode_cursor(42), ids) == 42
    for forged in (10**25, 1.5, float("inf"), True, "42", None, [42], -1, 0):
        with pytest.raises(BadCursor):
            decode_cursor(encode_cursor(forged), ids)
    with pytest.raises(BadCursor):
        decode_cursor(encode_cursor("\ud800"), TypeAdapter(str))


def test_a_row_stored_before_the_bounds_still_reads_back_for_the_fold() -> None:
    """Bounds guard what arrives; a legacy stored row must fold (and show), not become a 500."""
    body = {
        "event_id": "1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b",
        "type": "admission",
        "occurred_at": "2024-06-03T10:15:00+09:00",
        "hospital_id": "4610000001",
        "encounter_ref": "A-1",
        "patient": {"insurer_number": "462010", "insured_number": "0000123456"},
        "care_level": "care_2",
        "ward_type": "general",
        "care_office_id": None,
        "planned_discharge_date": "0001-01-02",
    }
    with pytest.raises(ValidationError):
        EVENT_ADAPTER.validate_python(body)
    event = recorded_columns(body, 1, "4610000001").event
    assert isinstance(event, AdmissionEvent)
    assert event.planned_discharge_date == date(1, 1, 2)
