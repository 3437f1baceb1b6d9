"""Cancels (取消), arrival order, ties, duplicates and parties of an episode."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest
from pydantic import TypeAdapter

from shared.rules.flags import open_flags
from shared.rules.fold import cancelled_events, dedupe_by_event_id, effective_events, fold
from shared.rules.metrics import contributions
from shared.rules.state import EpisodeState

from .builders import HOSPITAL, OFFICE, OFFICE_2, PATIENT, Stream, at


def test_cancelled_admission_leaves_no_metrics_and_no_flags() -> None:
    s = Stream()
    admission = s.admission("2024-06-03T10:00")
    s.discharge("2024-06-20T11:00")
    s.cancel("2024-06-21T10:00", admission)
    state = s.fold()
    assert state.has_admission is False
    assert state.admitted_at is None
    assert state.care_level is None
    assert (HOSPITAL, admission) in state.cancelled_events
    assert contributions(state) == []
    assert open_flags(state, at("2024-07-31T12:00")) == []


def test_cancelled_admission_replaced_by_a_corrected_one() -> None:
    s = Stream()
    wrong = s.admission("2024-06-03T10:00", care_level="care_5")
    s.cancel("2024-06-03T11:00", wrong)
    s.admission("2024-06-03T10:00", care_level="care_1")
    state = s.fold()
    assert state.care_level == "care_1"
    assert [c.side for c in contributions(state)] == ["admission"]


def test_cancelled_discharge_removes_the_discharge_side() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00")
    discharge = s.discharge("2024-06-20T11:00")
    assert s.fold().missed is True
    s.cancel("2024-06-20T12:00", discharge)
    state = s.fold()
    assert state.discharged_at is None
    assert state.eligible is None
    assert state.missed is None
    assert [c.side for c in contributions(state)] == ["admission"]


def test_cancelling_the_latest_discharge_falls_back_to_the_earlier_one() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00")
    s.discharge("2024-06-18T10:00", destination="death")
    later = s.discharge("2024-06-20T11:00", destination="home")
    s.cancel("2024-06-21T10:00", later)
    state = s.fold()
    assert state.discharged_at == at("2024-06-18T10:00")
    assert state.eligible is False


def test_cancel_arriving_before_its_target_still_removes_it() -> None:
    source = Stream()
    coordination_id = source.coordination("2024-06-15T10:00")
    [coordination] = source.records
    s = Stream()
    s.admission("2024-06-03T10:00")
    s.discharge("2024-06-20T11:00")
    s.cancel("2024-06-22T10:00", coordination_id)  # the target is not stored yet
    assert s.fold().missed is True
    s.records.append(replace(coordination, seq=len(s.records) + 1))
    state = s.fold()
    assert (HOSPITAL, coordination_id) in state.cancelled_events
    assert state.missed is True
    assert state.first_coordination_at is None


def test_cancelled_coordination_makes_the_discharge_missed() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00")
    coordination = s.coordination("2024-06-15T10:00")
    s.discharge("2024-06-20T11:00")
    assert s.fold().missed is False
    s.cancel("2024-06-25T10:00", coordination)
    assert s.fold().missed is True


def test_cancel_of_a_cancel_is_ignored() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00")
    discharge = s.discharge("2024-06-20T11:00")
    first_cancel = s.cancel("2024-06-20T12:00", discharge)
    s.cancel("2024-06-20T13:00", first_cancel)
    state = s.fold()
    assert state.discharged_at is None
    assert state.cancelled_events == frozenset({(HOSPITAL, discharge)})
    assert cancelled_events(s.records) == frozenset({(HOSPITAL, discharge)})


def test_effective_events_exclude_cancels_and_cancelled() -> None:
    s = Stream()
    admission = s.admission("2024-06-03T10:00")
    info = s.info("2024-06-04T10:00")
    s.cancel("2024-06-04T11:00", info, poster=OFFICE)
    assert [e.event_id for e in effective_events(s.records)] == [admission]


def test_equal_occurred_at_ties_are_broken_by_arrival() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00", care_level="care_3", care_office_id=OFFICE)
    s.admission("2024-06-03T10:00", care_level="care_4", care_office_id=OFFICE_2)
    s.discharge("2024-06-20T11:00", destination="death")
    s.discharge("2024-06-20T11:00", destination="home")
    shuffled = list(reversed(s.records))
    state = fold(shuffled, [], at("2024-07-01T00:00"))
    assert state.care_office_at_admission == OFFICE  # the first to arrive is the admission
    assert state.care_level == "care_4"  # the last to arrive is the latest to set it
    assert state.destination == "home"  # the last to arrive is the latest discharge


def test_replayed_event_ids_are_deduplicated() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00")
    s.coordination("2024-06-10T10:00")
    s.discharge("2024-06-20T11:00")
    replayed = s.records + [replace(r, seq=r.seq + 100) for r in s.records]
    assert len(dedupe_by_event_id(replayed)) == 3
    assert [r.seq for r in dedupe_by_event_id(replayed)] == [1, 2, 3]
    assert fold(replayed, [], at("2024-07-01T00:00")) == fold(s.records, [], at("2024-07-01T00:00"))


def test_patient_on_events_other_than_admission_and_stay_update_is_ignored() -> None:
    s = Stream()
    s.add(
        "admission_info",
        "2024-06-01T10:00",
        care_office_id=OFFICE,
        channel="fax",
        patient={**PATIENT, "display_name": "古い名前"},
    )
    s.add("care_assignment", "2024-06-02T10:00", care_office_id=OFFICE, patient=PATIENT)
    state = s.fold()
    assert state.patient is None
    assert state.insurer_number is None


def test_admission_patient_is_authoritative() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00")
    s.add(
        "discharge",
        "2024-06-20T10:00",
        destination="home",
        patient={**PATIENT, "display_name": "別名"},
    )
    state = s.fold()
    assert state.patient is not None
    assert state.patient.display_name == PATIENT["display_name"]


def test_events_of_another_episode_are_refused() -> None:
    a = Stream("A-1")
    a.admission()
    b = Stream("B-2")
    b.discharge()
    with pytest.raises(ValueError, match="one episode"):
        fold(a.records + b.records, [], at("2024-07-01T00:00"))


def test_an_empty_stream_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one event"):
        fold([], [], at("2024-07-01T00:00"))


def test_a_naive_now_is_refused() -> None:
    s = Stream()
    s.admission()
    with pytest.raises(ValueError, match="offset"):
        fold(s.records, [], datetime(2024, 7, 1))


def test_state_serializes_with_a_pydantic_type_adapter() -> None:
    s = Stream()
    s.admission()
    s.discharge()
    data = TypeAdapter(EpisodeState).dump_python(s.fold(), mode="json")
    assert data["discharge_date"] == "2024-06-20"
    assert data["missed"] is True
    assert data["rule_set"]["admission_info_deadline_days"] == 7


def test_two_posters_may_use_one_event_id_in_one_stay_without_touching_each_other() -> None:
    s = Stream()
    admission = s.admission("2024-06-03T10:00", care_office_id=OFFICE)
    s.info("2024-06-04T10:00")
    [_, info] = s.records
    s.records[1] = replace(info, event=info.event.model_copy(update={"event_id": admission}))
    state = s.fold()
    assert state.admitted_at == at("2024-06-03T10:00")  # neither replaced the other
    assert state.admission_info_at == at("2024-06-04T10:00")
    s.cancel("2024-06-05T10:00", admission, poster=OFFICE)  # the office cancels its own only
    state = s.fold()
    assert state.admitted_at == at("2024-06-03T10:00")
    assert state.admission_info_at is None
    assert state.cancelled_events == frozenset({(OFFICE, admission)})


def test_the_operators_cancel_names_the_id_whoever_posted_it() -> None:
    s = Stream()
    admission = s.admission("2024-06-03T10:00")
    s.cancel("2024-06-04T10:00", admission, poster="admin")
    assert s.fold().cancelled_events == frozenset({(HOSPITAL, admission)})
