"""The episode's patient fields, care level and ward type: field by field, the latest setter.

domain.md: each is the value of the latest non-cancelled ``admission`` or ``stay_update`` (by
``occurred_at``, ties by arrival) that sets it; a field absent or null does not set it.
"""

from __future__ import annotations

from typing import Any

import pytest

from shared.rules.metrics import contributions

from .builders import PATIENT, Stream

ADMITTED = {"insurer_number": "462010", "insured_number": "0000123456", "display_name": "山田"}


def admitted(**fields: Any) -> Stream:
    s = Stream()
    s.admission("2024-06-03T10:00", **{"patient": ADMITTED, **fields})
    return s


def test_stay_update_setting_only_the_care_level_keeps_the_admission_patient_and_ward() -> None:
    s = admitted(care_level="unknown", ward_type="general")
    s.stay_update("2024-06-04T09:00", care_level="care_2")
    state = s.fold()
    assert state.care_level == "care_2"
    assert state.ward_type == "general"
    assert state.patient is not None
    assert state.patient.model_dump(exclude_none=True) == ADMITTED


def test_stay_update_sets_patient_fields_one_by_one() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00", patient={"hospital_patient_id": "P-77"}, care_level=None)
    s.stay_update("2024-06-05T09:00", patient={"insurer_number": "462039"})
    s.stay_update("2024-06-06T09:00", patient={"insured_number": "0000999999"})
    state = s.fold()
    assert state.patient is not None
    assert state.patient.model_dump(exclude_none=True) == {
        "hospital_patient_id": "P-77",
        "insurer_number": "462039",
        "insured_number": "0000999999",
    }
    assert state.insurer_number == "462039"  # the municipality breakdown key follows


def test_null_in_a_stay_update_does_not_clear_a_field() -> None:
    s = admitted()
    s.stay_update("2024-06-04T09:00", patient={"display_name": None, "insurer_number": "462039"})
    state = s.fold()
    assert state.patient is not None
    assert state.patient.display_name == "山田"
    assert state.patient.insurer_number == "462039"


@pytest.mark.parametrize(
    ("update_at", "expected"),
    [
        ("2024-06-04T09:00", "care_4"),  # after the second admission: the update is the latest
        ("2024-06-03T12:00", "care_1"),  # between them: the later admission sets it again
    ],
)
def test_a_later_admission_sets_what_it_carries_over_earlier_updates(
    update_at: str, expected: str
) -> None:
    s = admitted(care_level="care_2", ward_type="general")
    s.admission("2024-06-03T18:00", care_level="care_1", ward_type=None, patient=PATIENT)
    s.stay_update(update_at, care_level="care_4", ward_type="long_term")
    state = s.fold()
    assert state.care_level == expected
    # the second admission sets no ward type, so the update sets it whenever it happened
    assert state.ward_type == "long_term"
    assert state.admitted_at is not None
    assert state.admitted_at.hour == 10  # the earliest admission is still the admission


def test_an_update_posted_late_but_occurring_before_the_admission_is_overridden() -> None:
    s = admitted(care_level="care_3")
    s.stay_update("2024-06-01T09:00", care_level="support_1")
    assert s.fold().care_level == "care_3"


def test_ties_in_occurred_at_go_to_the_later_arrival() -> None:
    s = admitted(care_level="care_3")
    s.stay_update("2024-06-03T10:00", care_level="care_5")
    assert s.fold().care_level == "care_5"


def test_a_cancelled_stay_update_stops_counting() -> None:
    s = admitted(care_level="care_2", ward_type="general")
    update = s.stay_update(
        "2024-06-04T09:00",
        patient={"insurer_number": "462039"},
        care_level="none",
        ward_type="psychiatric",
    )
    s.cancel("2024-06-05T09:00", update)
    state = s.fold()
    assert (state.care_level, state.ward_type) == ("care_2", "general")
    assert state.insurer_number == "462010"


def test_admission_without_care_level_or_ward_type_is_unknown_and_null() -> None:
    s = admitted(care_level=None, ward_type=None)
    state = s.fold()
    assert (state.care_level, state.ward_type) == ("unknown", None)
    [admission_side] = contributions(state)
    assert (admission_side.care_level_band, admission_side.ward_type) == ("other", None)


def test_stay_update_without_an_admission_counts_in_no_metric() -> None:
    s = Stream()
    s.stay_update("2024-06-04T09:00", patient={"hospital_patient_id": "P-1"}, care_level="care_1")
    state = s.fold()
    assert not state.has_admission
    assert state.care_level == "care_1"
    assert state.patient is not None
    assert state.patient.hospital_patient_id == "P-1"
    assert contributions(state) == []


def test_a_care_level_learnt_after_the_admission_makes_the_discharge_eligible() -> None:
    s = admitted(care_level="none", care_office_id=None)
    s.discharge("2024-06-20T11:00")
    assert s.fold().eligible is False
    s.stay_update("2024-06-10T09:00", care_level="care_1")
    state = s.fold()
    assert state.eligible is True
    assert state.missed is True


def test_breakdown_keys_move_with_the_stay_update() -> None:
    s = admitted(care_level="support_2", ward_type="general")
    s.discharge("2024-06-20T11:00")
    before = {c.side: c for c in contributions(s.fold())}
    s.stay_update(
        "2024-06-05T09:00",
        patient={"insurer_number": "462039"},
        care_level="care_3",
        ward_type="recovery_rehab",
    )
    after = {c.side: c for c in contributions(s.fold())}
    assert {c.care_level_band for c in before.values()} == {"support"}
    for side in ("admission", "discharge"):
        key = (after[side].care_level_band, after[side].ward_type, after[side].insurer_number)
        assert key == ("care", "recovery_rehab", "462039")
        assert after[side].counts() == before[side].counts()
