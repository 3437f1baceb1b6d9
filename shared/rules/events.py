"""Incoming handover events (入退院支援の連絡記録): one pydantic model per event type."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Annotated, Final, Literal, get_args
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    TypeAdapter,
    model_validator,
)

from shared.rules.bounds import BoundedDate, BoundedTimestamp

_CONTROL_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})


def _printable(value: str) -> str:
    """Encounter refs are echoed in lists and CSVs, so only printable characters are allowed."""
    if not value.isprintable():
        raise ValueError("must contain printable characters only")
    return value


def _no_control_chars(value: str) -> str:
    """Names may hold a full-width space but never control or format characters."""
    if any(unicodedata.category(ch) in _CONTROL_CATEGORIES for ch in value):
        raise ValueError("must not contain control characters")
    return value


def _no_control_chars_note(value: str) -> str:
    """A free-text note may span lines but holds no other control characters."""
    _no_control_chars(value.replace("\n", "").replace("\r", "").replace("\t", ""))
    return value


def _excluded_class(categories: frozenset[str], extra: str = "") -> str:
    """A regex class of the Basic Multilingual Plane's characters in these categories, as
    ``\\uXXXX`` ranges (property escapes are not drawable by the tools that read the document)."""
    ranges: list[tuple[int, int]] = []
    for code in range(0x10000):
        if unicodedata.category(chr(code)) in categories:
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    spelled = "".join(f"\\u{a:04x}" if a == b else f"\\u{a:04x}-\\u{b:04x}" for a, b in ranges)
    return f"[^{spelled}{extra}]"


# The same rules as JSON Schema patterns, so the document says what the validators refuse and
# generated clients never send it (characters past U+FFFF, unassigned ones and lone surrogates,
# which no JSON text carries, only the validators check).
_SCHEMA_CATEGORIES: Final = _CONTROL_CATEGORIES - {"Cs"}
_NO_CONTROL_CLASS: Final = _excluded_class(_SCHEMA_CATEGORIES)
_SPACES_BUT_SPACE: Final = "\\u00a0\\u1680\\u2000-\\u200a\\u202f\\u205f\\u3000"
PRINTABLE_SCHEMA: Final = Field(
    json_schema_extra={"pattern": f"^{_excluded_class(_SCHEMA_CATEGORIES, _SPACES_BUT_SPACE)}*$"}
)
NO_CONTROL_SCHEMA: Final = Field(json_schema_extra={"pattern": f"^{_NO_CONTROL_CLASS}*$"})
NOTE_SCHEMA: Final = Field(json_schema_extra={"pattern": f"^(?:{_NO_CONTROL_CLASS}|[\\t\\n\\r])*$"})
OrgId = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
EncounterRef = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    AfterValidator(_printable),
    PRINTABLE_SCHEMA,
]
HospitalPatientId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64),
    AfterValidator(_printable),
    PRINTABLE_SCHEMA,
]
DisplayName = Annotated[
    str, StringConstraints(max_length=100), AfterValidator(_no_control_chars), NO_CONTROL_SCHEMA
]
Note = Annotated[
    str, StringConstraints(max_length=1000), AfterValidator(_no_control_chars_note), NOTE_SCHEMA
]
# Bounded as domain.md says (2000-01-01 … now + 24 h; dates … today + 3 years): schemas/bounds.py.
OccurredAt = BoundedTimestamp
EventDate = BoundedDate

CareLevel = Literal[
    "support_1",
    "support_2",
    "care_1",
    "care_2",
    "care_3",
    "care_4",
    "care_5",
    "applying",
    "none",
    "unknown",
]
WardType = Literal[
    "general", "recovery_rehab", "community_care", "long_term", "psychiatric", "other"
]
Channel = Literal["fax", "phone", "visit", "mail", "ict"]
Destination = Literal["home", "residential_care", "other_hospital", "death", "other"]
ExclusionReason = Literal["respite", "short_test_stay", "other"]
EventType = Literal[
    "admission",
    "stay_update",
    "admission_info",
    "care_assignment",
    "discharge_planned",
    "discharge_coordination",
    "discharge_conference",
    "no_cm_referral",
    "discharge",
    "scope_exclusion",
    "cancel",
]

TYPE_DESCRIPTION: Final = "The event type: it selects which fields the event carries"
CHANNEL_DESCRIPTION: Final = "How it was given: fax, phone, visit, mail or ict"

EVENT_TYPES: Final[frozenset[str]] = frozenset(get_args(EventType))
HOSPITAL_ONLY_TYPES: Final[frozenset[EventType]] = frozenset(
    {
        "admission",
        "stay_update",
        "discharge_planned",
        "discharge_coordination",
        "discharge_conference",
        "no_cm_referral",
        "discharge",
        "scope_exclusion",
    }
)
CARE_OFFICE_TYPES: Final[frozenset[EventType]] = frozenset(
    {"admission_info", "care_assignment", "cancel"}
)


ADMISSION_EXAMPLE: Final[dict[str, JsonValue]] = {
    "event_id": "1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b",
    "type": "admission",
    "occurred_at": "2024-06-03T10:15:00+09:00",
    "hospital_id": "4610000001",
    "encounter_ref": "A-2024-000123",
    "patient": {"insurer_number": "462010", "insured_number": "0000123456"},
    "care_level": "care_2",
    "ward_type": "general",
    "care_office_id": "4670000001",
}
# An A08 as a hospital information system sends it: the MSW has recorded the 介護保険 numbers
# and the care level of a patient admitted under the hospital's own patient ID.
STAY_UPDATE_EXAMPLE: Final[dict[str, JsonValue]] = {
    "event_id": "3c4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b",
    "type": "stay_update",
    "occurred_at": "2024-06-04T14:00:00+09:00",
    "hospital_id": "4610000001",
    "encounter_ref": "A-2024-000123",
    "patient": {"insurer_number": "462010", "insured_number": "0000123456"},
    "care_level": "care_2",
}


class Patient(BaseModel):
    """Personal data of the patient (被保険者): shown only to the episode's parties.

    Every field is optional: an episode's patient is assembled field by field from its admission
    and stay updates (a hospital system knows its patient ID before anyone types the 介護保険
    numbers).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    insurer_number: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")] | None = Field(
        default=None, description="保険者番号: the municipality's 6-digit insurer number"
    )
    insured_number: Annotated[str, StringConstraints(pattern=r"^[0-9]{10}$")] | None = Field(
        default=None, description="被保険者番号: the 10-digit long-term care insured number"
    )
    display_name: DisplayName | None = Field(
        default=None, description="The name staff know the patient by (optional)"
    )
    hospital_patient_id: HospitalPatientId | None = Field(
        default=None,
        description="The hospital's own patient ID (HL7 v2 PID-3): 1-64 printable characters",
    )

    def sets_anything(self) -> bool:
        """True when at least one field has a value (absent and null set nothing)."""
        return any(getattr(self, name) is not None for name in type(self).model_fields)


