"""Fold an episode's events into its state: the pure core of the 入退院支援ルール engine."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final
from uuid import UUID

from shared.rules.calendar import admission_info_deadline, local_date
from shared.rules.events import (
    AdmissionEvent,
    AdmissionInfoEvent,
    CancelEvent,
    CareAssignmentEvent,
    CareLevel,
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
    WardType,
)
from shared.rules.parties import parties
from shared.rules.rule_set import RuleSet, rule_set_for
from shared.rules.state import UNSUPPORTED_CARE_LEVELS, EpisodeState

Coordination = DischargeCoordinationEvent | DischargeConferenceEvent | NoCmReferralEvent
COORDINATION_TYPES: Final = (
    DischargeCoordinationEvent,
    DischargeConferenceEvent,
    NoCmReferralEvent,
)
PATIENT_FIELDS: Final[tuple[str, ...]] = tuple(Patient.model_fields)


def sort_key(record: RecordedEvent) -> tuple[datetime, int, str]:
    """The fold's order: occurred_at, ties by arrival (seq), then event_id for totality."""
    return (record.event.occurred_at, record.seq, str(record.event.event_id))


def dedupe_by_event_id(records: Iterable[RecordedEvent]) -> list[RecordedEvent]:
    """Keep the first arrival of each event_id (a replay is a no-op), in fold order."""
    kept: dict[UUID, RecordedEvent] = {}
    for record in records:
        current = kept.get(record.event.event_id)
        if current is None or _arrival_key(record) < _arrival_key(current):
            kept[record.event.event_id] = record
    return sorted(kept.values(), key=sort_key)


def _arrival_key(record: RecordedEvent) -> tuple[int, str, str]:
    return (record.seq, record.poster_org_id, record.event.model_dump_json())


def cancelled_event_ids(records: Iterable[RecordedEvent]) -> frozenset[UUID]:
    """Targets of cancels (取消), whichever arrived first; a cancel of a cancel is ignored."""
    cancels = [r.event for r in records if isinstance(r.event, CancelEvent)]
    cancel_ids = {c.event_id for c in cancels}
    return frozenset(c.cancels_event_id for c in cancels if c.cancels_event_id not in cancel_ids)


def effective_events(records: Sequence[RecordedEvent]) -> list[Event]:
    """Non-cancelled, non-cancel events in fold order, after de-duplication."""
    ordered = dedupe_by_event_id(records)
    return _live(ordered, cancelled_event_ids(ordered))


def _live(ordered: Sequence[RecordedEvent], cancelled: frozenset[UUID]) -> list[Event]:
    """The effective events of records already de-duplicated and in fold order."""
    return [r.event for r in _live_records(ordered, cancelled)]


def _live_records(
    ordered: Sequence[RecordedEvent], cancelled: frozenset[UUID]
) -> list[RecordedEvent]:
    """The same, keeping who posted each (the party rules need it)."""
    return [
        r
        for r in ordered
        if not isinstance(r.event, CancelEvent) and r.event.event_id not in cancelled
    ]


def coordination_target(event: Coordination, hospital_id: str) -> str | None:
    """Who a coordination went to; for a conference, the first participant that is not the host."""
    if isinstance(event, DischargeConferenceEvent):
        return next((o for o in event.participant_org_ids if o != hospital_id), None)
    return event.to_org_id


