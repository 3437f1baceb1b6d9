"""Fold an episode's events into its state: the pure core of the 入退院支援ルール engine."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final
from uuid import UUID

from shared.rules.calendar import admission_info_deadline, local_date
from shared.rules.events import (
    ADMIN_POSTER,
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


EventKey = tuple[str, UUID]  # (poster, event_id): an event_id is unique per posting organization


def event_key(record: RecordedEvent) -> EventKey:
    return (record.poster_org_id, record.event.event_id)


def dedupe_by_event_id(records: Iterable[RecordedEvent]) -> list[RecordedEvent]:
    """Keep the first arrival of each poster's event_id (a replay is a no-op), in fold order."""
    kept: dict[EventKey, RecordedEvent] = {}
    for record in records:
        current = kept.get(event_key(record))
        if current is None or _arrival_key(record) < _arrival_key(current):
            kept[event_key(record)] = record
    return sorted(kept.values(), key=sort_key)


def _arrival_key(record: RecordedEvent) -> tuple[int, str, str]:
    return (record.seq, record.poster_org_id, record.event.model_dump_json())


def cancel_targets(cancel: RecordedEvent, records: Iterable[RecordedEvent]) -> list[RecordedEvent]:
    """The events a cancel names: its poster's own event under that id; the operator's cancel
    names the id whoever posted it (it acts for every party)."""
    assert isinstance(cancel.event, CancelEvent)
    target_id = cancel.event.cancels_event_id
    return [
        r
        for r in records
        if r.event.event_id == target_id and cancel.poster_org_id in (r.poster_org_id, ADMIN_POSTER)
    ]


def cancelled_events(records: Sequence[RecordedEvent]) -> frozenset[EventKey]:
    """The events cancelled (取消), whichever arrived first; a cancel of a cancel is ignored."""
    cancelled: set[EventKey] = set()
    for cancel in (r for r in records if isinstance(r.event, CancelEvent)):
        targets = cancel_targets(cancel, records)
        if not any(isinstance(t.event, CancelEvent) for t in targets):
            cancelled.update(map(event_key, targets))
    return frozenset(cancelled)


def effective_events(records: Sequence[RecordedEvent]) -> list[Event]:
    """Non-cancelled, non-cancel events in fold order, after de-duplication."""
    ordered = dedupe_by_event_id(records)
    return _live(ordered, cancelled_events(ordered))


def _live(ordered: Sequence[RecordedEvent], cancelled: frozenset[EventKey]) -> list[Event]:
    """The effective events of records already de-duplicated and in fold order."""
    return [r.event for r in _live_records(ordered, cancelled)]


