"""FHIR Da Vinci notifications: the IG's example bundles, each event code, errors naming paths."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import pytest

from shared.interop.fhir.mapping import (
    FHIR_EVENT_NAMESPACE,
    FhirEvents,
    event_id,
    map_notification,
)
from shared.interop.fhir.outcome import operation_outcome, stored
from shared.interop.fhir.parse import FhirProblem, Notification, parse_bundle
from tests.unit.interop.helpers import HOSPITAL, fixture

ENCOUNTER_REF = "Elden718Halvorson12420181021T2122150700"


def bundle(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(fixture("fhir", name))
    return data


ADMIT = "davinci_admit_notification_message_bundle_01.json"
DISCHARGE = "davinci_discharge_notification_message_bundle_01.json"
DISCHARGE_NOW = "davinci_discharge_notification_message_bundle_01_nubc_ub92.json"


def mapped(data: dict[str, Any] | bytes) -> FhirEvents | FhirProblem:
    parsed = parse_bundle(data)
    if isinstance(parsed, FhirProblem):
        return parsed
    return map_notification(parsed, HOSPITAL)


def test_namespace_is_the_documented_constant() -> None:
    assert uuid.uuid5(uuid.NAMESPACE_URL, "urn:handover:interop:fhir") == FHIR_EVENT_NAMESPACE


def test_ig_admit_example_is_an_admission_at_period_start() -> None:
    # HL7/davinci-alerts input/examples/admit-notification-message-bundle-01.json
    result = mapped(fixture("fhir", ADMIT))
    assert isinstance(result, FhirEvents)
    assert result.events == (
        {
            "event_id": event_id(
                HOSPITAL, "notification-admit", ENCOUNTER_REF, "2018-10-22T04:22:15+00:00"
            ),
            "occurred_at": "2018-10-21T21:22:15-07:00",
            "hospital_id": HOSPITAL,
            "encounter_ref": ENCOUNTER_REF,
            "type": "admission",
            "patient": {
                "hospital_patient_id": "06e1f0dd-5fbe-4480-9bb4-6b54ec02d31b",
                "display_name": "Halvorson124 Elden718",
            },
        },
    )


def test_ig_discharge_example_is_a_discharge_home_at_period_end() -> None:
    # HL7/davinci-alerts input/examples/discharge-notification-message-bundle-01.json
    result = mapped(fixture("fhir", DISCHARGE))
    assert isinstance(result, FhirEvents)
    (event,) = result.events
    assert event["type"] == "discharge"
    assert event["occurred_at"] == "2018-10-23T22:22:15-07:00"
    assert event["destination"] == "home"  # NUBC code 1
    assert event["encounter_ref"] == ENCOUNTER_REF


def test_transfer_gives_no_event() -> None:
    data = bundle(ADMIT)
    data["entry"][0]["resource"]["eventCoding"]["code"] = "notification-transfer"
    assert mapped(data) == FhirEvents(())


def _with_disposition(system: str, code: str) -> dict[str, Any]:
    data = bundle(DISCHARGE)
    coding = data["entry"][1]["resource"]["hospitalization"]["dischargeDisposition"]["coding"][0]
    coding.update({"system": system, "code": code})
    return data


@pytest.mark.parametrize(
    ("code", "destination"),
    [
        ("home", "home"),
        ("alt-home", "home"),
        ("other-hcf", "other_hospital"),
        ("hosp", "other_hospital"),
        ("rehab", "other_hospital"),
        ("psy", "other_hospital"),
        ("snf", "residential_care"),
        ("long", "residential_care"),
        ("exp", "death"),
        ("aadvice", "other"),
        ("oth", "other"),
    ],
)
def test_fhir_discharge_disposition_codes(code: str, destination: str) -> None:
    system = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
    result = mapped(_with_disposition(system, code))
    assert isinstance(result, FhirEvents)
    assert result.events[0]["destination"] == destination


@pytest.mark.parametrize(
    ("code", "destination"),
    [("01", "home"), ("02", "other_hospital"), ("03", "residential_care"), ("20", "death")],
)
def test_nubc_codes_follow_table_0112(code: str, destination: str) -> None:
    result = mapped(_with_disposition("http://www.nubc.org/patient-discharge", code))
    assert isinstance(result, FhirEvents)
    assert result.events[0]["destination"] == destination


def test_visit_number_identifier_is_preferred() -> None:
    data = bundle(ADMIT)
    data["entry"][1]["resource"]["identifier"].append(
        {"type": {"coding": [{"code": "VN"}]}, "value": "V-2024-1"}
    )
    result = mapped(data)
    assert isinstance(result, FhirEvents)
    assert result.events[0]["encounter_ref"] == "V-2024-1"


def test_the_event_id_does_not_depend_on_the_bundle_that_carries_it() -> None:
    # api.md: (hospital, event code, encounter_ref, instant): a relayed Bundle is one event.
    data = bundle(ADMIT)
    data["identifier"] = {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:abc"}
    data["id"] = "relayed-by-an-intermediary"
    relayed, original = mapped(data), mapped(bundle(ADMIT))
    assert isinstance(relayed, FhirEvents)
    assert isinstance(original, FhirEvents)
    assert relayed.events[0]["event_id"] == original.events[0]["event_id"]


def test_one_instant_written_with_two_offsets_is_one_event() -> None:
    data = bundle(ADMIT)
    data["entry"][1]["resource"]["period"]["start"] = "2018-10-22T04:22:15Z"
    utc, local = mapped(data), mapped(bundle(ADMIT))
    assert isinstance(utc, FhirEvents)
    assert isinstance(local, FhirEvents)
    assert utc.events[0]["event_id"] == local.events[0]["event_id"]


@pytest.mark.parametrize(
    "name",
    [
        "davinci_admit_intermediate_transmit_bundle.json",
        "davinci_admit_intermediate_translate_bundle.json",
        "davinci_admit_notification_message_bundle_01_full.json",
    ],
)
def test_the_igs_relayed_admit_bundles_map_to_the_one_admission(name: str) -> None:
    relayed, original = mapped(fixture("fhir", name)), mapped(fixture("fhir", ADMIT))
    assert isinstance(relayed, FhirEvents)
    assert isinstance(original, FhirEvents)
    assert relayed.events == original.events


def test_the_current_discharge_example_codes_home_under_nubc_ub92() -> None:
    # HL7/davinci-alerts discharge-notification-message-bundle-01.json at e85cd53c
    result = mapped(
        fixture("fhir", "davinci_discharge_notification_message_bundle_01_nubc_ub92.json")
    )
    assert isinstance(result, FhirEvents)
    assert result.events[0]["destination"] == "home"
    assert result.notes == ()


def test_a_disposition_the_service_cannot_map_is_other_and_said_so() -> None:
    data = bundle(DISCHARGE)
    hospitalization = data["entry"][1]["resource"]["hospitalization"]
    hospitalization["dischargeDisposition"] = {
        "coding": [{"system": "urn:example:local", "code": "HOME-ISH"}]
    }
    result = mapped(data)
    assert isinstance(result, FhirEvents)
    assert result.events[0]["destination"] == "other"
    assert "urn:example:local#HOME-ISH" in result.notes[0]
    outcome = stored(False, result.notes)
    assert [i["severity"] for i in outcome["issue"]] == ["information", "information"]


def test_a_time_without_offset_says_to_add_the_offset() -> None:
    data = bundle(ADMIT)
    data["entry"][1]["resource"]["period"]["start"] = "2018-10-21T21:22:15"
    problem = _problem(data)
    assert problem.expression == "Bundle.entry[1].resource.period.start"
    assert "add the time-zone offset" in problem.diagnostics
    assert "regex" not in problem.diagnostics


def test_a_patient_name_over_100_characters_is_refused_naming_the_element() -> None:
    data = bundle(ADMIT)
    data["entry"][2]["resource"]["name"] = [{"family": "山" * 60, "given": ["花" * 41]}]
    problem = _problem(data)
    assert problem.expression == "Bundle.entry[2].resource.name[0]"
    assert "at most 100" in problem.diagnostics


def test_without_bundle_id_the_message_header_id_is_the_key() -> None:
    data = bundle(ADMIT)
    del data["id"]
    parsed = parse_bundle(data)
    assert isinstance(parsed, Notification)
    assert parsed.message_key == "31ab7fe2-e0ad-11ea-bf7c-864d2e68a322"


def _problem(data: dict[str, Any] | bytes) -> FhirProblem:
    result = mapped(data)
    assert isinstance(result, FhirProblem), result
    return result


def test_not_json_is_400() -> None:
    problem = _problem(b"{not json")
    assert (problem.status, problem.expression) == (400, "Bundle")


def test_schema_violation_names_the_element() -> None:
    data = bundle(ADMIT)
    data["entry"][1]["resource"]["status"] = 5
    problem = _problem(data)
    assert problem.expression == "Bundle.entry[1].resource.status"


def test_not_a_message_bundle() -> None:
    data = bundle(ADMIT)
    data["type"] = "collection"
    assert _problem(data).expression == "Bundle.type"


def test_first_entry_must_be_a_message_header() -> None:
    data = bundle(ADMIT)
    data["entry"] = data["entry"][1:]
    assert _problem(data).expression == "Bundle.entry[0].resource"


def test_unknown_event_code() -> None:
    data = bundle(ADMIT)
    data["entry"][0]["resource"]["eventCoding"]["code"] = "notification-arrival"
    assert _problem(data).expression == "Bundle.entry[0].resource.eventCoding.code"


def test_other_code_system() -> None:
    data = bundle(ADMIT)
    data["entry"][0]["resource"]["eventCoding"]["system"] = "http://example.org/events"
    assert _problem(data).expression == "Bundle.entry[0].resource.eventCoding"


def test_focus_outside_the_bundle() -> None:
    data = bundle(ADMIT)
    data["entry"][0]["resource"]["focus"][0]["reference"] = "urn:uuid:missing"
    assert _problem(data).expression == "Bundle.entry[0].resource.focus[0]"


def test_admit_without_period_start() -> None:
    data = bundle(ADMIT)
    del data["entry"][1]["resource"]["period"]["start"]
    assert _problem(data).expression == "Bundle.entry[1].resource.period.start"


def test_discharge_without_period_end() -> None:
    data = bundle(DISCHARGE)
    del data["entry"][1]["resource"]["period"]["end"]
    assert _problem(data).expression == "Bundle.entry[1].resource.period.end"


def test_an_encounter_without_identifier_is_the_stay_of_its_own_id() -> None:
    # api.md: JP Core examples carry no identifier; the sender's Encounter id is stable.
    data = bundle(ADMIT)
    del data["entry"][1]["resource"]["identifier"]
    result = mapped(data)
    assert isinstance(result, FhirEvents)
    assert result.events[0]["encounter_ref"] == "5fe62cd5-bfcf-4d3b-a1e9-80d6f75d6f82"


def test_an_encounter_without_identifier_or_id_is_refused() -> None:
    data = bundle(ADMIT)
    encounter = data["entry"][1]["resource"]
    del encounter["identifier"]
    del encounter["id"]
    data["entry"][0]["resource"]["focus"][0]["reference"] = data["entry"][1]["fullUrl"]
    assert _problem(data).expression == "Bundle.entry[1].resource.identifier"


def test_admit_without_patient_identifier() -> None:
    data = copy.deepcopy(bundle(ADMIT))
    del data["entry"][2]["resource"]["identifier"]
    assert _problem(data).expression == "Bundle.entry[2].resource.identifier"


def test_operation_outcome_shapes() -> None:
    assert stored() == {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "information", "code": "informational", "diagnostics": "stored"}],
    }
    error = operation_outcome("error", "required", "period.start is required", "Bundle.entry[1]")
    assert error["issue"][0]["expression"] == ["Bundle.entry[1]"]
    assert "duplicate" in stored(duplicate=True)["issue"][0]["diagnostics"]
