"""The one place that says which dates and timestamps the service accepts (domain.md, Events).

A timestamp (``occurred_at``, a query's ``since``/``until``, a cursor's key) lies between
2000-01-01T00:00+09:00 and 24 hours after the server's clock; a date (``planned_discharge_date``,
``effective_from``, a query's ``from``/``to``/``as_of``, a month, a fiscal year's first day) between
2000-01-01 and three years after the server's Asia/Tokyo date. Outside them the service has no
business and date arithmetic overflows (0001-01-02 minus a lead time was a 500). The annotated
types read the clock when they validate, so a bound never goes stale; the ``check_*`` functions
take the clock as an argument.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Final

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    Strict,
    StringConstraints,
    TypeAdapter,
    ValidationInfo,
)

from shared.rules.zone import TOKYO

EARLIEST_DATE: Final = date(2000, 1, 1)
EARLIEST_TIMESTAMP: Final = datetime.combine(EARLIEST_DATE, time(0), TOKYO)
MAX_FUTURE: Final = timedelta(hours=24)
DATE_YEARS_AHEAD: Final = 3
MAX_BIGINT: Final = 2**63 - 1  # PostgreSQL bigint: a larger id in a cursor was a 500

# ASCII digits only: Python's \d (and int()) also read full-width and other scripts' digits.
_TIMESTAMP_SHAPE: Final = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}")
_DATE_SHAPE: Final = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_MONTH_SHAPE: Final = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")


def server_now() -> datetime:
    """The server's clock, read when a bound is checked."""
    return datetime.now(UTC)


def server_today() -> date:
    """The server's Asia/Tokyo date (every date of the API is a Tokyo date)."""
    return server_now().astimezone(TOKYO).date()


def latest_date(today: date) -> date:
    """Three years after ``today`` (29 February becomes 28 February)."""
    year = today.year + DATE_YEARS_AHEAD
    try:
        return today.replace(year=year)
    except ValueError:
        return today.replace(year=year, day=28)


def latest_timestamp(now: datetime) -> datetime:
    return now + MAX_FUTURE


def check_timestamp(value: datetime, now: datetime) -> datetime:
    """``value`` if it lies in [2000-01-01T00:00+09:00, now + 24 h], else ValueError."""
    if value.utcoffset() is None:
        raise ValueError("must be an RFC 3339 timestamp with an offset")
    if value < EARLIEST_TIMESTAMP:
        raise ValueError("must not be before 2000-01-01T00:00:00+09:00")
    if value > latest_timestamp(now):
        raise ValueError("must not be more than 24 hours in the future")
    return value


def check_date(value: date, today: date) -> date:
    """``value`` if it lies in [2000-01-01, today + 3 years], else ValueError."""
    if not EARLIEST_DATE <= value <= latest_date(today):
        raise ValueError(f"must be a date from {EARLIEST_DATE} to {latest_date(today)}")
    return value


def check_month(text: str, today: date) -> tuple[int, int]:
    """``YYYY-MM`` → (year, month) when its first day is a date in bounds, else ValueError."""
    match = _MONTH_SHAPE.match(text)
    if match is None:
        raise ValueError("must be a month YYYY-MM")
    year, month = int(match.group(1)), int(match.group(2))
    last = latest_date(today)
    if not (EARLIEST_DATE.year <= year <= last.year and date(year, month, 1) <= last):
        raise ValueError(f"must be a month from {EARLIEST_DATE:%Y-%m} to {last:%Y-%m}")
    return year, month


def check_fiscal_year(year: int, today: date) -> int:
    """年度 ``year`` when its first day (1 April) is a date in bounds, else ValueError."""
    last = latest_date(today)
    if not (EARLIEST_DATE.year <= year <= last.year and date(year, 4, 1) <= last):
        raise ValueError(f"must be a fiscal year from {EARLIEST_DATE.year} to {last.year - 1}")
    return year


def _timestamp_text(value: Any) -> Any:
    """Only RFC 3339 text (or a datetime) is a timestamp; epoch numbers are refused."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _TIMESTAMP_SHAPE.match(value):
        return value
    raise ValueError("must be an RFC 3339 timestamp with an offset")


def date_text(value: Any) -> Any:
    """Dates are YYYY-MM-DD text (or a date); epoch numbers are refused."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE_SHAPE.match(value):
        return value
    raise ValueError("must be a date YYYY-MM-DD")


STORED: Final = {"stored": True}  # validation context of rows read back from the database


def _is_stored(info: ValidationInfo) -> bool:
    """Rows already stored were bounded when they arrived; re-reading them never fails on a bound.

    (A row stored before the bounds existed must still fold and show, not become a 500.)
    """
    return isinstance(info.context, dict) and bool(info.context.get("stored"))


def _timestamp_now(value: datetime, info: ValidationInfo) -> datetime:
    return value if _is_stored(info) else check_timestamp(value, server_now())


def _date_now(value: date, info: ValidationInfo) -> date:
    return value if _is_stored(info) else check_date(value, server_today())


def _month_now(value: str) -> str:
    check_month(value, server_today())
    return value


def _fiscal_year_now(value: int) -> int:
    return check_fiscal_year(value, server_today())


# What the document declares of the bounds: years 2000-2099 as a pattern (the upper bound moves
# with the clock, so only the description can say it), ASCII digits, an offset on timestamps.
_YEAR = "20[0-9]{2}"
_DAY = "(0[1-9]|[12][0-9]|3[01])"
_MONTH = "(0[1-9]|1[0-2])"
TIMESTAMP_SCHEMA: Final = Field(
    description="RFC 3339 with an offset, from 2000-01-01T00:00:00+09:00 to 24 hours from now",
    json_schema_extra={
        "pattern": f"^{_YEAR}-{_MONTH}-{_DAY}[Tt][0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}"
        r"(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
    },
)
DATE_SCHEMA: Final = Field(
    description="YYYY-MM-DD (Asia/Tokyo), from 2000-01-01 to three years from today",
    json_schema_extra={"pattern": f"^{_YEAR}-{_MONTH}-{_DAY}$"},
)
MONTH_SCHEMA: Final = Field(
    description="YYYY-MM, from 2000-01 to the month three years from today",
    json_schema_extra={"pattern": f"^{_YEAR}-{_MONTH}$"},
)
BoundedTimestamp = Annotated[
    AwareDatetime, BeforeValidator(_timestamp_text), AfterValidator(_timestamp_now),
    TIMESTAMP_SCHEMA,
]  # fmt: skip
BoundedDate = Annotated[date, BeforeValidator(date_text), AfterValidator(_date_now), DATE_SCHEMA]
BoundedMonth = Annotated[
    str, StringConstraints(pattern=_MONTH_SHAPE.pattern), AfterValidator(_month_now), MONTH_SCHEMA
]
BoundedFiscalYear = Annotated[int, AfterValidator(_fiscal_year_now)]
# A row id in a cursor: an integer (never a float or a bool) that fits a bigint.
BoundedId = Annotated[int, Strict(), Field(ge=1, le=MAX_BIGINT)]
# The key of the lists ordered by a timestamp and a UUID (flags, set-aside episodes, API keys,
# webhook deliveries): the last row's (timestamp, id), as ``timestamp_id_key`` writes it.
TIMESTAMP_ID_CURSOR: Final = TypeAdapter(tuple[BoundedTimestamp, uuid.UUID])


def timestamp_id_key(at: datetime, row_id: uuid.UUID) -> list[str]:
    """A row's cursor key in the JSON form ``TIMESTAMP_ID_CURSOR`` validates."""
    return [at.isoformat(), str(row_id)]
