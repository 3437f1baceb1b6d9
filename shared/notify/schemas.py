"""The webhook API's bodies and the event types a subscription may ask for."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

EventType = Literal[
    "episode.admitted",
    "episode.admission_info",
    "episode.discharge_planned",
    "episode.coordination",
    "episode.discharged",
    "flag.raised",
    "flag.cleared",
]
EVENT_TYPES: Final[tuple[str, ...]] = EventType.__args__  # type: ignore[attr-defined]
PING: Final = "ping"
DeliveryState = Literal["pending", "delivered", "failed"]


class WebhookIn(BaseModel):
    """A new subscription; an admin names the organization it is for."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://cm-software.example.jp/hooks/handover",
                    "event_types": ["episode.admitted", "episode.discharge_planned", "flag.raised"],
                    "description": "ケアプラン天文館の業務システム",
                }
            ]
        },
    )

    url: str = Field(min_length=1, max_length=2000)
    event_types: list[EventType] = Field(min_length=1, max_length=len(EVENT_TYPES))
    description: str | None = Field(default=None, max_length=500)
    organization_id: str | None = Field(default=None, max_length=32)


class WebhookPatch(BaseModel):
    """Fields to change; absent ones stay. Enabling again clears the reason it was disabled."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"enabled": False}]})

    url: str | None = Field(default=None, min_length=1, max_length=2000)
    event_types: list[EventType] | None = Field(default=None, min_length=1)
    description: str | None = Field(default=None, max_length=500)
    enabled: bool | None = None


class WebhookOut(BaseModel):
    """A subscription as its organization sees it (never its secret)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_id: str
    url: str
    event_types: list[str]
    description: str | None
    enabled: bool
    disabled_reason: str | None = None
    created_at: datetime


class WebhookWithSecret(WebhookOut):
    """Create and rotate-secret answer: the only time the secret is shown."""

    secret: str


class WebhookList(BaseModel):
    items: list[WebhookOut]


class DeliveryOut(BaseModel):
    """One notification to the endpoint: its id is the ``webhook-id`` header of every try."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    event_type: str
    created_at: datetime
    state: DeliveryState
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None = None
