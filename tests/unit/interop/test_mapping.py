"""Every trigger of the table in api.md, the field fallbacks, and AE/AR reasons."""

from __future__ import annotations

import uuid
from typing import Literal

import pytest

from shared.interop.hl7v2.mapping import (
    HL7V2_EVENT_NAMESPACE,
    CancelIntent,
    EpisodeLookup,
    Events,
    NoEvent,
    Outcome,
    Problem,
    event_id,
    map_adt,
)
from shared.interop.hl7v2.parse import Parsed, ParseError, parse
from shared.interop.hl7v2_service import receive
from tests.unit.interop.helpers import HOSPITAL, adt, fixture, map_received


def outcome_of(text: str, encounter_ref: str | None = None) -> Outcome:
    parsed = parse(text)
    assert isinstance(parsed, Parsed), parsed
    return map_adt(parsed, HOSPITAL, encounter_ref).outcome


def only_event(outcome: Outcome) -> dict[str, object]:
    assert isinstance(outcome, Events), outcome
    assert len(outcome.events) == 1
    return outcome.events[0]


def test_namespace_is_the_documented_constant() -> None:
    assert uuid.uuid5(uuid.NAMESPACE_URL, "urn:handover:interop:hl7v2") == HL7V2_EVENT_NAMESPACE


# --- published samples ---------------------------------------------------------------------


def test_ssmix2_admission_sample_maps_to_an_admission_keyed_by_patient_and_date() -> None:
    # SS-MIX2 spec ADT-22 example (via yuakagi/ssmixtwins), ISO-2022-JP bytes, no PV1-19.
    received = receive(fixture("hl7v2", "ssmix2_adt22_a01.hl7"))
    mapping = map_received(received, HOSPITAL)
    assert mapping is not None
    event = only_event(mapping.outcome)
    assert event == {
        "event_id": event_id(HOSPITAL, "20111220000001", "A01", "9999013-20111120"),
        "type": "admission",
        "occurred_at": "2011-11-20T16:00:00+09:00",
        "hospital_id": HOSPITAL,
        "encounter_ref": "9999013-20111120",
        "patient": {"hospital_patient_id": "9999013", "display_name": "患者 太郎"},
    }


def test_ssmix2_discharge_sample_needs_the_stay_lookup_then_maps_home() -> None:
    # SS-MIX2 spec ADT-52 example: neither PV1-19 nor PV1-44, PV1-36 = 01, PV1-45 set.
    received = receive(fixture("hl7v2", "ssmix2_adt52_a03.hl7"))
    first = map_received(received, HOSPITAL)
    assert first is not None
    assert first.outcome == EpisodeLookup("9999013", "open")
    second = map_received(received, HOSPITAL, "9999013-20111120")
    assert second is not None
    event = only_event(second.outcome)
    assert event["type"] == "discharge"
    assert event["destination"] == "home"
    assert event["occurred_at"] == "2011-12-20T12:00:00+09:00"
    assert event["encounter_ref"] == "9999013-20111120"
    assert first.fingerprint == second.fingerprint


def test_wikipedia_admission_sample_without_visit_number() -> None:
    # Wikipedia "Health Level 7" ADT^A01 example: PV1-19 empty, PV1-44 = 200605290900.
    mapping = map_received(receive(fixture("hl7v2", "wikipedia_adt_a01.hl7")), HOSPITAL)
    assert mapping is not None
    event = only_event(mapping.outcome)
    assert event["encounter_ref"] == "56782445-20060529"
    assert event["occurred_at"] == "2006-05-29T09:00:00+09:00"
    assert event["patient"] == {
        "hospital_patient_id": "56782445",
        "display_name": "KLEINSAMPLE BARRY",
    }


def test_vendor_discharge_sample_with_visit_number_and_offset() -> None:
    # microsoft/FHIR-Converter data/SampleData/Hl7v2/ADT-A03-01.hl7 (v2.8, LF terminators).
    mapping = map_received(receive(fixture("hl7v2", "fhir_converter_adt_a03_01.hl7")), HOSPITAL)
    assert mapping is not None
    event = only_event(mapping.outcome)
    assert event["encounter_ref"] == "40007716"
    assert event["occurred_at"] == "2015-02-09T11:34:19+01:10"
    assert event["destination"] == "other"  # PV1-36 is free text there


