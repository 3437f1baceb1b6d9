"""Work lists and flags as parties see them (api.md, Work lists)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from shared.schemas.events import Patient, _no_control_chars_note
from shared.schemas.timestamps import TokyoDatetime

PendingKind = Literal[
    "admission_info", "discharge_planned", "discharge_coordination", "care_office_unknown"
]


class PendingItem(BaseModel):
    """One thing the caller's organization has to do now."""

    episode_id: uuid.UUID
    hospital_id: str
    encounter_ref: str
    kind: PendingKind
    due_date: date | None
    overdue: bool
    patient: Patient | None
    care_office_id: str | None
    planned_discharge_date: date | None = None
    coordination_received: bool | None = None


class PendingList(BaseModel):
    items: list[PendingItem]
    next_cursor: str | None = None


class FlagOut(BaseModel):
    """A flag: the episode, who must act, when it was raised and cleared."""

    id: uuid.UUID
    kind: str
    episode_id: uuid.UUID
    hospital_id: str
    encounter_ref: str | None = None
    party_org_id: str | None
    since: TokyoDatetime
    raised_at: TokyoDatetime
    cleared_at: TokyoDatetime | None
    cleared_reason: str | None
    acknowledged_at: TokyoDatetime | None
    acknowledged_by: str | None
    acknowledgement_note: str | None  # free text, perhaps personal: parties only, like patient
    detail: dict[str, Any]
    patient: Patient | None = None


class FlagPage(BaseModel):
    items: list[FlagOut]
    next_cursor: str | None


class AcknowledgeIn(BaseModel):
    """A party's note on a flag: free text like an exclusion's note (no control characters)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"note": "Called the ward; coordination set for 6/10."}]},
    )

    note: Annotated[
        str,
        StringConstraints(min_length=1, max_length=1000),
        AfterValidator(_no_control_chars_note),  # as every other text field
    ] = Field(description="What the party did or will do")
