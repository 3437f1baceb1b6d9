"""Metric windows, breakdown keys and series periods: pure parsing, no I/O and no clock reads."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final, Literal

from shared.rules.bounds import check_date, check_fiscal_year, check_month

WindowName = Literal["30d", "90d", "365d"]
Granularity = Literal["month", "week", "day"]

WINDOW_DAYS: Final[dict[str, int]] = {"30d": 30, "90d": 90, "365d": 365}
# Ten years of days, leap days included: the longest range one query may sum over.
MAX_WINDOW_DAYS: Final = 3653
# Breakdown name (query) -> column of daily_aggregates and key name in the response.
GROUP_COLUMNS: Final[dict[str, str]] = {
    "hospital": "hospital_id",
    "care_office": "care_office_id",
    "municipality": "insurer_number",
    "medical_area": "medical_area",
    "ward_type": "ward_type",
    "care_level_band": "care_level_band",
}
WINDOW_FORMS: Final = (
    "`from` and `to`, or `window` (with optional `as_of`), or `month`, or `fiscal_year`"
)


class WindowError(ValueError):
    """Bad window or breakdown input, naming the query parameter the client must fix."""

    def __init__(self, param: str, msg: str) -> None:
        super().__init__(msg)
        self.param = param
        self.msg = msg


@dataclass(frozen=True, slots=True)
class Window:
    """An inclusive range of Asia/Tokyo local dates."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def parse_month(text: str, *, today: date, param: str = "month") -> tuple[int, int]:
    """``YYYY-MM`` within the date bounds (schemas.bounds) → (year, month), else names `param`."""
    try:
        return check_month(text, today)
    except ValueError as exc:
        raise WindowError(param, str(exc)) from None


def month_window(year: int, month: int) -> Window:
    """The calendar month (月) as a window."""
    first = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    return Window(first, following - timedelta(days=1))


def fiscal_year_window(year: int) -> Window:
    """年度 YYYY: April 1 of YYYY through March 31 of YYYY+1."""
    return Window(date(year, 4, 1), date(year + 1, 3, 31))


def resolve_window(
    *,
    today: date,
    from_: date | None = None,
    to: date | None = None,
    window: str | None = None,
    as_of: date | None = None,
    month: str | None = None,
    fiscal_year: int | None = None,
) -> Window:
    """Exactly one window form; `today` is the caller's Asia/Tokyo date (the default `as_of`)."""
    form = _form(from_ is not None or to is not None, window, month, fiscal_year)
    if as_of is not None and window is None:
        raise WindowError("as_of", "`as_of` goes only with `window`")
    for name, day in (("from", from_), ("to", to), ("as_of", as_of)):
        if day is not None:
            _check_day(name, day, today)
    if form == "from":
        result = _range_window(from_, to)
    elif form == "window":
        result = _trailing_window(window, as_of or today)
    elif form == "month":
        result = month_window(*parse_month(month or "", today=today))
    else:
        result = _fiscal_year_window(fiscal_year, today)
    if result.days > MAX_WINDOW_DAYS:
        raise WindowError(form if form != "from" else "to", "the range may span at most 10 years")
    return result


def _form(range_sent: bool, window: str | None, month: str | None, fiscal_year: int | None) -> str:
    """The one window form sent (the query parameter that names it), else a WindowError."""
    sent = [
        name
        for name, present in (
            ("from", range_sent),
            ("window", window is not None),
            ("month", month is not None),
            ("fiscal_year", fiscal_year is not None),
        )
        if present
    ]
    if not sent:
        raise WindowError("from", f"send one window: {WINDOW_FORMS}")
    if len(sent) > 1:
        raise WindowError(sent[1], f"send only one window form, not {' and '.join(sent)}")
    return sent[0]


def _check_day(param: str, day: date, today: date) -> None:
    try:
        check_date(day, today)
    except ValueError as exc:
        raise WindowError(param, str(exc)) from None


def _range_window(from_: date | None, to: date | None) -> Window:
    """`from` and `to`, both sent, in order."""
    if from_ is None or to is None:
        raise WindowError("to" if to is None else "from", "send both `from` and `to`")
    if from_ > to:
        raise WindowError("to", "`to` must not be before `from`")
    return Window(from_, to)


def _trailing_window(window: str | None, end: date) -> Window:
    """The named number of days up to and including `end`."""
    days = WINDOW_DAYS.get(window or "")
    if days is None:
        raise WindowError("window", f"must be one of {', '.join(WINDOW_DAYS)}")
    return Window(end - timedelta(days=days - 1), end)


def _fiscal_year_window(fiscal_year: int | None, today: date) -> Window:
    assert fiscal_year is not None  # the form sent
    try:
        return fiscal_year_window(check_fiscal_year(fiscal_year, today))
    except ValueError as exc:
        raise WindowError("fiscal_year", str(exc)) from None


def parse_group_by(text: str | None) -> tuple[str, ...]:
    """A comma list of breakdown names, in the order sent, duplicates and blanks dropped."""
    names: list[str] = []
    for raw in (text or "").split(","):
        name = raw.strip()
        if not name or name in names:
            continue
        if name not in GROUP_COLUMNS:
            raise WindowError(
                "group_by", f"unknown breakdown {name!r}; use {', '.join(GROUP_COLUMNS)}"
            )
        names.append(name)
    return tuple(names)


def period_start(day: date, granularity: Granularity) -> date:
    """First day of the period holding `day` (ISO weeks start on Monday)."""
    if granularity == "month":
        return day.replace(day=1)
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    return day


def period_label(start: date, granularity: Granularity) -> str:
    """``2024-06``, ISO week ``2024-W23`` (ISO week-numbering year), or ``2024-06-03``."""
    if granularity == "month":
        return f"{start.year:04d}-{start.month:02d}"
    if granularity == "week":
        iso = start.isocalendar()
        return f"{iso.year:04d}-W{iso.week:02d}"
    return start.isoformat()


def periods(window: Window, granularity: Granularity) -> Iterator[date]:
    """Start of every period overlapping the window, in order (edge periods are clipped)."""
    current = period_start(window.start, granularity)
    while current <= window.end:
        yield current
        if granularity == "month":
            current = month_window(current.year, current.month).end + timedelta(days=1)
        else:
            current += timedelta(days=7 if granularity == "week" else 1)
