"""The corrected HL7 v2 contract (api.md) over HTTP, with published messages where there are.

Published (tests/fixtures/README.md): SS-MIX2 ADT-00 (A08, patient-master update) and ADT-22
(A01) in ISO-2022-JP; UCLH emap's outpatient A04 and inpatient A06.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.models import EventRecord
from tests.factories import Api
from tests.integration.interop.test_hl7v2_http import episode, err, msa, post, stored_counts
from tests.unit.interop.helpers import adt, fixture

pytestmark = pytest.mark.postgres
JIS = "iso2022_jp"


async def event_types(sessions: async_sessionmaker[AsyncSession], hospital: str) -> list[str]:
    async with sessions() as session:
        rows = await session.scalars(
            select(EventRecord.type)
            .where(EventRecord.hospital_id == hospital)
            .order_by(EventRecord.seq)
        )
        return list(rows)


async def test_an_ss_mix2_adt_00_for_a_patient_without_a_stay_is_aa_and_stores_nothing(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    r = await post(api.client, fixture("hl7v2", "ssmix2_adt00_a08.hl7"), key)
    assert msa(r.content, JIS)[1:3] == ["AA", "20111220000001"]
    assert await stored_counts(sessions, hospital) == (0, 0)
    # Once the patient is admitted (ADT-22), the same kind of message updates the open stay.
    r = await post(api.client, fixture("hl7v2", "ssmix2_adt22_a01.hl7"), key)
    assert msa(r.content, JIS)[1] == "AA", err(r.content, JIS)
    a08 = fixture("hl7v2", "ssmix2_adt00_a08.hl7").replace(b"|20111220000001|", b"|20111221000001|")
    r = await post(api.client, a08, key)
    assert msa(r.content, JIS)[1] == "AA", err(r.content, JIS)
    assert await event_types(sessions, hospital) == ["admission", "stay_update"]


async def test_the_published_outpatient_a04_is_aa_and_opens_no_stay(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    r = await post(api.client, fixture("hl7v2", "emap_adt_a04_outpatient.hl7"), key)
    assert msa(r.content)[1:3] == ["AA", "31644"]
    assert await stored_counts(sessions, hospital) == (0, 0)
    # Its discharge-like follow-ups name a stay the service does not know: AE, nothing stored.
    a03 = adt("A03", pid="PID|1||40800000", pv1_fields={2: "O", 19: "123412341234"})
    r = await post(api.client, a03.encode(), key)
    assert msa(r.content)[1] == "AE"
    assert "unknown here" in err(r.content)
    assert await stored_counts(sessions, hospital) == (0, 0)


async def test_the_published_a06_admits_the_patient(api: Api) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    r = await post(api.client, fixture("hl7v2", "emap_adt_a06_inpatient.hl7"), key)
    assert msa(r.content)[1] == "AA", err(r.content)
    found = await episode(api.client, hospital, "1234567890", key)
    assert found["admitted_at"] == "2020-04-01T19:30:00+09:00"


async def test_a_visit_number_resent_with_another_patient_is_an_ae_and_the_stay_keeps_its_own(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    first = adt(
        "A01", control_id="M1", pid="PID|1||PAT-A||山田^花子", pv1_fields={2: "I", 19: "V9"}
    )
    other = adt(
        "A01", control_id="M2", pid="PID|1||PAT-B||佐藤^一郎", pv1_fields={2: "I", 19: "V9"}
    )
    assert msa((await post(api.client, first.encode(), key)).content)[1] == "AA"
    r = await post(api.client, other.encode(), key)
    assert msa(r.content)[1] == "AE"
    assert "PID^1^3|205" in err(r.content)
    assert "another patient" in err(r.content)
    assert await stored_counts(sessions, hospital) == (1, 1)
    stay = await episode(api.client, hospital, "V9", key)
    admissions = [e for e in stay["events"] if e["type"] == "admission"]
    assert [e["body"]["patient"]["hospital_patient_id"] for e in admissions] == ["PAT-A"]


async def test_a_cancel_resent_with_a_re_stamped_msh_7_is_a_duplicate(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    a01 = adt("A01", control_id="M1", pv1_fields={2: "I", 19: "V7"})
    assert msa((await post(api.client, a01.encode(), key)).content)[1] == "AA"
    a11 = adt("A11", control_id="C1", pv1_fields={2: "I", 19: "V7"})
    assert msa((await post(api.client, a11.encode(), key)).content)[1] == "AA"
    resent = a11.replace("|20240603102000|", "|20240603102500|")  # the engine's retry
    r = await post(api.client, resent.encode(), key)
    assert msa(r.content)[1] == "AA", err(r.content)
    assert await event_types(sessions, hospital) == ["admission", "cancel"]


async def test_a_v2_3_reason_is_never_cut_mid_word(api: Api) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    a03 = adt("A03", version="2.3", pv1_fields={2: "I"})  # no stay: neither PV1-19 nor PV1-44
    r = await post(api.client, a03.encode(), key)
    fields = msa(r.content)
    assert fields[1] == "AE"
    assert fields[3].endswith("…")
    assert len(fields[3]) <= 80
    words = fields[3][:-1].split()
    assert "neither PV1-19 nor PV1-44 names one" in err(r.content)
    assert all(word in err(r.content) for word in words)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"MSH\rPID|1||P1\r", "must start with an MSH segment"),
        (b"MSH|^~\\&|HIS|HO\x00SP|H|R|20240603||ADT^A01|M1|P|2.5\r", "control character"),
        (adt("A01").encode() + b"ZZZ" + b"|" * 1_000_000 + b"\r", "field delimiters"),
    ],
)
async def test_messages_that_were_a_500_or_blocked_the_api_are_an_ar(
    api: Api, sessions: async_sessionmaker[AsyncSession], body: bytes, says: str
) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    r = await post(api.client, body, key)
    assert msa(r.content)[1] == "AR"
    assert says in err(r.content)
    assert await stored_counts(sessions, hospital) == (0, 0)
