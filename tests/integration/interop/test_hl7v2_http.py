"""POST /v1/hl7v2 against the real PostgreSQL, with published sample messages.

Fixture provenance (tests/fixtures/README.md): `ssmix2_*` are the SS-MIX2 標準化ストレージ仕様書
ADT-22/ADT-52 examples as ISO-2022-JP bytes (no visit number); `wikipedia_adt_a01.hl7` is the
Wikipedia "Health Level 7" ADT^A01; `fhir_converter_adt_a03_01.hl7` is Microsoft FHIR-Converter's
v2.8 vendor sample with a PV1-19 visit number.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.models import EventRecord, InboundMessage
from tests.factories import Api
from tests.integration.metrics.test_query_plans import captured, indexes_used, one
from tests.unit.interop.helpers import adt, fixture

pytestmark = pytest.mark.postgres

HL7 = {"Content-Type": "application/hl7-v2"}


def msa(ack: bytes, codec: str = "utf-8") -> list[str]:
    """MSA fields of an ACK."""
    segments = ack.decode(codec).split("\r")
    return next(s for s in segments if s.startswith("MSA")).split("|")


def err(ack: bytes, codec: str = "utf-8") -> str:
    return next((s for s in ack.decode(codec).split("\r") if s.startswith("ERR")), "")


async def post(client: httpx.AsyncClient, body: bytes, key: dict[str, str]) -> httpx.Response:
    r = await client.post("/v1/hl7v2", content=body, headers={**HL7, **key})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/hl7-v2")
    return r


async def episode(
    client: httpx.AsyncClient, hospital: str, ref: str, key: dict[str, str]
) -> dict[str, Any]:
    r = await client.get(
        "/v1/episodes", params={"hospital_id": hospital, "encounter_ref": ref}, headers=key
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def stored_counts(
    sessions: async_sessionmaker[AsyncSession], hospital: str
) -> tuple[int, int]:
    async with sessions() as session:
        messages = await session.scalar(
            select(func.count()).where(InboundMessage.hospital_id == hospital)
        )
        events = await session.scalar(
            select(func.count()).where(EventRecord.hospital_id == hospital)
        )
    return int(messages or 0), int(events or 0)


async def test_wikipedia_a01_is_stored_and_its_episode_exists(api: Api) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    r = await post(api.client, fixture("hl7v2", "wikipedia_adt_a01.hl7"), key)
    assert msa(r.content)[1:3] == ["AA", "01052901"]
    # PV1-19 empty: <PID-3.1>-<admission date in Tokyo> (PV1-44 200605290900 is Tokyo time).
    found = await episode(api.client, hospital, "56782445-20060529", key)
    assert found["admitted_at"] == "2006-05-29T09:00:00+09:00"


async def test_the_same_message_again_is_a_duplicate_and_nothing_is_stored_twice(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    raw = fixture("hl7v2", "wikipedia_adt_a01.hl7")
    first = await post(api.client, raw, key)
    again = await post(api.client, raw, key)
    assert msa(first.content)[1] == msa(again.content)[1] == "AA"
    assert await stored_counts(sessions, hospital) == (1, 1)


async def test_two_messages_reusing_one_msh10_are_both_kept(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    one = adt("A01", control_id="REUSED", pv1_fields={2: "I", 19: "V-1", 44: "202406031000"})
    two = adt("A01", control_id="REUSED", pv1_fields={2: "I", 19: "V-2", 44: "202406031100"})
    for message in (one, two):
        assert msa((await post(api.client, message.encode(), key)).content)[1] == "AA"
    assert await stored_counts(sessions, hospital) == (2, 2)
    for ref in ("V-1", "V-2"):
        assert (await episode(api.client, hospital, ref, key))["admitted_at"] is not None


async def test_ssmix2_a01_without_visit_number_then_a03_finds_the_open_stay(api: Api) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    admitted = await post(api.client, fixture("hl7v2", "ssmix2_adt22_a01.hl7"), key)
    assert admitted.headers["content-type"] == "application/hl7-v2; charset=iso-2022-jp"
    assert msa(admitted.content, "iso2022_jp")[1] == "AA"
    found = await episode(api.client, hospital, "9999013-20111120", key)
    assert found["admitted_at"] == "2011-11-20T16:00:00+09:00"
    discharged = await post(api.client, fixture("hl7v2", "ssmix2_adt52_a03.hl7"), key)
    assert msa(discharged.content, "iso2022_jp")[1] == "AA", err(discharged.content, "iso2022_jp")
    found = await episode(api.client, hospital, "9999013-20111120", key)
    assert found["discharged_at"] == "2011-12-20T12:00:00+09:00"  # PV1-45


async def test_a03_for_a_patient_without_an_open_stay_is_an_ae_naming_the_stay(api: Api) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    r = await post(api.client, fixture("hl7v2", "ssmix2_adt52_a03.hl7"), key)
    assert msa(r.content, "iso2022_jp")[1] == "AE"
    assert "PV1^1^19|204^" in err(r.content, "iso2022_jp")


async def test_a11_cancels_the_admission(api: Api) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    pv1 = {2: "I", 19: "V-9", 44: "202406031000"}
    await post(api.client, adt("A01", control_id="M1", pv1_fields=pv1).encode(), key)
    cancel = adt("A11", control_id="M2", pv1_fields={2: "I", 19: "V-9"})
    r = await post(api.client, cancel.encode(), key)
    assert msa(r.content)[1] == "AA", err(r.content)
    events = (await episode(api.client, hospital, "V-9", key))["events"]
    assert [(e["type"], e["cancelled"]) for e in events] == [("admission", True), ("cancel", False)]
    again = await post(api.client, adt("A11", control_id="M3", pv1_fields=pv1).encode(), key)
    assert msa(again.content)[1] == "AE"  # nothing left to cancel


async def test_a16_without_pv2_9_is_an_ae_and_stores_nothing(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    r = await post(api.client, adt("A16", pv1_fields={2: "I", 19: "V-1"}).encode(), key)
    assert msa(r.content)[1] == "AE"
    assert "PV2^1^9|101^Required field missing" in err(r.content)
    assert await stored_counts(sessions, hospital) == (0, 0)


async def test_vendor_a03_needs_its_stay_and_is_then_stored(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # api.md: a message other than an admission naming an unknown stay (PV1-19) is an AE.
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    a03 = fixture("hl7v2", "fhir_converter_adt_a03_01.hl7")
    r = await post(api.client, a03, key)
    assert msa(r.content)[1] == "AE"
    assert "PV1^1^19|204" in err(r.content)
    assert await stored_counts(sessions, hospital) == (0, 0)
    pid = "PID|1||PATID1234^5^M11^test1&2.16.1&HCD^MR^GOOD HEALTH HOSPITAL||EVERYMAN^ADAM"
    a01 = adt("A01", pid=pid, pv1_fields={2: "I", 19: "40007716", 44: "20150208113419+0110"})
    assert msa((await post(api.client, a01.encode(), key)).content)[1] == "AA"
    r = await post(api.client, a03, key)
    assert msa(r.content)[1] == "AA", err(r.content)
    found = await episode(api.client, hospital, "40007716", key)
    assert found["discharged_at"] == "2015-02-09T19:24:19+09:00"


@pytest.mark.parametrize(
    "body", [b"\x00\xff garbage", b"PID|1||X\r", b"MSH|^~\\&|A|B|C|D|2024||ADT^A01|X|P|2.2\r"]
)
async def test_unreadable_messages_are_answered_ar(api: Api, body: bytes) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    assert msa((await post(api.client, body, key)).content)[1] == "AR"


async def test_without_a_hospital_key_it_is_401_or_403(api: Api) -> None:
    raw = fixture("hl7v2", "wikipedia_adt_a01.hl7")
    r = await api.client.post("/v1/hl7v2", content=raw, headers=HL7)
    assert r.status_code == 401
    office = await api.org("care_office")
    r = await api.client.post(
        "/v1/hl7v2", content=raw, headers={**HL7, **await api.key(office, "care_office")}
    )
    assert r.status_code == 403


async def test_a_body_that_is_not_hl7_is_415(api: Api) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    r = await api.client.post(
        "/v1/hl7v2", content=b"{}", headers={"Content-Type": "application/json", **key}
    )
    assert r.status_code == 415


async def test_the_content_type_charset_decodes_a_message_without_msh18(api: Api) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    text = adt("A01", pv1_fields={2: "I", 19: "V-SJ", 44: "202406031000"})
    r = await api.client.post(
        "/v1/hl7v2",
        content=text.encode("shift_jis"),
        headers={"Content-Type": "application/hl7-v2; charset=Shift_JIS", **key},
    )
    assert msa(r.content)[1] == "AA", err(r.content)
    found = await episode(api.client, hospital, "V-SJ", key)
    assert found["events"][0]["type"] == "admission"


async def test_messages_are_counted_by_channel_trigger_and_outcome(api: Api) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    await post(api.client, adt("A02").encode(), key)
    r = await api.client.get("/metrics")
    line = 'handover_messages_total{channel="http",outcome="AA",trigger="other"}'
    assert line in r.text


async def test_the_stay_lookup_and_the_duplicate_check_use_indexes(
    api: Api, client: httpx.AsyncClient, database_url: str
) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    await post(api.client, fixture("hl7v2", "ssmix2_adt22_a01.hl7"), key)
    with captured(client) as seen:
        await post(api.client, fixture("hl7v2", "ssmix2_adt52_a03.hl7"), key)
    lookup = one(seen, lambda s: "hospital_patient_id" in s and "FROM episodes JOIN events" in s)
    assert "ix_events_admission_hospital_patient_id" in await indexes_used(database_url, lookup)
    duplicate = one(seen, lambda s: "FROM inbound_messages WHERE" in s)
    assert "uq_inbound_messages_fingerprint" in await indexes_used(database_url, duplicate)
    patients = one(seen, lambda s: "FROM episodes WHERE hospital_id = $1 AND encounter_ref" in s)
    assert "uq_episodes_hospital_id_encounter_ref" in await indexes_used(database_url, patients)


async def test_a_discharge_before_the_admission_is_an_ae_naming_pv1_45(api: Api) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    a01 = adt("A01", control_id="M1", pv1_fields={2: "I", 19: "V-C", 44: "202406031000"})
    assert msa((await post(api.client, a01.encode(), key)).content)[1] == "AA"
    a03 = adt("A03", control_id="M2", pv1_fields={2: "I", 19: "V-C", 45: "202406020900"})
    r = await post(api.client, a03.encode(), key)
    assert msa(r.content)[1] == "AE"
    assert "|PV1^1^45|" in err(r.content), err(r.content)


async def test_a_changed_message_under_a_used_msh10_for_the_same_stay_is_a_conflict_ae(
    api: Api,
) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    first = adt("A01", control_id="M1", pv1_fields={2: "I", 19: "V-D", 44: "202406031000"})
    changed = adt("A01", control_id="M1", pv1_fields={2: "I", 19: "V-D", 44: "202406031100"})
    assert msa((await post(api.client, first.encode(), key)).content)[1] == "AA"
    r = await post(api.client, changed.encode(), key)
    assert msa(r.content)[1] == "AE"
    assert "|MSH^1^10|205^" in err(r.content)


async def test_a13_without_a_visit_number_cancels_the_latest_discharge(api: Api) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    await post(api.client, fixture("hl7v2", "ssmix2_adt22_a01.hl7"), key)
    await post(api.client, fixture("hl7v2", "ssmix2_adt52_a03.hl7"), key)
    a13 = adt("A13", control_id="C13", pid="PID|0001||9999013||患者^太郎", pv1_fields={2: "I"})
    r = await post(api.client, a13.encode(), key)
    assert msa(r.content)[1] == "AA", err(r.content)
    found = await episode(api.client, hospital, "9999013-20111120", key)
    assert found["discharged_at"] is None
    assert [(e["type"], e["cancelled"]) for e in found["events"]][-2:] == [
        ("discharge", True),
        ("cancel", False),
    ]
