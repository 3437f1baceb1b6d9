"""The webhook API's bodies and the event types a subscription may ask for."""

from __future__ import annotations

import uuid
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from shared.rules.timestamps import TokyoDatetime

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

    url: str = Field(
        min_length=1,
        max_length=2000,
        description="Where to POST notifications; https in production, never a private address",
    )
    event_types: list[EventType] = Field(
        min_length=1, max_length=len(EVENT_TYPES), description="The event types to receive"
    )
    description: str | None = Field(
        default=None, max_length=500, description="Free text for the subscriber's own records"
    )
    organization_id: str | None = Field(
        default=None, max_length=32, description="Admin only: the organization subscribed"
    )


class WebhookPatch(BaseModel):
    """Fields to change; absent ones stay. Enabling again clears the reason it was disabled."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"enabled": False}]})

    url: str | None = Field(
        default=None, min_length=1, max_length=2000, description="A new endpoint URL"
    )
    event_types: list[EventType] | None = Field(
        default=None, min_length=1, description="The new list of event types"
    )
    description: str | None = Field(default=None, max_length=500, description="New free text")
    enabled: StrictBool | None = Field(
        default=None, description="false stops deliveries; true resumes"
    )


class WebhookOut(BaseModel):
    """A subscription as its organization sees it (never its secret)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="The webhook's id")
    organization_id: str = Field(description="The organization whose parties' events it receives")
    url: str = Field(description="The endpoint notifications are POSTed to")
    event_types: list[str] = Field(description="The event types it receives")
    description: str | None = Field(description="The subscriber's free text")
    enabled: bool = Field(description="false: nothing is sent (see disabled_reason)")
    disabled_reason: str | None = Field(
        default=None, description="Why it was disabled (410 Gone, five days of failures, by hand)"
    )
    created_at: TokyoDatetime = Field(description="When it was created")


class WebhookWithSecret(WebhookOut):
    """Create and rotate-secret answer: the only time the secret is shown."""

    secret: str = Field(description="whsec_ + base64 of 32 bytes: shown only in this answer")


class WebhookList(BaseModel):
    """The caller's webhooks (admin: all)."""

    items: list[WebhookOut] = Field(description="The webhooks")


class DeliveryOut(BaseModel):
    """One notification to the endpoint: its id is the ``webhook-id`` header of every try."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="The delivery's id: the `webhook-id` header of every try")
    event_type: str = Field(description="The notification's type (`ping` for a ping)")
    created_at: TokyoDatetime = Field(description="When the change that caused it was committed")
    state: DeliveryState = Field(description="pending (will be tried), delivered, or failed")
    attempts: int = Field(description="Tries so far, the first included")
    last_status_code: int | None = Field(description="The endpoint's last HTTP status, if any")
    last_error: str | None = Field(description="Why the last try failed, or why it was given up")
    next_attempt_at: TokyoDatetime | None = Field(description="When the next try is due")


class DeliveryPage(BaseModel):
    """The delivery log, newest first."""

    items: list[DeliveryOut] = Field(description="Deliveries of this page")
    next_cursor: str | None = Field(
        default=None, description="The next page's cursor; null at the end"
    )
