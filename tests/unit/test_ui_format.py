"""The screens' period parsing and number formatting (pure: no database, no app)."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest

from services.api.ui.dashboard import fiscal_year_of, period_of
from services.api.ui.pages import count, days, pct
from shared.metrics.window import Window, WindowError


def test_percentages_read_as_the_survey_rounds_them() -> None:
    assert pct(Fraction(41, 882)) == "4.6%"
    assert pct(Fraction(1, 16)) == "6.3%"  # 6.25: half-up, not half-even
    assert pct(Fraction(1, 1)) == "100.0%"
    assert pct(Fraction(0, 5)) == "0.0%"
    assert pct(None) == "—"


def test_counts_and_lead_days() -> None:
    assert count(12345) == "12,345"
    assert days(6.0) == "6.0日"
    assert days(None) == "—"


def test_the_default_period_is_the_current_fiscal_year() -> None:
    assert fiscal_year_of(date(2025, 3, 31)) == 2024
    assert fiscal_year_of(date(2025, 4, 1)) == 2025
    period = period_of({}, date(2026, 1, 15))
    assert period.window == Window(date(2025, 4, 1), date(2026, 3, 31))
    assert period.label == "2025年度（令和7年度）"  # its dates are printed once, beside it


def test_blank_fields_of_the_period_forms_are_ignored() -> None:
    period = period_of({"month": "2024-06", "fiscal_year": "", "from": " ", "to": ""}, date.today())
    assert period.window == Window(date(2024, 6, 1), date(2024, 6, 30))
    assert period.label == "2024年6月（令和6年6月）"


@pytest.mark.parametrize(
    "params",
    [{"fiscal_year": "abc"}, {"month": "2024-13"}, {"from": "2024-06-01"},
     {"from": "2024-06-31", "to": "2024-07-01"}, {"month": "2024-06", "fiscal_year": "2024"}],
)  # fmt: skip
def test_a_bad_period_is_a_window_error(params: dict[str, str]) -> None:
    with pytest.raises(WindowError):
        period_of(params, date(2026, 1, 15))
