"""The survey's period: a month, a fiscal year (年度) or a from/to range, and how it is named.

Pure: no I/O and no clock reads. The same period one, two … years earlier is what the workbook's
経年推移 sheet lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.metrics.wareki import wareki_date, wareki_fiscal_year, wareki_month
from shared.metrics.window import (
    Window,
    WindowError,
    fiscal_year_window,
    month_window,
    resolve_window,
)

PERIOD_FORMS = "`month`, `fiscal_year`, or `from` and `to`"


@dataclass(frozen=True, slots=True)
class SurveyPeriod:
    """One survey period; exactly one of `month` (YYYY-MM) and `fiscal_year` for those forms."""

    window: Window
    month: str | None = None
    fiscal_year: int | None = None

    @property
    def stem(self) -> str:
        """The file-name part: ``2024-06``, ``FY2024`` or ``2024-04-01_2024-06-30``."""
        if self.month is not None:
            return self.month
        if self.fiscal_year is not None:
            return f"FY{self.fiscal_year}"
        return f"{self.window.start}_{self.window.end}"

    @property
    def western(self) -> str:
        """``2024年6月``, ``2024年度`` or ``2024-04-01〜2024-06-30``."""
        start = self.window.start
        if self.month is not None:
            return f"{start.year}年{start.month}月"
        if self.fiscal_year is not None:
            return f"{self.fiscal_year}年度"
        return f"{self.window.start}〜{self.window.end}"

    @property
    def wareki(self) -> str:
        """``令和6年6月``, ``令和6年度`` or ``令和6年4月1日〜令和6年6月30日``."""
        start = self.window.start
        if self.month is not None:
            return wareki_month(start.year, start.month)
        if self.fiscal_year is not None:
            return wareki_fiscal_year(self.fiscal_year)
        return f"{wareki_date(self.window.start)}〜{wareki_date(self.window.end)}"

    @property
    def dates(self) -> str:
        """The days it covers: ``2024-06-01〜2024-06-30``."""
        return f"{self.window.start}〜{self.window.end}"

    @property
    def wareki_dates(self) -> str:
        return f"{wareki_date(self.window.start)}〜{wareki_date(self.window.end)}"

    def years_before(self, years: int) -> SurveyPeriod:
        """The same month, fiscal year or range `years` earlier (29 February becomes the 28th)."""
        if self.month is not None:
            start = self.window.start
            shifted = f"{start.year - years:04d}-{start.month:02d}"
            return SurveyPeriod(month_window(start.year - years, start.month), month=shifted)
        if self.fiscal_year is not None:
            year = self.fiscal_year - years
            return SurveyPeriod(fiscal_year_window(year), fiscal_year=year)
        start, end = self.window.start, self.window.end
        return SurveyPeriod(Window(_earlier(start, years), _earlier(end, years)))


def _earlier(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def survey_period(
    *,
    today: date,
    month: str | None = None,
    fiscal_year: int | None = None,
    from_: date | None = None,
    to: date | None = None,
) -> SurveyPeriod:
    """Exactly one period form, checked as GET /v1/metrics checks it (WindowError otherwise)."""
    if month is None and fiscal_year is None and from_ is None and to is None:
        raise WindowError("month", f"send one period: {PERIOD_FORMS}")
    window = resolve_window(today=today, from_=from_, to=to, month=month, fiscal_year=fiscal_year)
    return SurveyPeriod(window, month=month, fiscal_year=fiscal_year)


def period_from_stem(stem: str, *, today: date) -> SurveyPeriod:
    """The period a file-name part names (``2024-06``, ``FY2024``, ``<from>_<to>``), else
    WindowError: the screens' download links carry it in their path."""
    if stem.startswith("FY") and stem[2:].isdigit() and len(stem) == 6:
        return survey_period(today=today, fiscal_year=int(stem[2:]))
    if "_" in stem:
        first, _, last = stem.partition("_")
        try:
            start, end = date.fromisoformat(first), date.fromisoformat(last)
        except ValueError:
            raise WindowError("from", "must be two dates joined by _") from None
        return survey_period(today=today, from_=start, to=end)
    return survey_period(today=today, month=stem)
