"""The episode object of the public contract (api.md, GET /v1/episodes)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from pydantic import BaseModel

from shared.schemas.events import Patient
from shared.schemas.timestamps import TokyoDatetime


class EpisodeEvent(BaseModel):
    """One stored event as posted, with whether a cancel removed it from the fold."""

    event_id: uuid.UUID
    type: str
    occurred_at: TokyoDatetime
    recorded_at: TokyoDatetime
    posted_by: str
    cancelled: bool
    body: dict[str, Any]


class EpisodeFlag(BaseModel):
    """A flag on the episode: who is expected to act, since when."""

    kind: str
    party_org_id: str | None
    since: TokyoDatetime
    detail: dict[str, Any]


class EpisodeOut(BaseModel):
    """One hospital stay as its parties see it."""

    episode_id: uuid.UUID
    hospital_id: str
    encounter_ref: str
    patient: Patient | None
    admitted_at: TokyoDatetime | None
    care_office_id: str | None
    care_level: str | None
    ward_type: str | None
    planned_discharge_date: date | None
    admission_info_at: TokyoDatetime | None
    admission_info_deadline: date | None
    admission_info_on_time: bool | None
    first_coordination_at: TokyoDatetime | None
    discharged_at: TokyoDatetime | None
    destination: str | None
    eligible: bool | None
    coordinated: bool | None
    missed: bool | None
    coordination_lead_days: int | None
    events: list[EpisodeEvent]
    flags: list[EpisodeFlag]
