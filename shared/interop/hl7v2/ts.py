"""HL7 TS (YYYYMMDDHHMM[SS[.S…]][±ZZZZ]) to an aware datetime; no offset means Asia/Tokyo."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Final
from zoneinfo import ZoneInfo

from shared.rules.zone import TOKYO

_TS: Final = re.compile(
    r"^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(?:(\d{2})(?:\.(\d{1,9}))?)?(?:([+-])(\d{2})(\d{2}))?$",
    re.ASCII,
)
_DATE: Final = re.compile(r"^(\d{4})(\d{2})(\d{2})", re.ASCII)


def parse_ts(value: str) -> datetime | None:
    """An aware datetime for a TS of at least minute precision, or None when malformed."""
    match = _TS.match(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, sign, off_h, off_m = match.groups()
    if sign is None:
        tz: timezone | ZoneInfo = TOKYO
    else:
        if int(off_h) > 14 or int(off_m) > 59:
            return None
        offset = timedelta(hours=int(off_h), minutes=int(off_m))
        tz = timezone(-offset if sign == "-" else offset)
    micro = int((fraction or "0").ljust(6, "0")[:6])
    try:
        return datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro, tz
        )
    except ValueError:
        return None


def parse_date(value: str) -> date | None:
    """The calendar date a TS or DT starts with (as the sender wrote it), or None."""
    match = _DATE.match(value.strip())
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def local_date_text(moment: datetime) -> str:
    """The Asia/Tokyo date of a moment as YYYYMMDD (the SS-MIX2 stay key suffix)."""
    return moment.astimezone(TOKYO).strftime("%Y%m%d")
