"""Japanese era dates (和暦) for the survey's cover: 令和6年6月, 平成31年4月30日, 令和元年5月1日.

The service's dates start at 2000-01-01 (shared.rules.bounds), so two eras suffice: 平成 until
2019-04-30 and 令和 from 2019-05-01 (the day of the accession, by the 元号を改める政令). The first
year of an era reads 元年, as official documents write it.
"""

from __future__ import annotations

from datetime import date
from typing import Final

# (first day, name), newest first.
ERAS: Final = ((date(2019, 5, 1), "令和"), (date(1989, 1, 8), "平成"))


def era_year(day: date) -> str:
    """``令和6年`` for a day of 2024; ``令和元年`` for 2019-05-01 on; ValueError before 平成."""
    for first, name in ERAS:
        if day >= first:
            number = day.year - first.year + 1
            return f"{name}{'元' if number == 1 else number}年"
    raise ValueError(f"{day} is before 平成 (1989-01-08)")


def wareki_date(day: date) -> str:
    """``令和6年6月3日``."""
    return f"{era_year(day)}{day.month}月{day.day}日"


def wareki_month(year: int, month: int) -> str:
    """``令和6年6月``; a month is named by its first day (2019年5月 is 令和元年5月)."""
    return f"{era_year(date(year, month, 1))}{month}月"


def wareki_fiscal_year(year: int) -> str:
    """2024年度 is 令和6年度. 2019年度 began on 2019-04-01 under 平成, but government documents
    name the whole year 令和元年度, so the year is named by its era in May.
    """
    return f"{era_year(date(year, 5, 1))}度"
