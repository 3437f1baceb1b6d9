"""The episode object of the public contract (api.md, GET /v1/episodes)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from shared.rules.events import Patient
from shared.rules.timestamps import TokyoDatetime


class EpisodeEvent(BaseModel):
    """One stored event as posted, with whether a cancel removed it from the fold."""

    event_id: uuid.UUID = Field(description="The event_id the poster chose")
    type: str = Field(description="The event type (admission, discharge, …)")
    occurred_at: TokyoDatetime = Field(description="When it happened, as posted")
    recorded_at: TokyoDatetime = Field(description="When the service stored it")
    posted_by: str = Field(description="The organization that posted it (admin for an admin key)")
    cancelled: bool = Field(description="True when a cancel removed it from the fold")
    body: dict[str, Any] = Field(description="The event as posted, without its sheet")
    has_sheet: bool = Field(
        default=False,
        description="True when the event carried a sheet (read it at /v1/episodes/{id}/sheets)",
    )


class EpisodeFlag(BaseModel):
    """A flag on the episode: who is expected to act, since when."""

    kind: str = Field(
        description="missed_discharge_coordination, admission_info_overdue or "
        "discharge_coordination_due"
    )
    party_org_id: str | None = Field(description="The organization expected to act")
    since: TokyoDatetime = Field(description="When the flag's condition began")
    detail: dict[str, Any] = Field(description="The dates and ids the flag is about")


class EpisodeOut(BaseModel):
    """One hospital stay as its parties see it."""

    episode_id: uuid.UUID = Field(description="The episode's id")
    hospital_id: str = Field(description="The stay's hospital")
    encounter_ref: str = Field(description="The hospital's own stay number")
    patient: Patient | None = Field(description="The patient fields (parties only)")
    admitted_at: TokyoDatetime | None = Field(
        description="The admission (the earliest non-cancelled one)"
    )
    care_office_id: str | None = Field(description="The care office responsible now")
    care_level: str | None = Field(
        description="The latest care level (admission, then stay updates)"
    )
    ward_type: str | None = Field(description="The latest ward type")
    planned_discharge_date: date | None = Field(description="The latest planned discharge date")
    admission_info_at: TokyoDatetime | None = Field(
        description="The first 入院時情報提供 (admission info)"
    )
    admission_info_deadline: date | None = Field(
        description="The last day admission info is on time (the rule set in force)"
    )
    admission_info_on_time: bool | None = Field(
        description="Whether the first admission info was on time (null: none yet)"
    )
    first_coordination_at: TokyoDatetime | None = Field(
        description="The first 退院調整 (coordination, conference or no-CM referral)"
    )
    discharged_at: TokyoDatetime | None = Field(
        description="The discharge (the latest non-cancelled one)"
    )
    destination: str | None = Field(description="Where the patient went on discharge")
    eligible: bool | None = Field(
        description="Whether the discharge counts for the rule (null until discharge)"
    )
    coordinated: bool | None = Field(
        description="Whether coordination came at or before the discharge (null until discharge)"
    )
    missed: bool | None = Field(
        description="退院調整漏れ: eligible and not coordinated (null until discharge)"
    )
    coordination_lead_days: int | None = Field(
        description="Days from the first coordination to the discharge"
    )
    events: list[EpisodeEvent] = Field(description="Every stored event, in arrival order")
    flags: list[EpisodeFlag] = Field(description="The flags open now")
