"""api.md: which admission triggers and patient classes (PV1-2) open a stay of the rule.

Published messages: UCLH emap's A04 of an outpatient (class O) and A06 to an inpatient
(tests/fixtures/README.md), beside hand-written ones for each class of table 0004.
"""

from __future__ import annotations

import pytest

from shared.interop.hl7v2.mapping import Events, NoEvent
from shared.interop.hl7v2_service import receive
from tests.unit.interop.helpers import HOSPITAL, adt, fixture, map_received


def outcome_of(raw: bytes) -> object:
    return map_received(receive(raw), HOSPITAL).outcome


@pytest.mark.parametrize(
    ("trigger", "patient_class"),
    [("A01", "I"), ("A01", "B"), ("A01", "U"), ("A01", ""), ("A04", "I"), ("A06", "I")],
)
def test_an_inpatient_class_is_an_admission(trigger: str, patient_class: str) -> None:
    fields = {2: patient_class, 19: "V1"} if patient_class else {19: "V1"}
    outcome = outcome_of(adt(trigger, pv1_fields=fields).encode())
    assert isinstance(outcome, Events)
    assert outcome.events[0]["type"] == "admission"


@pytest.mark.parametrize(
    ("trigger", "patient_class"),
    [
        ("A01", "O"),
        ("A01", "E"),
        ("A01", "P"),
        ("A01", "R"),
        ("A04", "O"),
        ("A04", "E"),
        ("A04", "P"),
        ("A04", ""),
        ("A06", "O"),
        ("A06", "E"),
    ],
)
def test_an_outpatient_emergency_or_pre_admit_visit_is_no_stay(
    trigger: str, patient_class: str
) -> None:
    fields = {2: patient_class, 19: "V1"} if patient_class else {19: "V1"}
    outcome = outcome_of(adt(trigger, pv1_fields=fields).encode())
    assert isinstance(outcome, NoEvent)
    assert "PV1-2" in outcome.reason


def test_the_published_outpatient_a04_opens_no_stay() -> None:
    outcome = outcome_of(fixture("hl7v2", "emap_adt_a04_outpatient.hl7"))
    assert outcome == NoEvent("A04", "patient class (PV1-2) 'O': not an inpatient stay")


def test_the_published_a06_to_an_inpatient_is_the_admission() -> None:
    outcome = outcome_of(fixture("hl7v2", "emap_adt_a06_inpatient.hl7"))
    assert isinstance(outcome, Events)
    (event,) = outcome.events
    assert event["type"] == "admission"
    assert event["encounter_ref"] == "1234567890"
    assert event["occurred_at"] == "2020-04-01T19:30:00+09:00"  # PV1-44, Tokyo local
    assert event["patient"]["hospital_patient_id"] == "A/AA1111"
