"""Published FHIR examples over HTTP: the Da Vinci IG's relayed notifications are one admission,
its current discharge example is a discharge home, a JP Core Encounter without identifier is
accepted; a disposition the service cannot map is said in the answer (tests/fixtures/README.md).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.models import EventRecord
from tests.factories import Api
from tests.integration.interop.test_fhir_api import ENCOUNTER_REF, post
from tests.integration.interop.test_hl7v2_http import episode
from tests.unit.interop.helpers import fixture

pytestmark = pytest.mark.postgres
RELAYED = (
    "davinci_admit_notification_message_bundle_01_full.json",
    "davinci_admit_intermediate_transmit_bundle.json",
    "davinci_admit_intermediate_translate_bundle.json",
)


def published(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(fixture("fhir", name))
    return data


async def admissions(sessions: async_sessionmaker[AsyncSession], hospital: str) -> int:
    async with sessions() as session:
        count = await session.scalar(
            select(func.count()).where(
                EventRecord.hospital_id == hospital, EventRecord.type == "admission"
            )
        )
    return int(count or 0)


async def test_one_notification_relayed_by_an_intermediary_is_one_admission(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    answers = [(await post(api, published(name), key)) for name in RELAYED]
    assert [status for status, _ in answers] == [200, 200, 200]
    assert [body["issue"][0]["diagnostics"] for _, body in answers] == [
        "stored",
        "duplicate: already stored",
        "duplicate: already stored",
    ]
    assert await admissions(sessions, hospital) == 1


async def test_the_current_discharge_example_is_a_discharge_home(api: Api) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    assert (await post(api, published(RELAYED[0]), key))[0] == 200
    status, body = await post(
        api, published("davinci_discharge_notification_message_bundle_01_nubc_ub92.json"), key
    )
    assert status == 200, body
    assert len(body["issue"]) == 1  # no note: the disposition was understood
    stay = await episode(api.client, hospital, ENCOUNTER_REF, key)
    (discharge,) = [e for e in stay["events"] if e["type"] == "discharge"]
    assert discharge["body"]["destination"] == "home"


async def test_an_unmapped_disposition_is_stored_as_other_and_said_so(api: Api) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    assert (await post(api, published(RELAYED[0]), key))[0] == 200
    data = published("davinci_discharge_notification_message_bundle_01_nubc_ub92.json")
    encounter = data["entry"][1]["resource"]
    encounter["hospitalization"]["dischargeDisposition"] = {
        "coding": [{"system": "urn:example:local-disposition", "code": "HOME-ISH"}]
    }
    status, body = await post(api, data, key)
    assert status == 200, body
    assert body["issue"][1]["severity"] == "information"
    assert "stored as `other`" in body["issue"][1]["diagnostics"]


async def test_a_jp_core_encounter_without_identifier_is_its_ids_stay(api: Api) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    status, body = await post(api, published("jpcore_encounter_example1_admit_bundle.json"), key)
    assert status == 200, body
    stay = await episode(api.client, hospital, "jp-enconter-example1", key)
    assert stay["admitted_at"] == "2016-05-08T10:08:24+09:00"


async def test_a_time_without_offset_is_a_422_saying_to_add_the_offset(api: Api) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    data = published(RELAYED[0])
    data["entry"][1]["resource"]["period"]["start"] = "2018-10-21T21:22:15"
    status, body = await post(api, data, key)
    assert status == 422
    assert body["issue"][0]["expression"] == ["Bundle.entry[1].resource.period.start"]
    assert "add the time-zone offset" in body["issue"][0]["diagnostics"]


async def test_a_patient_name_over_100_characters_is_refused_naming_the_element(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    data = published(RELAYED[0])
    patient = next(e for e in data["entry"] if e["resource"]["resourceType"] == "Patient")
    patient["resource"]["name"] = [{"family": "X" * 101}]
    index = data["entry"].index(patient)
    status, body = await post(api, data, key)
    assert status == 422
    assert body["issue"][0]["expression"] == [f"Bundle.entry[{index}].resource.name[0]"]
    assert await admissions(sessions, hospital) == 0
