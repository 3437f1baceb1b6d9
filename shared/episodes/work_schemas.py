"""Work lists and flags as parties see them (api.md, Work lists)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from shared.rules.events import NOTE_SCHEMA, Patient, _no_control_chars_note
from shared.rules.timestamps import TokyoDatetime

PendingKind = Literal[
    "admission_info",
    "discharge_planned",
    "discharge_coordination",
    "care_office_unknown",
    "open_flag",
]
# Why an item is on the list: a short code to switch on; `detail` says it in words.
PendingReason = Literal[
    "admission_info_due_after_admission",
    "client_discharge_planned",
    "coordination_due_before_planned_discharge",
    "planned_discharge_within_notice_lead",
    "care_level_without_care_office",
    "missed_discharge_coordination",
    "admission_info_overdue",
    "discharge_coordination_due",
]


class PendingItem(BaseModel):
    """One thing the caller's organization has to do now, why, and by when."""

    episode_id: uuid.UUID = Field(
        description="The episode (stay); GET /v1/episodes/{id} has it all"
    )
    hospital_id: str = Field(description="The stay's hospital")
    hospital_name: str | None = Field(description="The hospital's registered name")
    encounter_ref: str = Field(description="The hospital's own stay number")
    kind: PendingKind = Field(description="What is to be done (see the operation's description)")
    reason: PendingReason = Field(description="Why the item is listed, as a stable code")
    detail: str = Field(description="Why the item is listed and what is due when, in words")
    due_date: date | None = Field(description="Last day to act (Asia/Tokyo); null: no deadline")
    overdue: bool = Field(description="The due date has passed (an open flag is always overdue)")
    patient: Patient | None = Field(description="The patient fields known for the stay")
    care_office_id: str | None = Field(description="The care office responsible now")
    care_office_name: str | None = Field(
        default=None, description="The responsible care office's registered name"
    )
    planned_discharge_date: date | None = Field(
        default=None, description="The planned discharge date, when one is set"
    )
    coordination_received: bool | None = Field(
        default=None, description="Whether the hospital's 退院調整 (coordination) was received"
    )
    flag_id: uuid.UUID | None = Field(
        default=None, description="For `open_flag`: the flag that keeps the stay listed"
    )


class PendingList(BaseModel):
    """A page of the work list, most urgent first."""

    items: list[PendingItem] = Field(description="This page's items, most urgent first")
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; null at the end"
    )


class FlagOut(BaseModel):
    """A flag: the episode, who must act, when it was raised and cleared."""

    id: uuid.UUID = Field(description="The flag's id (POST /v1/flags/{id}/acknowledge)")
    kind: str = Field(
        description="missed_discharge_coordination (退院調整漏れ), admission_info_overdue or "
        "discharge_coordination_due"
    )
    episode_id: uuid.UUID = Field(description="The episode the flag is about")
    hospital_id: str = Field(description="The episode's hospital")
    encounter_ref: str | None = Field(
        default=None, description="The hospital's own stay number (parties only)"
    )
    party_org_id: str | None = Field(description="The organization expected to act")
    since: TokyoDatetime = Field(description="When the flag's condition began")
    raised_at: TokyoDatetime = Field(description="When the service raised the flag")
    cleared_at: TokyoDatetime | None = Field(description="When it cleared (null: open)")
    cleared_reason: str | None = Field(description="Why it cleared")
    acknowledged_at: TokyoDatetime | None = Field(description="When a party acknowledged it")
    acknowledged_by: str | None = Field(description="The organization that acknowledged it")
    # free text, perhaps personal: parties only, like patient
    acknowledgement_note: str | None = Field(
        description="The acknowledging party's note (parties only)"
    )
    detail: dict[str, Any] = Field(description="The dates and ids the flag is about")
    patient: Patient | None = Field(default=None, description="The patient fields (parties only)")


class FlagPage(BaseModel):
    items: list[FlagOut] = Field(description="This page's flags")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end"
    )


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
        NOTE_SCHEMA,
    ] = Field(description="What the party did or will do")
