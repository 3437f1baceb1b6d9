"""The service's one time zone: every local date, deadline and survey month is Asia/Tokyo's."""

from __future__ import annotations

from typing import Final
from zoneinfo import ZoneInfo

TOKYO: Final = ZoneInfo("Asia/Tokyo")
