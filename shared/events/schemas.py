"""Response bodies of the events endpoints (the public contract, api.md)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.rules.events import ADMISSION_EXAMPLE
from shared.rules.timestamps import TokyoDatetime


class EventAccepted(BaseModel):
    """201 stored, or 200 with duplicate=true for an identical replay."""

    event_id: uuid.UUID = Field(description="The event_id sent")
    episode_id: uuid.UUID = Field(description="The episode (stay) the event belongs to")
    duplicate: bool = Field(description="True when this exact event was stored before")
    recorded_at: TokyoDatetime = Field(description="When the service first stored the event")


class BatchIn(BaseModel):
    """Up to 1000 events, applied in order; each is validated on its own."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"events": [ADMISSION_EXAMPLE]}]})

    # Items are validated one by one: an object that is not a valid event is answered
    # `invalid` in its result, not refused with a 422, so the document says any object is taken
    # (an Event is what is stored).
    events: Annotated[
        list[dict[str, Any]],
        Field(
            min_length=1,
            max_length=1000,
            description="Events as POST /v1/events takes them; an item that is not a valid"
            " Event is answered `invalid` in its result",
            json_schema_extra={
                "items": {"anyOf": [{"$ref": "#/components/schemas/Event"}, {"type": "object"}]}
            },
        ),
    ]


class BatchItemResult(BaseModel):
    """The outcome of one batch item, in the order sent."""

    event_id: str | None = Field(description="The item's event_id (null when it had none)")
    status: Literal["created", "duplicate", "conflict", "invalid", "forbidden"] = Field(
        description="created, duplicate, conflict, invalid or forbidden"
    )
    episode_id: uuid.UUID | None = Field(
        default=None, description="The episode (for created and duplicate)"
    )
    error: str | None = Field(
        default=None, description="What to fix (conflict, invalid, forbidden)"
    )
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="For invalid: each field path and message"
    )


class BatchOut(BaseModel):
    results: list[BatchItemResult] = Field(description="One result per event, in the order sent")
