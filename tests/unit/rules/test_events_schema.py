"""Incoming event validation: shapes, constrained codes and the discriminated union."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any, get_args
from uuid import UUID

import pytest
from pydantic import ValidationError

from shared.events.checks import named_organizations
from shared.rules.events import (
    CARE_OFFICE_TYPES,
    EVENT_ADAPTER,
    HOSPITAL_ONLY_TYPES,
    AdmissionEvent,
    AdmissionInfoEvent,
    CancelEvent,
    CareAssignmentEvent,
    DischargeConferenceEvent,
    DischargeCoordinationEvent,
    DischargeEvent,
    DischargePlannedEvent,
    EventType,
    NoCmReferralEvent,
    ScopeExclusionEvent,
    StayUpdateEvent,
)

ENVELOPE: dict[str, Any] = {
    "event_id": "1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b",
    "occurred_at": "2024-06-03T10:15:00+09:00",
    "hospital_id": "4610000001",
    "encounter_ref": "A-2024-000123",
}
PATIENT = {"insurer_number": "462010", "insured_number": "0000123456"}
CANCELLED_ID = "2b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b"

BODIES: dict[str, tuple[dict[str, Any], type]] = {
    "admission": (
        {
            "patient": PATIENT,
            "care_level": "care_2",
            "ward_type": "general",
            "care_office_id": "4670000001",
        },
        AdmissionEvent,
    ),
    "stay_update": ({"care_level": "care_3"}, StayUpdateEvent),
    "admission_info": ({"care_office_id": "4670000001", "channel": "fax"}, AdmissionInfoEvent),
    "care_assignment": ({"care_office_id": "4670000001"}, CareAssignmentEvent),
    "discharge_planned": ({"planned_discharge_date": "2024-06-20"}, DischargePlannedEvent),
    "discharge_coordination": (
        {"to_org_id": "4670000001", "channel": "ict"},
        DischargeCoordinationEvent,
    ),
    "discharge_conference": (
        {"participant_org_ids": ["4610000001", "4670000001"]},
        DischargeConferenceEvent,
    ),
    "no_cm_referral": ({"to_org_id": "SC-462010"}, NoCmReferralEvent),
    "discharge": ({"destination": "home"}, DischargeEvent),
    "scope_exclusion": (
        {"reason": "respite", "note": "レスパイト入院\n2週間"},
        ScopeExclusionEvent,
    ),
    "cancel": ({"cancels_event_id": CANCELLED_ID}, CancelEvent),
}


def body(type_: str, **overrides: Any) -> dict[str, Any]:
    data = {**ENVELOPE, "type": type_, **BODIES[type_][0]}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not ...}


def invalid(data: dict[str, Any]) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        EVENT_ADAPTER.validate_json(json.dumps(data))
    return info.value


@pytest.mark.parametrize("type_", sorted(BODIES))
def test_each_event_type_parses_to_its_own_class(type_: str) -> None:
    event = EVENT_ADAPTER.validate_json(json.dumps(body(type_)))
    assert isinstance(event, BODIES[type_][1])
    assert event.type == type_
    assert event.event_id == UUID(ENVELOPE["event_id"])


def test_every_event_type_has_a_class() -> None:
    assert set(get_args(EventType)) == set(BODIES)


def test_hospital_only_and_care_office_types_partition_all_types() -> None:
    assert set(get_args(EventType)) == HOSPITAL_ONLY_TYPES | CARE_OFFICE_TYPES
    assert not HOSPITAL_ONLY_TYPES & CARE_OFFICE_TYPES
    assert "admission_info" in CARE_OFFICE_TYPES
    assert "discharge" in HOSPITAL_ONLY_TYPES


def test_admission_example_from_api_doc_keeps_its_fields() -> None:
    event = EVENT_ADAPTER.validate_json(json.dumps(body("admission")))
    assert isinstance(event, AdmissionEvent)
    assert event.patient.insurer_number == "462010"
    assert event.care_office_id == "4670000001"
    assert event.planned_discharge_date is None
    assert event.occurred_at == datetime(2024, 6, 3, 1, 15, tzinfo=UTC)


def test_admission_care_office_may_be_null_or_absent() -> None:
    null = EVENT_ADAPTER.validate_python(body("admission", care_office_id=None))
    absent = EVENT_ADAPTER.validate_python(body("admission", care_office_id=...))
    assert isinstance(null, AdmissionEvent)
    assert null.care_office_id is None
    assert isinstance(absent, AdmissionEvent)
    assert absent.care_office_id is None


def test_admission_without_patient_is_rejected() -> None:
    error = invalid(body("admission", patient=...))
    assert error.errors()[0]["loc"][-1] == "patient"


def test_admission_with_only_the_hospital_patient_id_is_accepted() -> None:
    event = EVENT_ADAPTER.validate_python(
        body("admission", patient={"hospital_patient_id": "P-0001 23"})
    )
    assert isinstance(event, AdmissionEvent)
    assert event.patient.hospital_patient_id == "P-0001 23"
    assert event.patient.insured_number is None


@pytest.mark.parametrize(
    "patient", [{}, {"insurer_number": "462010"}, {"display_name": "山田", "insured_number": None}]
)
def test_admission_patient_without_insured_number_or_patient_id_names_the_patient(
    patient: dict[str, Any],
) -> None:
    error = invalid(body("admission", patient=patient))
    assert [e["loc"] for e in error.errors()] == [("admission", "patient")]


@pytest.mark.parametrize("patient_id", ["", "x" * 65, "P\x001", "P\n1", "P\u202e1"])
def test_hospital_patient_id_must_be_1_to_64_printable_characters(patient_id: str) -> None:
    error = invalid(body("admission", patient={"hospital_patient_id": patient_id}))
    assert error.errors()[0]["loc"][-1] == "hospital_patient_id"


def test_admission_care_level_and_ward_type_may_be_absent_or_null() -> None:
    absent = EVENT_ADAPTER.validate_python(body("admission", care_level=..., ward_type=...))
    null = EVENT_ADAPTER.validate_python(body("admission", care_level=None, ward_type=None))
    for event in (absent, null):
        assert isinstance(event, AdmissionEvent)
        assert (event.care_level, event.ward_type) == (None, None)


@pytest.mark.parametrize(
    "fields",
    [
        {"patient": {"insurer_number": "462010"}},
        {"patient": {"display_name": "山田　花子"}},
        {"care_level": "support_1"},
        {"ward_type": "recovery_rehab"},
        {"patient": {"hospital_patient_id": "P1"}, "care_level": "none", "ward_type": "other"},
    ],
)
def test_stay_update_may_set_any_of_patient_care_level_and_ward_type(
    fields: dict[str, Any],
) -> None:
    event = EVENT_ADAPTER.validate_python({**ENVELOPE, "type": "stay_update", **fields})
    assert isinstance(event, StayUpdateEvent)


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"patient": {}},
        {"patient": {"insurer_number": None}, "care_level": None, "ward_type": None},
    ],
)
def test_stay_update_that_sets_nothing_is_rejected(fields: dict[str, Any]) -> None:
    error = invalid({**ENVELOPE, "type": "stay_update", **fields})
    assert "must set" in error.errors()[0]["msg"]


def test_stay_update_is_a_hospital_only_type() -> None:
    assert "stay_update" in HOSPITAL_ONLY_TYPES


def test_patient_is_optional_on_other_events() -> None:
    with_patient = EVENT_ADAPTER.validate_python(body("discharge", patient=PATIENT))
    assert with_patient.patient is not None
    assert with_patient.patient.insured_number == "0000123456"
    assert EVENT_ADAPTER.validate_python(body("discharge")).patient is None


def test_planned_discharge_date_parses_as_a_date() -> None:
    event = EVENT_ADAPTER.validate_python(body("discharge_planned"))
    assert isinstance(event, DischargePlannedEvent)
    assert event.planned_discharge_date == date(2024, 6, 20)


@pytest.mark.parametrize(
    "occurred_at",
    ["2024-06-03T10:15:00", "2024-06-03", 1717377300, "1717377300", "yesterday"],
)
def test_timestamp_without_offset_or_not_rfc3339_is_rejected(occurred_at: Any) -> None:
    error = invalid(body("discharge", occurred_at=occurred_at))
    assert error.errors()[0]["loc"][-1] == "occurred_at"


@pytest.mark.parametrize(
    ("occurred_at", "ok"),
    [
        ("2000-01-01T00:00:00+09:00", True),
        ("1999-12-31T15:00:00Z", True),
        ("1999-12-31T23:59:59+09:00", False),
        ("1999-12-31T14:59:59Z", False),
    ],
)
def test_occurred_at_must_not_be_before_2000_tokyo(occurred_at: str, ok: bool) -> None:
    data = body("discharge", occurred_at=occurred_at)
    if ok:
        assert EVENT_ADAPTER.validate_python(data).occurred_at.year in (1999, 2000)
    else:
        invalid(data)


@pytest.mark.parametrize("date_value", ["2024/06/20", 1718841600, "20240620"])
def test_planned_discharge_date_must_be_iso_text(date_value: Any) -> None:
    invalid(body("discharge_planned", planned_discharge_date=date_value))


def test_unknown_type_is_rejected() -> None:
    invalid({**ENVELOPE, "type": "transfer"})


def test_unknown_field_is_rejected() -> None:
    invalid(body("discharge", ward="3F"))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("hospital_id", ""),
        ("hospital_id", "a" * 33),
        ("hospital_id", "46100 00001"),
        ("hospital_id", "病院"),
        ("encounter_ref", ""),
        ("encounter_ref", "x" * 65),
        ("encounter_ref", "A\x00B"),
        ("encounter_ref", "A\nB"),
        ("encounter_ref", "A\u202eB"),
        ("event_id", "not-a-uuid"),
    ],
)
def test_envelope_codes_out_of_format_are_rejected(field: str, value: str) -> None:
    invalid(body("discharge", **{field: value}))


def test_envelope_codes_at_their_limits_are_accepted() -> None:
    event = EVENT_ADAPTER.validate_python(
        body("discharge", hospital_id="A_b-9" + "0" * 27, encounter_ref="入院 #" + "9" * 60)
    )
    assert len(event.hospital_id) == 32
    assert len(event.encounter_ref) == 64


@pytest.mark.parametrize(
    "patient",
    [
        {"insurer_number": "46201", "insured_number": "0000123456"},
        {"insurer_number": "4620100", "insured_number": "0000123456"},
        {"insurer_number": "４６２０１０", "insured_number": "0000123456"},
        {"insurer_number": "462010", "insured_number": "000012345"},
        {"insurer_number": "462010", "insured_number": "000012345a"},
        {"insurer_number": "462010", "insured_number": "0000123456", "display_name": "a\x07"},
        {"insurer_number": "462010", "insured_number": "0000123456", "display_name": "a" * 101},
        {"insurer_number": "462010", "insured_number": "0000123456", "birth": "1940-01-01"},
    ],
)
def test_patient_out_of_format_is_rejected(patient: dict[str, str]) -> None:
    invalid(body("admission", patient=patient))


def test_patient_name_may_contain_a_full_width_space() -> None:
    patient = {**PATIENT, "display_name": "山田　花子"}
    event = EVENT_ADAPTER.validate_python(body("admission", patient=patient))
    assert event.patient is not None
    assert event.patient.display_name == "山田　花子"


def test_validation_messages_do_not_echo_personal_data() -> None:
    secret = "0000123456\x07"
    error = invalid(body("admission", patient={**PATIENT, "display_name": secret}))
    assert all(secret not in e["msg"] for e in error.errors())


@pytest.mark.parametrize(
    ("type_", "field", "value"),
    [
        ("admission", "care_level", "care_6"),
        ("admission", "ward_type", "icu"),
        ("stay_update", "care_level", "care_6"),
        ("stay_update", "ward_type", "icu"),
        ("admission_info", "channel", "email"),
        ("admission_info", "care_office_id", None),
        ("discharge", "destination", "nursing_home"),
        ("scope_exclusion", "reason", "vip"),
        ("scope_exclusion", "note", "x" * 1001),
        ("scope_exclusion", "note", "bad\x1bnote"),
        ("discharge_conference", "participant_org_ids", []),
        ("discharge_conference", "participant_org_ids", [f"O{i}" for i in range(51)]),
        ("discharge_conference", "participant_org_ids", ["bad id"]),
        ("discharge_coordination", "to_org_id", ...),
        ("cancel", "cancels_event_id", "nope"),
    ],
)
def test_type_specific_fields_are_validated(type_: str, field: str, value: Any) -> None:
    invalid(body(type_, **{field: value}))


def test_events_are_immutable() -> None:
    event = EVENT_ADAPTER.validate_python(body("discharge"))
    assert isinstance(event, DischargeEvent)
    with pytest.raises(ValidationError):
        event.destination = "death"  # type: ignore[misc]
    assert event.destination == "home"


@pytest.mark.parametrize(
    ("type_", "expected"),
    [
        ("admission", {"4610000001", "4670000001"}),
        ("admission_info", {"4610000001", "4670000001"}),
        ("care_assignment", {"4610000001", "4670000001"}),
        ("stay_update", {"4610000001"}),
        ("discharge_planned", {"4610000001"}),
        ("discharge_coordination", {"4610000001", "4670000001"}),
        ("discharge_conference", {"4610000001", "4670000001"}),
        ("no_cm_referral", {"4610000001", "SC-462010"}),
        ("discharge", {"4610000001"}),
        ("scope_exclusion", {"4610000001"}),
        ("cancel", {"4610000001"}),
    ],
)
def test_ingestion_checks_every_organization_an_event_names(type_: str, expected: set[str]) -> None:
    assert named_organizations(EVENT_ADAPTER.validate_python(body(type_))).keys() == expected


def test_an_unknown_admission_office_is_not_checked() -> None:
    event = EVENT_ADAPTER.validate_python(body("admission", care_office_id=None))
    assert named_organizations(event).keys() == {"4610000001"}
