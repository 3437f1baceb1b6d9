"""Property (api.md): any interleaving of inpatient and outpatient messages for several patients
yields stays only for the inpatient visits, each with one patient.

Each example is a new hospital. Patients have inpatient visits (A01 of class I, B, U or none,
A04/A06 of class I, then an A03) and outpatient ones (A01/A04/A06 of class O, E, P or R, an A08
without a visit number); visit numbers come from a small pool, so two patients' visits collide.
The expectation is computed independently: the first inpatient admission of a visit number
makes the stay that patient's; nothing else makes a stay.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.models import Episode, EventRecord
from tests.factories import Api
from tests.integration.interop.test_hl7v2_http import err, msa, post
from tests.unit.interop.helpers import adt

pytestmark = pytest.mark.postgres
PATIENTS = ("P1", "P2", "P3")
VISITS = ("V1", "V2", "V3", "V4")
INPATIENT = (("A01", "I"), ("A01", "B"), ("A01", "U"), ("A01", ""), ("A04", "I"), ("A06", "I"))
OUTPATIENT = (("A01", "O"), ("A01", "E"), ("A04", "O"), ("A04", "E"), ("A04", "P"),
              ("A06", "O"), ("A01", "R"))  # fmt: skip


@dataclass(frozen=True)
class Message:
    trigger: str
    patient_class: str
    patient: str
    visit: str | None  # None: an A08 naming no stay

    @property
    def inpatient_admission(self) -> bool:
        return (self.trigger, self.patient_class) in INPATIENT


visit_messages = st.one_of(
    st.builds(
        lambda kind, p, v: Message(kind[0], kind[1], p, v),
        st.sampled_from(INPATIENT),
        st.sampled_from(PATIENTS),
        st.sampled_from(VISITS),
    ),
    st.builds(
        lambda kind, p, v: Message(kind[0], kind[1], p, v),
        st.sampled_from(OUTPATIENT),
        st.sampled_from(PATIENTS),
        st.sampled_from(VISITS),
    ),
    st.builds(
        lambda p, v: Message("A03", "I", p, v), st.sampled_from(PATIENTS), st.sampled_from(VISITS)
    ),
    st.builds(lambda p: Message("A08", "O", p, None), st.sampled_from(PATIENTS)),
)


def er7(message: Message, n: int) -> bytes:
    fields: dict[int, str] = {2: message.patient_class} if message.patient_class else {}
    if message.visit is not None:
        fields[19] = message.visit
    pid = f"PID|1||{message.patient}||山田^{message.patient}"
    return adt(message.trigger, control_id=f"M{n}", pid=pid, pv1_fields=fields or {1: "1"}).encode()


def expected_stays(messages: list[Message]) -> dict[str, str]:
    stays: dict[str, str] = {}
    for m in messages:
        if m.inpatient_admission and m.visit is not None:
            stays.setdefault(m.visit, m.patient)
    return stays


async def stays_of(
    sessions: async_sessionmaker[AsyncSession], hospital: str
) -> dict[str, set[str]]:
    """Each stay with an admission, and the patient ids its events carry."""
    patient_id = EventRecord.body["patient"]["hospital_patient_id"].astext
    async with sessions() as session:
        rows = await session.execute(
            select(Episode.encounter_ref, patient_id)
            .join(EventRecord, EventRecord.episode_id == Episode.id)
            .where(Episode.hospital_id == hospital, Episode.has_admission.is_(True))
        )
        found: dict[str, set[str]] = {}
        for ref, pid in rows:
            found.setdefault(ref, set())
            if pid is not None:
                found[ref].add(pid)
        return found


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(messages=st.lists(visit_messages, min_size=1, max_size=12))
async def test_only_inpatient_visits_become_stays_each_of_one_patient(
    api: Api, sessions: async_sessionmaker[AsyncSession], messages: list[Message]
) -> None:
    hospital = await api.org("hospital")
    key = await api.key(hospital, "hospital")
    for n, message in enumerate(messages):
        r = await post(api.client, er7(message, n), key)
        assert msa(r.content)[1] in ("AA", "AE"), err(r.content)
    stays = await stays_of(sessions, hospital)
    expected = expected_stays(messages)
    assert set(stays) == set(expected)
    for visit, patients in stays.items():
        assert patients == {expected[visit]}