def fold(
    events: Sequence[RecordedEvent], rule_sets: Sequence[RuleSet], now: datetime
) -> EpisodeState:
    """Derive an episode's state; the same events give the same state in any arrival order."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must carry an offset")
    records = dedupe_by_event_id(events)
    if not records:
        raise ValueError("an episode needs at least one event")
    hospital_id = records[0].event.hospital_id
    encounter_ref = records[0].event.encounter_ref
    if any(
        r.event.hospital_id != hospital_id or r.event.encounter_ref != encounter_ref
        for r in records
    ):
        raise ValueError("all events of a fold must belong to one episode")
    cancelled = cancelled_event_ids(records)
    live_records = _live_records(records, cancelled)  # de-duplicated and ordered already
    live = [r.event for r in live_records]
    party_org_ids = parties(hospital_id, live_records)
    return _derive(hospital_id, encounter_ref, live, cancelled, party_org_ids, rule_sets, now)


def _derive(
    hospital_id: str,
    encounter_ref: str,
    live: Sequence[Event],
    cancelled: frozenset[UUID],
    party_org_ids: frozenset[str],
    rule_sets: Sequence[RuleSet],
    now: datetime,
) -> EpisodeState:
    admission = next((e for e in live if isinstance(e, AdmissionEvent)), None)
    discharge = next((e for e in reversed(live) if isinstance(e, DischargeEvent)), None)
    assignments = [e for e in live if isinstance(e, CareAssignmentEvent)]
    infos = [e for e in live if isinstance(e, AdmissionInfoEvent)]
    coordinations: list[Coordination] = [e for e in live if isinstance(e, COORDINATION_TYPES)]
    first_info = infos[0] if infos else None
    first_target = next(
        (t for t in (coordination_target(c, hospital_id) for c in coordinations) if t), None
    )
    named = admission.care_office_id if admission is not None else None
    facts = stay_facts(live, has_admission=admission is not None)
    info_office = first_info.care_office_id if first_info is not None else None

    admission_date = local_date(admission.occurred_at) if admission is not None else None
    if admission_date is not None:
        rule_set = rule_set_for(rule_sets, admission_date)
    else:
        rule_set = rule_set_for(rule_sets, local_date(live[0].occurred_at if live else now))

    # Admission side (入院時情報提供).
    care_office_at_admission: str | None = None
    deadline: date | None = None
    on_time: bool | None = None
    if admission is not None and admission_date is not None:
        assigned_by_admission = [
            a for a in assignments if local_date(a.occurred_at) <= admission_date
        ]
        care_office_at_admission = (
            named
            or (assigned_by_admission[-1].care_office_id if assigned_by_admission else None)
            or info_office
        )
        deadline = admission_info_deadline(admission.occurred_at, rule_set)
        if first_info is not None:
            on_time = local_date(first_info.occurred_at) <= deadline
        elif care_office_at_admission is not None and local_date(now) > deadline:
            on_time = False

    # Discharge side (退院調整).
    discharged_at = discharge.occurred_at if discharge is not None else None
    discharge_date = local_date(discharged_at) if discharged_at is not None else None
    scope_excluded = any(isinstance(e, ScopeExclusionEvent) for e in live)
    length_of_stay = (
        (discharge_date - admission_date).days
        if discharge_date is not None and admission_date is not None
        else None
    )
    short_stay = (
        rule_set.short_stay_max_days is not None
        and length_of_stay is not None
        and length_of_stay <= rule_set.short_stay_max_days
    )
    care_office_at_discharge: str | None = None
    eligible: bool | None = None
    coordinated: bool | None = None
    missed: bool | None = None
    lead_days: int | None = None
    coordination_on_time: bool | None = None
    if discharge is not None and discharged_at is not None and discharge_date is not None:
        assigned_before = [a for a in assignments if a.occurred_at < discharged_at]
        care_office_at_discharge = (
            (assigned_before[-1].care_office_id if assigned_before else None)
            or named
            or info_office
            or first_target
        )
        had_care_manager = (
            named is not None
            or bool(assigned_before)
            or any(i.occurred_at < discharged_at for i in infos)
        )
        has_care_level = (
            facts.care_level is not None and facts.care_level not in UNSUPPORTED_CARE_LEVELS
        )
        in_scope = (
            discharge.destination not in rule_set.excluded_destinations
            and not scope_excluded
            and not short_stay
        )
        eligible = in_scope and (had_care_manager or has_care_level or bool(coordinations))
        coordinated = any(c.occurred_at <= discharged_at for c in coordinations)
        missed = eligible and not coordinated
        if coordinated:
            lead_days = (discharge_date - local_date(coordinations[0].occurred_at)).days
            coordination_on_time = lead_days >= rule_set.discharge_notice_lead_days

    return EpisodeState(
        hospital_id=hospital_id,
        encounter_ref=encounter_ref,
        rule_set=rule_set,
        patient=facts.patient,
        admitted_at=admission.occurred_at if admission is not None else None,
        admission_date=admission_date,
        care_level=facts.care_level,
        ward_type=facts.ward_type,
        care_office_at_admission=care_office_at_admission,
        has_care_manager_at_admission=care_office_at_admission is not None,
        admission_info_at=first_info.occurred_at if first_info is not None else None,
        admission_info_care_office_id=info_office,
        admission_info_deadline=deadline,
        admission_info_on_time=on_time,
        admission_info_before_discharge=any(
            discharged_at is None or i.occurred_at < discharged_at for i in infos
        ),
        care_office_id=(
            (assignments[-1].care_office_id if assignments else None)
            or named
            or info_office
            or first_target
        ),
        planned_discharge_date=_planned_discharge_date(live),
        first_coordination_at=coordinations[0].occurred_at if coordinations else None,
        discharged_at=discharged_at,
        discharge_date=discharge_date,
        destination=discharge.destination if discharge is not None else None,
        care_office_at_discharge=care_office_at_discharge,
        scope_excluded=scope_excluded,
        length_of_stay_days=length_of_stay,
        short_stay=short_stay,
        eligible=eligible,
        coordinated=coordinated,
        missed=missed,
        coordination_on_time=coordination_on_time,
        coordination_lead_days=lead_days,
        cancelled_event_ids=cancelled,
        party_org_ids=party_org_ids,
    )


@dataclass(frozen=True, slots=True)
class StayFacts:
    """The episode's patient fields, care level and ward type, each from its latest setter."""

    patient: Patient | None
    care_level: CareLevel | None
    ward_type: WardType | None


def stay_facts(live: Sequence[Event], *, has_admission: bool) -> StayFacts:
    """Field by field, the latest admission or stay_update (fold order) that sets a value.

    A field absent or null sets nothing, so a stay update that records only the care level
    keeps the admission's patient; ``patient`` on any other event type is ignored. With an
    admission and no care level set anywhere, the care level is ``unknown``.
    """
    patient: dict[str, object] = {}
    care_level: CareLevel | None = None
    ward_type: WardType | None = None
    for event in live:
        if not isinstance(event, AdmissionEvent | StayUpdateEvent):
            continue
        if event.patient is not None:
            for name in PATIENT_FIELDS:
                value = getattr(event.patient, name)
                if value is not None:
                    patient[name] = value
        care_level = event.care_level if event.care_level is not None else care_level
        ward_type = event.ward_type if event.ward_type is not None else ward_type
    if care_level is None and has_admission:
        care_level = "unknown"
    return StayFacts(
        patient=Patient.model_validate(patient) if patient else None,
        care_level=care_level,
        ward_type=ward_type,
    )


def _planned_discharge_date(live: Sequence[Event]) -> date | None:
    """退院予定日: the latest value set by a plan, an admission or a coordination."""
    planned: date | None = None
    for event in live:
        if isinstance(
            event, DischargePlannedEvent | AdmissionEvent | DischargeCoordinationEvent
        ) and (event.planned_discharge_date is not None):
            planned = event.planned_discharge_date
    return planned
