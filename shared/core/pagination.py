"""Opaque cursors for ``?cursor=`` pagination (the last key of the previous page).

A cursor is client input like any other: decoding checks its shape and types against the list's
own schema (bounded timestamps and ids, valid UUIDs, text that UTF-8 can hold), so a forged or
mangled cursor is a BadCursor (400), never a value the database refuses with a 500.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final, TypeVar

from pydantic import TypeAdapter, ValidationError

T = TypeVar("T")
R = TypeVar("R")
MAX_CURSOR_CHARS: Final = 1024  # the longest key of any list, encoded, is under 200
BAD_CURSOR: Final = "cursor is not valid; pass next_cursor exactly as returned"


class BadCursor(ValueError):
    """The cursor was not produced by this service."""

    def __init__(self) -> None:
        super().__init__(BAD_CURSOR)


def encode_cursor(last: Any) -> str:
    """An opaque, URL-safe cursor for the key the next page starts after."""
    return base64.urlsafe_b64encode(json.dumps(last).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, schema: TypeAdapter[T]) -> T:
    """The key encoded by ``encode_cursor``, validated by the list's ``schema``; else BadCursor."""
    if len(cursor) > MAX_CURSOR_CHARS:
        raise BadCursor()
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        json.dumps(raw, ensure_ascii=False).encode()  # a lone surrogate cannot be sent on
        return schema.validate_python(raw)
    except (ValueError, binascii.Error, UnicodeError, RecursionError, ValidationError) as exc:
        raise BadCursor() from exc


async def keyset_page(
    fetch: Callable[[int], Awaitable[Sequence[R]]], limit: int, key: Callable[[R], Any]
) -> tuple[list[R], str | None]:
    """One page of a keyset list: ``fetch(n)`` reads up to ``n`` rows after the cursor's key.

    One row more than ``limit`` is read to know whether a next page exists; its cursor is
    ``key`` of the page's last row (the JSON form ``decode_cursor`` validates), None at the end.
    """
    rows = list(await fetch(limit + 1))
    if len(rows) <= limit:
        return rows, None
    page = rows[:limit]
    return page, encode_cursor(key(page[-1]))
