"""Opaque cursors for ``?cursor=`` pagination (the last key of the previous page)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any


class BadCursor(ValueError):
    """The cursor was not produced by this service."""


def encode_cursor(last: Any) -> str:
    """An opaque, URL-safe cursor for the key the next page starts after."""
    return base64.urlsafe_b64encode(json.dumps(last).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Any:
    """The key encoded by ``encode_cursor``; BadCursor if it is not one."""
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadCursor("cursor is not valid; pass next_cursor exactly as returned") from exc
