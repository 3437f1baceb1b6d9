"""Property tests: the fold is order-independent, replay-proof and rebuild = incremental."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.rules.events import (
    AdmissionEvent,
    AdmissionInfoEvent,
    CancelEvent,
    CareAssignmentEvent,
    DischargeConferenceEvent,
    DischargeCoordinationEvent,
    DischargeEvent,
    DischargePlannedEvent,
    Event,
    NoCmReferralEvent,
    Patient,
    RecordedEvent,
    ScopeExclusionEvent,
    StayUpdateEvent,
)
from shared.rules.flags import open_flags
from shared.rules.fold import dedupe_by_event_id, effective_events, fold
from shared.rules.metrics import COUNT_FIELDS, contributions
from shared.rules.rule_set import RuleSet
from shared.rules.zone import TOKYO
from tests.hypothesis_profiles import scaled

from .builders import CENTER, HOSPITAL, OFFICE, OFFICE_2

BASE = datetime(2024, 6, 1, tzinfo=TOKYO)
NOW = BASE + timedelta(days=60)
CARE_LEVELS = st.sampled_from(["support_1", "care_3", "applying", "none", "unknown"])
WARD_TYPES = st.sampled_from(["general", "long_term"])
# Few values per field, so that setters often disagree and the latest one matters.
PATIENT_VALUES: dict[str, st.SearchStrategy[str]] = {
    "insurer_number": st.sampled_from(["462010", "462039"]),
    "insured_number": st.sampled_from(["0000123456", "0000654321"]),
    "display_name": st.sampled_from(["山田　花子", "山田　はな"]),
    "hospital_patient_id": st.sampled_from(["P-0001", "P-0002"]),
}


@st.composite
def patients(draw: Any, identified: bool) -> Patient:
    """Any subset of the patient fields; ``identified``: as an admission must (insured or ID)."""
    fields = {name: draw(st.none() | values) for name, values in PATIENT_VALUES.items()}
    if identified and fields["insured_number"] is None and fields["hospital_patient_id"] is None:
        key = draw(st.sampled_from(["insured_number", "hospital_patient_id"]))
        fields[key] = draw(PATIENT_VALUES[key])
    return Patient(**fields)


RULE_SETS = [
    RuleSet(effective_from=date(2024, 6, 10), deadline_calendar="business", short_stay_max_days=1),
    RuleSet(effective_from=date(2024, 6, 20), admission_info_deadline_days=0),
]
OFFICES = st.sampled_from([OFFICE, OFFICE_2, CENTER])
KINDS = [
    "admission",
    "stay_update",
    "admission_info",
    "care_assignment",
    "discharge_planned",
    "discharge_coordination",
    "discharge_conference",
    "no_cm_referral",
    "discharge",
    "scope_exclusion",
]


@dataclass(frozen=True)
class Draft:
    """What every kind's builder may use: hypothesis' draw, a drawn planned date, the envelope."""

    draw: Any
    planned: date | None
    common: dict[str, Any]


def make_event(draw: Any, kind: str, event_id: UUID, occurred_at: datetime) -> Event:
    common = {
        "event_id": event_id,
        "occurred_at": occurred_at,
        "hospital_id": HOSPITAL,
        "encounter_ref": "P-1",
    }
    planned = draw(st.none() | st.integers(0, 40).map(lambda d: date(2024, 6, 1) + timedelta(d)))
    return EVENT_BUILDERS.get(kind, _scope_exclusion)(Draft(draw, planned, common))


def _admission(d: Draft) -> Event:
    return AdmissionEvent(
        type="admission",
        patient=d.draw(patients(identified=True)),
        care_level=d.draw(st.none() | CARE_LEVELS),
        ward_type=d.draw(st.none() | WARD_TYPES),
        care_office_id=d.draw(st.none() | OFFICES),
        planned_discharge_date=d.planned,
        **d.common,
    )


def _stay_update(d: Draft) -> Event:
    patient = d.draw(st.none() | patients(identified=False))
    care_level, ward_type = d.draw(st.none() | CARE_LEVELS), d.draw(st.none() | WARD_TYPES)
    if (patient is None or not patient.sets_anything()) and care_level is None:
        care_level = d.draw(CARE_LEVELS)  # an update must set something
    return StayUpdateEvent(
        type="stay_update", patient=patient, care_level=care_level, ward_type=ward_type, **d.common
    )


def _admission_info(d: Draft) -> Event:
    return AdmissionInfoEvent(
        type="admission_info", care_office_id=d.draw(OFFICES), channel="fax", **d.common
    )


def _care_assignment(d: Draft) -> Event:
    return CareAssignmentEvent(type="care_assignment", care_office_id=d.draw(OFFICES), **d.common)


def _discharge_planned(d: Draft) -> Event:
    return DischargePlannedEvent(
        type="discharge_planned", planned_discharge_date=d.planned or date(2024, 6, 25), **d.common
    )


def _discharge_coordination(d: Draft) -> Event:
    return DischargeCoordinationEvent(
        type="discharge_coordination",
        to_org_id=d.draw(OFFICES),
        channel="ict",
        planned_discharge_date=d.planned,
        **d.common,
    )


def _discharge_conference(d: Draft) -> Event:
    return DischargeConferenceEvent(
        type="discharge_conference",
        participant_org_ids=[HOSPITAL, *d.draw(st.lists(OFFICES, max_size=2))],
        **d.common,
    )


def _no_cm_referral(d: Draft) -> Event:
    return NoCmReferralEvent(type="no_cm_referral", to_org_id=CENTER, **d.common)


def _discharge(d: Draft) -> Event:
    return DischargeEvent(
        type="discharge",
        destination=d.draw(st.sampled_from(["home", "death", "other_hospital", "other"])),
        **d.common,
    )


def _scope_exclusion(d: Draft) -> Event:
    return ScopeExclusionEvent(type="scope_exclusion", reason="respite", **d.common)


# One builder per kind of KINDS; each draws that kind's own fields.
EVENT_BUILDERS: dict[str, Callable[[Draft], Event]] = {
    "admission": _admission,
    "stay_update": _stay_update,
    "admission_info": _admission_info,
    "care_assignment": _care_assignment,
    "discharge_planned": _discharge_planned,
    "discharge_coordination": _discharge_coordination,
    "discharge_conference": _discharge_conference,
    "no_cm_referral": _no_cm_referral,
    "discharge": _discharge,
    "scope_exclusion": _scope_exclusion,
}


@st.composite
def episodes(draw: Any, distinct_times: bool = False) -> list[RecordedEvent]:
    """One episode's events: mostly an admission, some handovers, a discharge, a few cancels."""
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=10))
    if draw(st.booleans()):
        kinds = ["admission", *kinds, "discharge"]
    size = len(kinds) + 3
    if distinct_times:
        slots = draw(
            st.lists(st.integers(0, 60 * 24 * 40), min_size=size, max_size=size, unique=True)
        )
    else:  # half-day slots so that equal occurred_at ties are common
        slots = draw(
            st.lists(st.integers(0, 80).map(lambda k: k * 720), min_size=size, max_size=size)
        )
    zones = st.sampled_from([TOKYO, UTC])
    events: list[Event] = []
    for i, kind in enumerate(kinds):
        when = (BASE + timedelta(minutes=slots[i])).astimezone(draw(zones))
        events.append(make_event(draw, kind, UUID(int=i + 1), when))
    targets = draw(st.lists(st.integers(0, len(kinds) + 1), max_size=3))
    for j, target in enumerate(targets):
        when = (BASE + timedelta(minutes=slots[len(kinds) + j])).astimezone(draw(zones))
        events.append(
            CancelEvent(
                type="cancel",
                event_id=UUID(int=1000 + j),
                occurred_at=when,
                hospital_id=HOSPITAL,
                encounter_ref="P-1",
                # A target beyond the list names a cancel (ignored) or an unknown event.
                cancels_event_id=UUID(int=target + 1 if target < len(kinds) else 1000 + j - 1),
            )
        )
    # An assignment is posted by the hospital or by any office (a handover, or an office's own
    # claim before it is a party), so the party closure is checked in every order too.
    posters = [
        e.care_office_id
        if isinstance(e, AdmissionInfoEvent)
        else draw(st.sampled_from([HOSPITAL, OFFICE, OFFICE_2, CENTER]))
        if isinstance(e, CareAssignmentEvent)
        else HOSPITAL
        for e in events
    ]
    return [
        RecordedEvent(event=e, seq=i + 1, poster_org_id=p)
        for i, (e, p) in enumerate(zip(events, posters, strict=True))
    ]


