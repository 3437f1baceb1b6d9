"""Japanese era dates on the survey's cover: the era boundaries and 元年."""

from __future__ import annotations

from datetime import date

import pytest

from shared.metrics.wareki import wareki_date, wareki_fiscal_year, wareki_month


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2024, 6, 3), "令和6年6月3日"),
        (date(2019, 5, 1), "令和元年5月1日"),
        (date(2019, 4, 30), "平成31年4月30日"),
        (date(2000, 1, 1), "平成12年1月1日"),
        (date(1989, 1, 8), "平成元年1月8日"),
        (date(2020, 1, 1), "令和2年1月1日"),
    ],
)
def test_a_date_reads_in_its_era(day: date, expected: str) -> None:
    assert wareki_date(day) == expected


def test_months_and_fiscal_years_read_as_the_survey_names_them() -> None:
    assert wareki_month(2024, 6) == "令和6年6月"
    assert wareki_month(2014, 6) == "平成26年6月"
    assert wareki_month(2019, 4) == "平成31年4月"
    assert wareki_month(2019, 5) == "令和元年5月"
    assert wareki_fiscal_year(2024) == "令和6年度"
    assert wareki_fiscal_year(2019) == "令和元年度"  # officially, though April 2019 was 平成
    assert wareki_fiscal_year(2018) == "平成30年度"
    assert wareki_fiscal_year(2014) == "平成26年度"


def test_a_date_before_heisei_is_refused() -> None:
    with pytest.raises(ValueError, match="平成"):
        wareki_date(date(1989, 1, 7))
