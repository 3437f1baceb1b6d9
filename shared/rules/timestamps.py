"""The one way a timestamp leaves the service: RFC 3339 with the +09:00 offset (api.md).

Timestamps are stored as instants (timestamptz, read back in UTC) and arrive with whatever offset
the client sent; every response model declares its timestamps as ``TokyoDatetime`` so they all
read ``2024-06-03T10:15:00+09:00``, never ``Z`` in one endpoint and ``+09:00`` in another.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import PlainSerializer

from shared.rules.zone import TOKYO


def in_tokyo(value: datetime) -> datetime:
    """The same instant on the Asia/Tokyo clock (serialized with +09:00)."""
    return value.astimezone(TOKYO)


# The same instant, shown in Asia/Tokyo time; still `format: date-time` in the OpenAPI document.
TokyoDatetime = Annotated[datetime, PlainSerializer(in_tokyo, return_type=datetime)]