def aggregate(records: list[RecordedEvent]) -> Counter[tuple[Any, ...]]:
    """Daily aggregate rows keyed like the worker's table."""
    rows: Counter[tuple[Any, ...]] = Counter()
    for c in contributions(fold(records, RULE_SETS, NOW)):
        key = (
            c.side,
            c.day,
            c.hospital_id,
            c.care_office_id,
            c.insurer_number,
            c.ward_type,
            c.care_level_band,
        )
        for name in COUNT_FIELDS:
            rows[(*key, name)] += getattr(c, name)
        if c.lead_days is not None:
            rows[(*key, "lead", c.lead_days)] += 1
    return rows


@settings(max_examples=scaled(120))
@given(records=episodes(), data=st.data())
def test_any_arrival_order_folds_to_the_same_state(
    records: list[RecordedEvent], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(records))
    assert fold(shuffled, RULE_SETS, NOW) == fold(records, RULE_SETS, NOW)


@settings(max_examples=scaled(120))
@given(records=episodes(distinct_times=True), data=st.data())
def test_any_seq_assignment_folds_to_the_same_state_when_times_differ(
    records: list[RecordedEvent], data: st.DataObject
) -> None:
    seqs = data.draw(st.permutations([r.seq * 7 for r in records]))
    reassigned = [replace(r, seq=s) for r, s in zip(records, seqs, strict=True)]
    assert fold(reassigned, RULE_SETS, NOW) == fold(records, RULE_SETS, NOW)


