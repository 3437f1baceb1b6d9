"""Query parameters every list shares: the page size and the cursor (api.md, Conventions)."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import Query
from pydantic import AfterValidator

from shared.core.pagination import MAX_CURSOR_CHARS

CURSOR_PATTERN: Final = "^[A-Za-z0-9_-]*$"  # base64url without padding, as encode_cursor writes


def _empty_is_the_first_page(value: str | None) -> str | None:
    return value or None


Limit = Annotated[int, Query(ge=1, le=1000, description="Page size (default 100, max 1000)")]
# Declared, not enforced, here: a cursor that is not one of ours is a 400 from decode_cursor,
# whatever it looks like. `cursor=` (empty) is the first page, on every list.
Cursor = Annotated[
    str | None,
    Query(
        description="`next_cursor` of the previous page, exactly as returned; absent or empty:"
        " the first page",
        json_schema_extra={"pattern": CURSOR_PATTERN, "maxLength": MAX_CURSOR_CHARS},
    ),
    AfterValidator(_empty_is_the_first_page),
]