# --- triggers ------------------------------------------------------------------------------


@pytest.mark.parametrize("trigger", ["A01", "A04"])
def test_admission_triggers(trigger: str) -> None:
    text = adt(trigger, pv1_fields={2: "I", 19: "V100", 44: "202406030900"})
    event = only_event(outcome_of(text))
    assert event["type"] == "admission"
    assert event["encounter_ref"] == "V100"
    assert event["occurred_at"] == "2024-06-03T09:00:00+09:00"
    assert event["event_id"] == event_id(HOSPITAL, "MSG0001", trigger, "V100")


@pytest.mark.parametrize(
    ("evn", "msh7", "expected"),
    [
        ("EVN||202406031015||||202406030800", "20240603102000", "2024-06-03T08:00:00+09:00"),
        ("EVN||202406031015", "20240603102000", "2024-06-03T10:15:00+09:00"),
        ("EVN|A01", "20240603102000", "2024-06-03T10:20:00+09:00"),
    ],
)
def test_admission_time_falls_back_evn6_evn2_msh7(evn: str, msh7: str, expected: str) -> None:
    event = only_event(outcome_of(adt("A01", evn=evn, msh7=msh7, pv1_fields={2: "I", 19: "V1"})))
    assert event["occurred_at"] == expected


def test_admission_without_visit_number_uses_patient_and_admission_date() -> None:
    event = only_event(outcome_of(adt("A01", pv1_fields={2: "I", 44: "202406031600-0500"})))
    assert event["encounter_ref"] == "P12345-20240604"  # the Tokyo date of the admission


def test_discharge_uses_pv1_45_then_evn() -> None:
    with_45 = adt("A03", pv1_fields={19: "V1", 36: "01", 45: "202406101000"})
    assert only_event(outcome_of(with_45))["occurred_at"] == "2024-06-10T10:00:00+09:00"
    without = adt("A03", pv1_fields={19: "V1", 36: "01"})
    assert only_event(outcome_of(without))["occurred_at"] == "2024-06-03T10:15:00+09:00"


@pytest.mark.parametrize(
    ("code", "destination"),
    [
        ("01", "home"),
        ("1", "home"),
        ("06", "home"),
        ("08", "home"),
        ("02", "other_hospital"),
        ("2", "other_hospital"),
        ("43", "other_hospital"),
        ("62", "other_hospital"),
        ("65", "other_hospital"),
        ("03", "residential_care"),
        ("04", "residential_care"),
        ("05", "residential_care"),
        ("20", "death"),
        ("40", "death"),
        ("41", "death"),
        ("42", "death"),
        ("07", "other"),
        ("09", "other"),
        ("30", "other"),
        ("", "other"),
        ("HOME", "other"),
    ],
)
def test_table_0112_classes(code: str, destination: str) -> None:
    event = only_event(outcome_of(adt("A03", pv1_fields={19: "V1", 36: code})))
    assert event["destination"] == destination


def test_a16_planned_discharge_date_from_pv2_9() -> None:
    event = only_event(outcome_of(adt("A16", pv1_fields={19: "V1"}, pv2_9="20240620")))
    assert event["type"] == "discharge_planned"
    assert event["planned_discharge_date"] == "2024-06-20"


def test_a16_without_pv2_9_is_an_ae_naming_pv2_9() -> None:
    outcome = outcome_of(adt("A16", pv1_fields={19: "V1"}))
    assert outcome == Problem(
        "AE", "PV2-9", 101, "PV2-9 (expected discharge date) is required for A16"
    )


def test_a08_is_a_stay_update_with_pid_fields() -> None:
    event = only_event(outcome_of(adt("A08", pv1_fields={19: "V1"})))
    assert event["type"] == "stay_update"
    assert event["patient"] == {"hospital_patient_id": "P12345", "display_name": "山田 花子"}


@pytest.mark.parametrize(
    ("trigger", "kind"), [("A11", "admission"), ("A13", "discharge"), ("A25", "plan")]
)
def test_cancels_are_intents_for_the_caller(trigger: str, kind: str) -> None:
    outcome = outcome_of(adt(trigger, pv1_fields={19: "V1"}))
    assert isinstance(outcome, CancelIntent)
    assert outcome.kind == kind
    assert outcome.encounter_ref == "V1"
    target = "1b4e28ba-2fa1-4d3b-a3f5-ef19b5a7633b"
    event = outcome.to_event(target)
    assert event["type"] == "cancel"
    assert event["cancels_event_id"] == target
    assert event["event_id"] == event_id(HOSPITAL, "MSG0001", trigger, "V1")


