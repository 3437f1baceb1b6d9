"""Response bodies of the events endpoints (the public contract, api.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field


class EventAccepted(BaseModel):
    """201 stored, or 200 with duplicate=true for an identical replay."""

    event_id: uuid.UUID
    episode_id: uuid.UUID
    duplicate: bool
    recorded_at: datetime


class BatchIn(BaseModel):
    """Up to 1000 events, applied in order; each is validated on its own."""

    events: Annotated[list[dict[str, Any]], Field(min_length=1, max_length=1000)]


class BatchItemResult(BaseModel):
    """The outcome of one batch item, in the order sent."""

    event_id: str | None
    status: Literal["created", "duplicate", "conflict", "invalid", "forbidden"]
    episode_id: uuid.UUID | None = None
    error: str | None = None
    errors: list[dict[str, Any]] | None = None


class BatchOut(BaseModel):
    results: list[BatchItemResult]