def _identifies_patient(patient: Patient) -> Patient:
    """An admission must say who was admitted: the 被保険者番号 or the hospital's patient ID."""
    if patient.insured_number is None and patient.hospital_patient_id is None:
        raise ValueError("an admission's patient must carry insured_number or hospital_patient_id")
    return patient


class EventBase(BaseModel):
    """Envelope shared by every event: who, which stay, and when it happened."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: UUID = Field(
        description="Chosen by the sender, unique per event: a resend with the same id and body"
        " is a duplicate (200), with another body a conflict (409)"
    )
    occurred_at: OccurredAt = Field(
        description="When it happened: RFC 3339 with an offset, from 2000-01-01 to now + 24 h"
    )
    hospital_id: OrgId = Field(description="The hospital of the stay (its organization id)")
    encounter_ref: EncounterRef = Field(
        description="The hospital's own number for the stay (入院番号): with hospital_id it names"
        " the episode"
    )
    patient: Patient | None = Field(
        default=None,
        description="The patient; required on an admission (with insured_number or"
        " hospital_patient_id), set by a stay_update, ignored on other events",
    )


class AdmissionEvent(EventBase):
    """入院: the patient was admitted (HL7 v2 A01)."""

    model_config = ConfigDict(json_schema_extra={"examples": [ADMISSION_EXAMPLE]})

    type: Literal["admission"] = Field(description=TYPE_DESCRIPTION)
    patient: Annotated[Patient, AfterValidator(_identifies_patient)] = Field(
        description="Who was admitted: insured_number or hospital_patient_id is required"
    )
    care_level: CareLevel | None = Field(
        default=None,
        description="Absent or null: unknown (a stay update may set it later)",
    )
    ward_type: WardType | None = Field(
        default=None, description="Absent or null: not known (a stay update may set it later)"
    )
    care_office_id: OrgId | None = Field(
        default=None,
        description="The patient's care office (居宅介護支援事業所) when known at admission; it"
        " becomes a party to the episode. Null when unknown",
    )
    planned_discharge_date: EventDate | None = Field(
        default=None, description="The planned discharge date, if already known"
    )


class StayUpdateEvent(EventBase):
    """Facts about the patient or stay learnt after the admission (HL7 v2 A08).

    The MSW records the care level or the 介護保険 numbers; each field it sets replaces the
    episode's value, field by field, if it is the latest (by occurred_at) to set it.
    """

    model_config = ConfigDict(json_schema_extra={"examples": [STAY_UPDATE_EXAMPLE]})

    type: Literal["stay_update"] = Field(description=TYPE_DESCRIPTION)
    patient: Patient | None = Field(
        default=None, description="Any of the patient's fields; those absent or null are kept"
    )
    care_level: CareLevel | None = Field(
        default=None, description="The care level (要介護度) learnt since; absent or null: kept"
    )
    ward_type: WardType | None = Field(
        default=None, description="The ward the patient is in now; absent or null: kept"
    )

    @model_validator(mode="after")
    def _sets_something(self) -> StayUpdateEvent:
        """An update that sets nothing is a client mistake, not a no-op worth storing."""
        if (
            (self.patient is None or not self.patient.sets_anything())
            and self.care_level is None
            and self.ward_type is None
        ):
            raise ValueError("a stay_update must set patient fields, care_level or ward_type")
        return self


class AdmissionInfoEvent(EventBase):
    """入院時情報提供: the care manager gave the hospital the admission information."""

    type: Literal["admission_info"] = Field(description=TYPE_DESCRIPTION)
    care_office_id: OrgId = Field(description="The care office that gave the information")
    channel: Channel = Field(description=CHANNEL_DESCRIPTION)


class CareAssignmentEvent(EventBase):
    """A care manager (ケアマネジャー) became responsible: new assignment or change."""

    type: Literal["care_assignment"] = Field(description=TYPE_DESCRIPTION)
    care_office_id: OrgId = Field(
        description="The care office now responsible; it becomes a party when the hospital or a"
        " party office posts this"
    )


class DischargePlannedEvent(EventBase):
    """退院予定日: a planned discharge date was set or changed (A16)."""

    type: Literal["discharge_planned"] = Field(description=TYPE_DESCRIPTION)
    planned_discharge_date: EventDate = Field(
        description="The planned discharge date: from 2000-01-01 to today + 3 years"
    )


class DischargeCoordinationEvent(EventBase):
    """退院調整: the hospital contacted the care office about the discharge."""

    type: Literal["discharge_coordination"] = Field(description=TYPE_DESCRIPTION)
    to_org_id: OrgId = Field(
        description="The care office or support centre contacted; it becomes a party"
    )
    channel: Channel = Field(description=CHANNEL_DESCRIPTION)
    planned_discharge_date: EventDate | None = Field(
        default=None, description="The planned discharge date told in the contact, if any"
    )


class DischargeConferenceEvent(EventBase):
    """退院前カンファレンス held; it also counts as coordination."""

    type: Literal["discharge_conference"] = Field(description=TYPE_DESCRIPTION)
    participant_org_ids: Annotated[list[OrgId], Field(min_length=1, max_length=50)] = Field(
        description="The organizations that took part (1-50); each becomes a party"
    )


class NoCmReferralEvent(EventBase):
    """No care manager: referred to 地域包括支援センター or the city; counts as coordination."""

    type: Literal["no_cm_referral"] = Field(description=TYPE_DESCRIPTION)
    to_org_id: OrgId = Field(
        description="The 地域包括支援センター or municipality referred to; it becomes a party"
    )


class DischargeEvent(EventBase):
    """退院: the patient left (A03)."""

    type: Literal["discharge"] = Field(description=TYPE_DESCRIPTION)
    destination: Destination = Field(
        description="Where the patient went; the rule set says which destinations are out of"
        " scope (by default other_hospital and death)"
    )


class ScopeExclusionEvent(EventBase):
    """対象外: the stay is outside the rule (respite, short test admission)."""

    type: Literal["scope_exclusion"] = Field(description=TYPE_DESCRIPTION)
    reason: ExclusionReason = Field(description="Why the stay is outside the rule")
    note: Note | None = Field(
        default=None,
        description="Free text for the record (up to 1000 characters, no control characters"
        " other than line breaks and tabs)",
    )


class CancelEvent(EventBase):
    """取消: an event entered in error stops counting (A11 / A13)."""

    type: Literal["cancel"] = Field(description=TYPE_DESCRIPTION)
    cancels_event_id: UUID = Field(
        description="The event_id of the event entered in error, posted by the same party"
    )


Event = Annotated[
    AdmissionEvent
    | StayUpdateEvent
    | AdmissionInfoEvent
    | CareAssignmentEvent
    | DischargePlannedEvent
    | DischargeCoordinationEvent
    | DischargeConferenceEvent
    | NoCmReferralEvent
    | DischargeEvent
    | ScopeExclusionEvent
    | CancelEvent,
    Field(discriminator="type", examples=[ADMISSION_EXAMPLE, STAY_UPDATE_EXAMPLE]),
]
EVENT_ADAPTER: Final[TypeAdapter[Event]] = TypeAdapter(Event)


# The poster recorded for an admin key's events, whatever its organization: the operator acts
# for the hospital (its assignments name parties), never as one of the offices.
ADMIN_POSTER: Final = "admin"
# The labels the service itself records where an organization id goes (an event's poster):
# no organization may be registered, nor hold a key, under one, in any letter case.
RESERVED_ORG_IDS: Final = frozenset({ADMIN_POSTER})


def reserved_org_id(value: str) -> bool:
    """The id is one of the service's own labels (``admin``), whatever its letter case."""
    return value.lower() in RESERVED_ORG_IDS


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """A stored event with its arrival order (ties in occurred_at are broken by seq).

    ``poster_org_id``: the posting key's organization, or ``ADMIN_POSTER`` for an admin key.
    """

    event: Event
    seq: int
    poster_org_id: str
