"""POST /fhir/r4/$process-message and GET /fhir/r4/metadata against the real PostgreSQL.

The bundles are the HL7 Da Vinci Unsolicited Notifications IG examples (HL7/davinci-alerts
`input/examples/*-notification-message-bundle-01.json`, trimmed as tests/fixtures/README.md says).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome

from tests.factories import Api
from tests.unit.interop.helpers import fixture

pytestmark = pytest.mark.postgres

FHIR = {"Content-Type": "application/fhir+json"}
PROCESS = "/fhir/r4/$process-message"
ENCOUNTER_REF = "Elden718Halvorson12420181021T2122150700"


def bundle(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        fixture("fhir", f"davinci_{name}_notification_message_bundle_01.json")
    )
    return data


def issue(body: dict[str, Any]) -> dict[str, Any]:
    OperationOutcome.model_validate(body)
    first: dict[str, Any] = body["issue"][0]
    return first


async def post(api: Api, body: Any, key: dict[str, str]) -> tuple[int, dict[str, Any]]:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    r = await api.client.post(PROCESS, content=content, headers={**FHIR, **key})
    assert r.headers["content-type"] == "application/fhir+json", r.text
    return r.status_code, r.json()


async def test_ig_admit_then_discharge_bundles_are_stored_and_fold_into_the_episode(
    api: Api,
) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    status, body = await post(api, bundle("admit"), key)
    assert (status, issue(body)["severity"], issue(body)["diagnostics"]) == (
        200,
        "information",
        "stored",
    )
    status, body = await post(api, bundle("discharge"), key)
    assert status == 200, body
    r = await api.client.get(
        "/v1/episodes", params={"hospital_id": hospital, "encounter_ref": ENCOUNTER_REF},
        headers=key,
    )  # fmt: skip
    episode = r.json()
    assert [e["type"] for e in episode["events"]] == ["admission", "discharge"]
    assert episode["admitted_at"] is not None
    assert episode["discharged_at"] is not None


async def test_the_same_bundle_again_is_a_duplicate(api: Api) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    await post(api, bundle("admit"), key)
    status, body = await post(api, bundle("admit"), key)
    assert status == 200
    assert issue(body)["diagnostics"].startswith("duplicate")


async def test_an_encounter_without_period_start_is_422_naming_the_element(api: Api) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    broken = copy.deepcopy(bundle("admit"))
    del broken["entry"][1]["resource"]["period"]["start"]
    status, body = await post(api, broken, key)
    assert status == 422
    assert issue(body)["severity"] == "error"
    assert issue(body)["expression"] == ["Bundle.entry[1].resource.period.start"]


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b"not json", 400),
        (b'{"resourceType": "Patient"}', 422),
        (b'{"resourceType": "Bundle", "type": "nope"}', 422),
    ],
)
async def test_invalid_bodies_answer_an_operation_outcome_error(
    api: Api, content: bytes, status: int
) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    got, body = await post(api, content, key)
    assert got == status
    assert issue(body)["severity"] == "error"
    assert issue(body)["expression"]


async def test_missing_and_wrong_keys_answer_operation_outcomes(api: Api) -> None:
    status, body = await post(api, bundle("admit"), {})
    assert status == 401
    assert issue(body)["code"] == "login"
    office = await api.org("care_office")
    status, body = await post(api, bundle("admit"), await api.key(office, "care_office"))
    assert status == 403
    assert issue(body)["code"] == "forbidden"


async def test_metadata_is_a_capability_statement_for_fhir_4_0_1(api: Api) -> None:
    r = await api.client.get("/fhir/r4/metadata")
    assert r.status_code == 200
    statement = CapabilityStatement.model_validate(r.json())
    assert statement.fhirVersion == "4.0.1"
    assert statement.messaging
    assert statement.messaging[0].supportedMessage


async def test_openapi_documents_fhir_errors_as_operation_outcomes(api: Api) -> None:
    schema = (await api.client.get("/openapi.json")).json()
    responses = schema["paths"][PROCESS]["post"]["responses"]
    assert "application/fhir+json" in responses["401"]["content"]
    hl7 = schema["paths"]["/v1/hl7v2"]["post"]
    assert "application/hl7-v2" in hl7["requestBody"]["content"]
    assert "application/hl7-v2" in hl7["responses"]["200"]["content"]


async def test_a_transfer_notification_records_nothing(api: Api) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    transfer = copy.deepcopy(bundle("admit"))
    transfer["entry"][0]["resource"]["eventCoding"]["code"] = "notification-transfer"
    status, body = await post(api, transfer, key)
    assert status == 200
    assert "nothing stored" in issue(body)["diagnostics"]


async def test_a_discharge_before_the_admission_is_422_naming_period_end(api: Api) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    await post(api, bundle("admit"), key)
    early = copy.deepcopy(bundle("discharge"))
    early["entry"][1]["resource"]["period"]["end"] = "2018-10-20T10:00:00-07:00"
    status, body = await post(api, early, key)
    assert status == 422, body
    assert issue(body)["expression"] == ["Bundle.entry[1].resource.period.end"]


async def test_unknown_paths_and_methods_under_fhir_answer_operation_outcomes(api: Api) -> None:
    for method, path, status in [("GET", "/fhir/r4/Patient", 404), ("GET", PROCESS, 405)]:
        r = await api.client.request(method, path)
        assert r.status_code == status
        assert r.headers["content-type"] == "application/fhir+json"
        assert issue(r.json())["severity"] == "error"