@given(records=episodes(), data=st.data())
def test_posting_the_stream_twice_changes_nothing(
    records: list[RecordedEvent], data: st.DataObject
) -> None:
    again = [replace(r, seq=r.seq + 500) for r in data.draw(st.permutations(records))]
    doubled = records + again
    assert len(dedupe_by_event_id(doubled)) == len(records)
    once = fold(records, RULE_SETS, NOW)
    assert fold(doubled, RULE_SETS, NOW) == once
    assert open_flags(fold(doubled, RULE_SETS, NOW), NOW) == open_flags(once, NOW)


@given(records=episodes(), data=st.data())
def test_rebuild_equals_incremental(records: list[RecordedEvent], data: st.DataObject) -> None:
    arrivals = data.draw(st.permutations(records))
    running: Counter[tuple[Any, ...]] = Counter()
    previous: Counter[tuple[Any, ...]] = Counter()
    for k in range(1, len(arrivals) + 1):
        prefix = list(arrivals[:k])
        current = aggregate(prefix)  # every prefix folds without error
        running.update(current)
        running.subtract(previous)
        previous = current
        assert fold(prefix + list(arrivals[k:]), RULE_SETS, NOW) == fold(records, RULE_SETS, NOW)
    rebuilt = aggregate(records)
    assert +running == +rebuilt


@settings(max_examples=scaled(120))
@given(records=episodes(), data=st.data())
def test_each_stay_fact_is_the_latest_live_admission_or_update_that_sets_it(
    records: list[RecordedEvent], data: st.DataObject
) -> None:
    state = fold(data.draw(st.permutations(records)), RULE_SETS, NOW)
    setters = [
        e for e in effective_events(records) if isinstance(e, AdmissionEvent | StayUpdateEvent)
    ]

    def latest(values: list[Any]) -> Any:
        return next((v for v in reversed(values) if v is not None), None)

    for name in PATIENT_VALUES:
        value = latest([getattr(e.patient, name) if e.patient else None for e in setters])
        assert (getattr(state.patient, name) if state.patient else None) == value
    level = latest([e.care_level for e in setters])
    assert state.care_level == (level or ("unknown" if state.has_admission else None))
    assert state.ward_type == latest([e.ward_type for e in setters])
    if state.has_admission:
        assert state.care_level_band is not None
        assert all(c.ward_type == state.ward_type for c in contributions(state))


@settings(max_examples=scaled(120))
@given(records=episodes(), minutes=st.integers(0, 60 * 24 * 70))
def test_state_contributions_and_flags_are_consistent(
    records: list[RecordedEvent], minutes: int
) -> None:
    now = BASE + timedelta(minutes=minutes)
    state = fold(records, RULE_SETS, now)
    assert (state.eligible is None) is (state.discharged_at is None)
    if state.missed:
        assert state.eligible
        assert not state.coordinated
    if state.coordinated:
        assert state.first_coordination_at is not None
        assert state.discharged_at is not None
        assert state.first_coordination_at <= state.discharged_at
    items = contributions(state)
    assert len(items) == (0 if not state.has_admission else 1 + state.is_discharged)
    for c in items:
        assert c.admission_info_on_time <= c.admission_info_provided
        assert c.admission_info_provided <= c.admissions_with_care_manager <= 1
        assert c.coordinated_discharges + c.missed_discharges == c.eligible_discharges
        assert c.coordination_on_time <= c.coordinated_discharges
        assert (c.lead_days is not None) is bool(c.coordinated_discharges)
    flag_kinds = {f.kind for f in open_flags(state, now)}
    expect_missed = bool(
        state.has_admission and state.missed and state.discharged_at and now >= state.discharged_at
    )
    assert ("missed_discharge_coordination" in flag_kinds) is expect_missed
    if "admission_info_overdue" in flag_kinds:
        assert state.admission_info_at is None
        assert state.has_care_manager_at_admission
    if "discharge_coordination_due" in flag_kinds:
        assert state.first_coordination_at is None
        assert not state.is_discharged