@pytest.mark.parametrize(
    ("trigger", "state"),
    [("A03", "open"), ("A16", "open"), ("A08", "open"), ("A11", "open"), ("A13", "discharged")],
)
def test_no_visit_number_nor_admit_time_asks_for_the_stay(
    trigger: str, state: Literal["open", "discharged"]
) -> None:
    outcome = outcome_of(adt(trigger, pv1_fields={2: "I"}, pv2_9="20240620"))
    assert outcome == EpisodeLookup("P12345", state)


def test_pv1_44_on_a_later_message_finds_the_stay_without_lookup() -> None:
    event = only_event(outcome_of(adt("A03", pv1_fields={36: "01", 44: "202406010900"})))
    assert event["encounter_ref"] == "P12345-20240601"


@pytest.mark.parametrize("trigger", ["A02", "A05", "A28", "A31"])
def test_other_triggers_give_no_event(trigger: str) -> None:
    assert outcome_of(adt(trigger)) == NoEvent(trigger)


def test_other_message_types_give_no_event() -> None:
    text = adt("A01").replace("ADT^A01^ADT_A01", "ORU^R01^ORU_R01")
    assert isinstance(outcome_of(text), NoEvent)


# --- refusals ------------------------------------------------------------------------------


def test_admission_without_patient_id_is_an_ae_naming_pid3() -> None:
    outcome = outcome_of(adt("A01", pid="PID|1||||山田^花子", pv1_fields={19: "V1"}))
    assert isinstance(outcome, Problem)
    assert (outcome.ack_code, outcome.location, outcome.code) == ("AE", "PID-3", 101)


def test_too_long_patient_id_is_an_ae() -> None:
    outcome = outcome_of(adt("A01", pid="PID|1||" + "9" * 65, pv1_fields={19: "V1"}))
    assert isinstance(outcome, Problem)
    assert (outcome.location, outcome.code) == ("PID-3", 102)


def test_malformed_timestamp_is_an_ae_naming_the_field() -> None:
    outcome = outcome_of(adt("A01", pv1_fields={19: "V1", 44: "2024-06-03"}))
    assert isinstance(outcome, Problem)
    assert (outcome.ack_code, outcome.location, outcome.code) == ("AE", "PV1-44", 102)


@pytest.mark.parametrize("version", ["2.1", "2.2", "", "x"])
def test_versions_before_2_3_are_an_ar(version: str) -> None:
    result = parse(adt("A01", version=version))
    assert isinstance(result, ParseError)
    assert (result.ack_code, result.location, result.code) == ("AR", "MSH-12", 203)


@pytest.mark.parametrize("version", ["2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.8", "2.9"])
def test_versions_from_2_3_are_read(version: str) -> None:
    assert isinstance(parse(adt("A01", version=version)), Parsed)


def test_missing_control_id_is_an_ar() -> None:
    result = parse(adt("A01", control_id=""))
    assert isinstance(result, ParseError)
    assert result.location == "MSH-10"


# --- identity ------------------------------------------------------------------------------


def test_reused_control_id_on_another_stay_gives_another_event_id() -> None:
    a = only_event(outcome_of(adt("A01", pv1_fields={19: "V1"})))
    b = only_event(outcome_of(adt("A01", pv1_fields={19: "V2"})))
    assert a["event_id"] != b["event_id"]


def test_fingerprint_ignores_line_endings_but_not_content() -> None:
    text = adt("A03", pv1_fields={19: "V1", 36: "01"})
    first = parse(text)
    crlf = parse(text.replace("\r", "\r\n"))
    changed = parse(text.replace("|01", "|02"))
    assert isinstance(first, Parsed)
    assert isinstance(crlf, Parsed)
    assert isinstance(changed, Parsed)
    fp = map_adt(first, HOSPITAL).fingerprint
    assert fp == map_adt(crlf, HOSPITAL).fingerprint
    assert fp != map_adt(changed, HOSPITAL).fingerprint
    assert (fp.hospital_id, fp.control_id, fp.trigger) == (HOSPITAL, "MSG0001", "A03")