def _live_records(
    ordered: Sequence[RecordedEvent], cancelled: frozenset[EventKey]
) -> list[RecordedEvent]:
    """The same, keeping who posted each (the party rules need it)."""
    return [
        r for r in ordered if not isinstance(r.event, CancelEvent) and event_key(r) not in cancelled
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
    cancelled = cancelled_events(records)
    live_records = _live_records(records, cancelled)  # de-duplicated and ordered already
    live = [r.event for r in live_records]
    party_org_ids = parties(hospital_id, live_records)
    return _derive(hospital_id, encounter_ref, live, cancelled, party_org_ids, rule_sets, now)


@dataclass(frozen=True, slots=True)
class _EpisodeEvents:
    """The live events of one stay, sorted by what the rules read from them."""

    hospital_id: str
    admission: AdmissionEvent | None
    admission_date: date | None
    discharge: DischargeEvent | None
    assignments: list[CareAssignmentEvent]
    infos: list[AdmissionInfoEvent]
    coordinations: list[Coordination]
    facts: EpisodeFacts
    rule_set: RuleSet

    @property
    def named(self) -> str | None:
        """The care office the admission names."""
        return self.admission.care_office_id if self.admission is not None else None

    @property
    def info_office(self) -> str | None:
        """The care office of the first 入院時情報提供."""
        return self.infos[0].care_office_id if self.infos else None

    @property
    def first_target(self) -> str | None:
        """The first organization a coordination went to."""
        targets = (coordination_target(c, self.hospital_id) for c in self.coordinations)
        return next((t for t in targets if t), None)


def _stay(
    hospital_id: str, live: Sequence[Event], rule_sets: Sequence[RuleSet], now: datetime
) -> _EpisodeEvents:
    admission = next((e for e in live if isinstance(e, AdmissionEvent)), None)
    admission_date = local_date(admission.occurred_at) if admission is not None else None
    # The rules in force on the admission day; without an admission, on the first event's day.
    rule_day = admission_date or local_date(live[0].occurred_at if live else now)
    return _EpisodeEvents(
        hospital_id=hospital_id,
        admission=admission,
        admission_date=admission_date,
        discharge=next((e for e in reversed(live) if isinstance(e, DischargeEvent)), None),
        assignments=[e for e in live if isinstance(e, CareAssignmentEvent)],
        infos=[e for e in live if isinstance(e, AdmissionInfoEvent)],
        coordinations=[e for e in live if isinstance(e, COORDINATION_TYPES)],
        facts=episode_facts(live, has_admission=admission is not None),
        rule_set=rule_set_for(rule_sets, rule_day),
    )


@dataclass(frozen=True, slots=True)
class _AdmissionSide:
    """入院時情報提供: who was the care manager at admission, and was the information on time."""

    care_office: str | None = None
    deadline: date | None = None
    on_time: bool | None = None


def _admission_side(stay: _EpisodeEvents, now: datetime) -> _AdmissionSide:
    admission, admission_date = stay.admission, stay.admission_date
    if admission is None or admission_date is None:
        return _AdmissionSide()
    assigned_by_admission = [
        a for a in stay.assignments if local_date(a.occurred_at) <= admission_date
    ]
    care_office = (
        stay.named
        or (assigned_by_admission[-1].care_office_id if assigned_by_admission else None)
        or stay.info_office
    )
    deadline = admission_info_deadline(admission.occurred_at, stay.rule_set)
    on_time: bool | None = None
    if stay.infos:
        on_time = local_date(stay.infos[0].occurred_at) <= deadline
    elif care_office is not None and local_date(now) > deadline:
        on_time = False
    return _AdmissionSide(care_office, deadline, on_time)


@dataclass(frozen=True, slots=True)
class _DischargeSide:
    """退院調整: was the discharge in scope and eligible, and was it coordinated in time."""

    discharge_date: date | None = None
    length_of_stay: int | None = None
    short_stay: bool = False
    care_office: str | None = None
    eligible: bool | None = None
    coordinated: bool | None = None
    missed: bool | None = None
    lead_days: int | None = None
    on_time: bool | None = None


def _discharge_side(stay: _EpisodeEvents, scope_excluded: bool) -> _DischargeSide:
    discharge, rule_set = stay.discharge, stay.rule_set
    if discharge is None:
        return _DischargeSide()
    discharged_at = discharge.occurred_at
    discharge_date = local_date(discharged_at)
    length_of_stay = (
        (discharge_date - stay.admission_date).days if stay.admission_date is not None else None
    )
    short_stay = (
        rule_set.short_stay_max_days is not None
        and length_of_stay is not None
        and length_of_stay <= rule_set.short_stay_max_days
    )
    assigned_before = [a for a in stay.assignments if a.occurred_at < discharged_at]
    in_scope = (
        discharge.destination not in rule_set.excluded_destinations
        and not scope_excluded
        and not short_stay
    )
    eligible = in_scope and (
        _had_care_manager(stay, discharged_at, bool(assigned_before))
        or _has_care_level(stay.facts)
        or bool(stay.coordinations)
    )
    coordinated = any(c.occurred_at <= discharged_at for c in stay.coordinations)
    lead_days = (
        (discharge_date - local_date(stay.coordinations[0].occurred_at)).days
        if coordinated
        else None
    )
    return _DischargeSide(
        discharge_date=discharge_date,
        length_of_stay=length_of_stay,
        short_stay=short_stay,
        care_office=(
            (assigned_before[-1].care_office_id if assigned_before else None)
            or stay.named
            or stay.info_office
            or stay.first_target
        ),
        eligible=eligible,
        coordinated=coordinated,
        missed=eligible and not coordinated,
        lead_days=lead_days,
        on_time=lead_days >= rule_set.discharge_notice_lead_days if lead_days is not None else None,
    )


def _had_care_manager(stay: _EpisodeEvents, discharged_at: datetime, assigned_before: bool) -> bool:
    """A care manager was known before the discharge: named, assigned or informing."""
    return (
        stay.named is not None
        or assigned_before
        or any(i.occurred_at < discharged_at for i in stay.infos)
    )


def _has_care_level(facts: EpisodeFacts) -> bool:
    return facts.care_level is not None and facts.care_level not in UNSUPPORTED_CARE_LEVELS


def _derive(
    hospital_id: str,
    encounter_ref: str,
    live: Sequence[Event],
    cancelled: frozenset[EventKey],
    party_org_ids: frozenset[str],
    rule_sets: Sequence[RuleSet],
    now: datetime,
) -> EpisodeState:
    stay = _stay(hospital_id, live, rule_sets, now)
    scope_excluded = any(isinstance(e, ScopeExclusionEvent) for e in live)
    admitted = _admission_side(stay, now)
    discharged = _discharge_side(stay, scope_excluded)
    discharged_at = stay.discharge.occurred_at if stay.discharge is not None else None
    return EpisodeState(
        hospital_id=hospital_id,
        encounter_ref=encounter_ref,
        rule_set=stay.rule_set,
        patient=stay.facts.patient,
        admitted_at=stay.admission.occurred_at if stay.admission is not None else None,
        admission_date=stay.admission_date,
        care_level=stay.facts.care_level,
        ward_type=stay.facts.ward_type,
        care_office_at_admission=admitted.care_office,
        has_care_manager_at_admission=admitted.care_office is not None,
        admission_info_at=stay.infos[0].occurred_at if stay.infos else None,
        admission_info_care_office_id=stay.info_office,
        admission_info_deadline=admitted.deadline,
        admission_info_on_time=admitted.on_time,
        admission_info_before_discharge=any(
            discharged_at is None or i.occurred_at < discharged_at for i in stay.infos
        ),
        care_office_id=(
            (stay.assignments[-1].care_office_id if stay.assignments else None)
            or stay.named
            or stay.info_office
            or stay.first_target
        ),
        planned_discharge_date=_planned_discharge_date(live),
        first_coordination_at=stay.coordinations[0].occurred_at if stay.coordinations else None,
        discharged_at=discharged_at,
        discharge_date=discharged.discharge_date,
        destination=stay.discharge.destination if stay.discharge is not None else None,
        care_office_at_discharge=discharged.care_office,
        scope_excluded=scope_excluded,
        length_of_stay_days=discharged.length_of_stay,
        short_stay=discharged.short_stay,
        eligible=discharged.eligible,
        coordinated=discharged.coordinated,
        missed=discharged.missed,
        coordination_on_time=discharged.on_time,
        coordination_lead_days=discharged.lead_days,
        cancelled_events=cancelled,
        party_org_ids=party_org_ids,
    )


@dataclass(frozen=True, slots=True)
class EpisodeFacts:
    """The episode's patient fields, care level and ward type, each from its latest setter."""

    patient: Patient | None
    care_level: CareLevel | None
    ward_type: WardType | None


def episode_facts(live: Sequence[Event], *, has_admission: bool) -> EpisodeFacts:
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
    return EpisodeFacts(
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
