"""Work lists and flags as parties see them (api.md, Work lists)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Final, Literal, Protocol

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_serializer,
)

from shared.rules.events import NOTE_SCHEMA, Patient, _no_control_chars_note
from shared.rules.timestamps import TokyoDatetime
from shared.rules.work_items import StayFacts, WorkItem, WorkKind

PendingKind = WorkKind
# Why an item is on the list: a short code to switch on; `detail` says it in words.
PendingReason = Literal[
    "admission_info_due_after_admission",
    "client_discharge_planned",
    "coordination_due_before_planned_discharge",
    "care_level_without_care_office",
    "missed_discharge_coordination",
]
REASONS: Final[dict[WorkKind, PendingReason]] = {
    "admission_info": "admission_info_due_after_admission",
    "discharge_planned": "client_discharge_planned",
    "discharge_coordination": "coordination_due_before_planned_discharge",
    "care_office_unknown": "care_level_without_care_office",
    "open_flag": "missed_discharge_coordination",
}
PATIENT_FIELDS: Final = tuple(Patient.model_fields)


def _absent(value: object) -> bool:
    """A patient field the stay does not have is left out of the item, never null."""
    return value is None


class PendingItem(BaseModel):
    """One thing the caller's organization has to do now, why, and by when.

    The patient fields are the item's own (``insured_number``, …) and ``patient``'s; a field
    the stay does not have is absent from both, never null or the text ``None``.
    """

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
    overdue: bool = Field(description="Today's local date is after due_date")
    insurer_number: str | None = Field(
        default=None, exclude_if=_absent, description="保険者番号 (absent: unknown)"
    )
    insured_number: str | None = Field(
        default=None, exclude_if=_absent, description="被保険者番号 (absent: unknown)"
    )
    display_name: str | None = Field(
        default=None, exclude_if=_absent, description="The patient's name (absent: unknown)"
    )
    hospital_patient_id: str | None = Field(
        default=None, exclude_if=_absent, description="The hospital's patient ID (absent: unknown)"
    )
    patient: Patient | None = Field(description="The patient fields known for the stay")
    care_office_id: str | None = Field(description="The care office responsible now")
    care_office_name: str | None = Field(
        default=None, description="The responsible care office's registered name"
    )
    planned_discharge_date: date | None = Field(
        default=None, description="The planned discharge date, when one is set"
    )
    coordination_received: bool | None = Field(
        default=None,
        description="`discharge_planned`: whether the hospital's 退院調整 (coordination) "
        "was received",
    )
    flag_id: uuid.UUID | None = Field(
        default=None, description="For `open_flag`: the flag that keeps the stay listed"
    )

    @field_serializer("patient")
    def _present_fields_only(self, patient: Patient | None) -> dict[str, str] | None:
        """The nested patient too carries only the fields the stay has."""
        return None if patient is None else patient.model_dump(exclude_none=True)


def _detail(item: WorkItem, planned: date | None, lead: int) -> str:
    due = item.due_date
    late = f"; overdue since {due}" if item.overdue else ""
    if item.kind == "admission_info":
        return f"Admission information (入院時情報提供) is due by {due}{late}"
    if item.kind == "discharge_planned":
        received = "has been received" if item.coordination_received else "has not been received"
        return f"Discharge planned for {due}; the hospital's coordination (退院調整) {received}"
    if item.kind == "discharge_coordination":
        return (
            f"Coordination (退院調整) is due by {due}, {lead} days before the planned "
            f"discharge {planned}{late}"
        )
    if item.kind == "care_office_unknown":
        return (
            "A care level is recorded but no care office is known: post a care_assignment, "
            "or refer the patient (no_cm_referral)"
        )
    return (
        f"Discharged on {due} with no discharge coordination (退院調整漏れ): check that home "
        "care services are in place; listed until the flag clears or is acknowledged"
    )


class ListedStay(Protocol):
    """What a list reads of a stay (an ``Episode`` or a row of those columns)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def hospital_id(self) -> str: ...
    @property
    def encounter_ref(self) -> str: ...
    @property
    def state(self) -> dict[str, Any]: ...


def pending_items(
    episode: ListedStay, facts: StayFacts, items: list[WorkItem], flag_id: uuid.UUID | None
) -> list[PendingItem]:
    """A stay's items as the API shows them (names are added by the list).

    The patient is validated once per stay, not once per item (a validated ``Patient`` is
    not validated again by the item).
    """
    raw = episode.state.get("patient")
    patient = Patient.model_validate(raw) if raw else None
    fields = {n: getattr(patient, n) for n in PATIENT_FIELDS} if patient else {}
    return [
        PendingItem(
            episode_id=episode.id,
            hospital_id=episode.hospital_id,
            hospital_name=None,
            encounter_ref=episode.encounter_ref,
            kind=item.kind,
            reason=REASONS[item.kind],
            detail=_detail(item, facts.planned_discharge_date, facts.discharge_notice_lead_days),
            due_date=item.due_date,
            overdue=item.overdue,
            patient=patient,
            care_office_id=facts.responsible_office_id,
            care_office_name=None,
            planned_discharge_date=facts.planned_discharge_date,
            coordination_received=item.coordination_received,
            flag_id=flag_id if item.kind == "open_flag" else None,
            **{n: fields.get(n) for n in PATIENT_FIELDS},
        )
        for item in items
    ]


def _day(value: Any) -> date | None:
    return None if value is None else date.fromisoformat(str(value))


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
