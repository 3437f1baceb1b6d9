"""Recording handover events: authorize each, store each exactly once, refold their episodes.

A call handles a list of events (a single POST is a list of one) inside the caller's
transaction with a handful of queries whatever its length: the episodes are locked once,
each event is checked in order against an in-memory fold of what its episode holds so far,
the accepted events are inserted together and every touched episode is refolded once. A
rejected event changes nothing; the caller commits, then enqueues the recomputes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.access.principal import Principal
from shared.episodes.repository import (
    StoredEvent,
    events_by_episode,
    fold_rows,
    load_events,
    recorded,
    state_columns,
)
from shared.events.checks import (
    MAX_FUTURE,
    Rejected,
    Status,
    authorize_party,
    authorize_shape,
    check_chronology,
    check_organizations,
    invalid,
    named_organizations,
    parse_event,
)
from shared.events.repository import (
    LockedStay,
    drop_if_empty,
    insert_events,
    lock_stays,
    write_episodes,
)
from shared.notify.outbox import record_event_notifications
from shared.organizations.reference import OrgRef, ReferenceData
from shared.rules.events import (
    AdmissionEvent,
    CancelEvent,
    DischargeEvent,
    Event,
    RecordedEvent,
)
from shared.rules.fold import fold
from shared.rules.rule_set import RuleSet
from shared.rules.state import EpisodeState

HTTP_STATUS: dict[Status, int] = {
    "created": 201, "duplicate": 200, "conflict": 409, "invalid": 422, "forbidden": 403,
}  # fmt: skip
CONFLICT_DETAIL = (
    "This event_id was already used with a different body; "
    "use a new event_id, or a cancel plus a new event to correct."
)
StayKey = tuple[str, str]


@dataclass
class Outcome:
    """What happened to one posted event, in the terms of the HTTP contract."""

    status: Status
    event_id: str | None
    episode_id: uuid.UUID | None = None
    recorded_at: datetime | None = None
    detail: str = ""
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.status]


@dataclass
class _Stay:
    """One locked episode while a call checks events against it in order."""

    episode: LockedStay
    records: list[RecordedEvent]
    rule_sets: list[RuleSet]
    now: datetime
    _state: EpisodeState | None = None

    def state(self) -> EpisodeState | None:
        """The fold of the records so far (none yet: a new episode), computed when first asked."""
        if self._state is None and self.records:
            self._state = fold(self.records, self.rule_sets, self.now)
        return self._state

    def add(self, record: RecordedEvent, state: EpisodeState | None = None) -> None:
        """Take an accepted event; ``state`` is the fold including it, if the check made one."""
        self.records.append(record)
        self._state = state


@dataclass
class _Call:
    """What one ingest call has looked up and accepted so far."""

    session: AsyncSession
    principal: Principal
    now: datetime
    reference: ReferenceData
    orgs: dict[str, OrgRef] = field(default_factory=dict)
    stored: dict[uuid.UUID, StoredEvent] = field(default_factory=dict)
    accepted: dict[uuid.UUID, tuple[Event, Any]] = field(default_factory=dict)
    recorded_at: dict[uuid.UUID, datetime] = field(default_factory=dict)
    stays: dict[StayKey, _Stay] = field(default_factory=dict)
    raced: dict[uuid.UUID, Status] = field(default_factory=dict)


async def ingest(
    session: AsyncSession,
    raw: Any,
    principal: Principal,
    now: datetime,
    reference: ReferenceData,
) -> Outcome:
    """Record one event."""
    return (await ingest_many(session, [raw], principal, now, reference))[0]


async def ingest_many(
    session: AsyncSession,
    raws: Sequence[Any],
    principal: Principal,
    now: datetime,
    reference: ReferenceData,
) -> list[Outcome]:
    """Record events in the order given; each gets its own outcome, valid ones are stored.

    ``reference`` is the process's cache of organizations and rule sets.
    """
    call = _Call(session, principal, now, reference)
    outcomes: list[Outcome | None] = [None] * len(raws)
    events: dict[int, Event] = {}
    for i, raw in enumerate(raws):
        try:
            events[i] = parse_event(raw)
            authorize_shape(events[i], principal)
        except Rejected as exc:
            outcomes[i] = Outcome(exc.status, _raw_event_id(raw), detail=exc.detail,
                                  errors=exc.errors)  # fmt: skip
    pending = {i: e for i, e in events.items() if outcomes[i] is None}
    await _load_organizations(call, pending.values())
    targets = [e.cancels_event_id for e in pending.values() if isinstance(e, CancelEvent)]
    await _lock_and_load(
        call, pending.values(), [*(e.event_id for e in pending.values()), *targets]
    )
    for i, event in pending.items():
        outcomes[i] = _check(call, event, raws[i])
    await _insert_accepted(call)
    await _refold(call)
    await record_event_notifications(call.session, _notified(call), now)  # webhooks (issue 14)
    return [_finish(call, o) for o in outcomes if o is not None]


def _notified(call: _Call) -> list[tuple[Event, uuid.UUID, EpisodeState | None]]:
    """The stored events with their episode and its fold, for the webhook outbox (issue 14)."""
    notified: list[tuple[Event, uuid.UUID, EpisodeState | None]] = []
    for event, _ in call.accepted.values():
        stay = call.stays[(event.hospital_id, event.encounter_ref)]
        notified.append((event, stay.episode.id, stay.state()))
    return notified


def _raw_event_id(raw: Any) -> str | None:
    value = raw.get("event_id") if isinstance(raw, dict) else None
    return value if isinstance(value, str) else None


async def _load_stored(call: _Call, event_ids: Sequence[uuid.UUID]) -> None:
    """Events already recorded under these ids (also cancel targets), in one query."""
    wanted = [i for i in event_ids if i not in call.stored]
    for row in await load_events(call.session, [], wanted):
        call.stored[row.event_id] = row


async def _load_organizations(call: _Call, events: Iterable[Event]) -> None:
    named = {org for e in events for org in named_organizations(e)}
    if named:
        call.orgs.update(await call.reference.organizations(call.session, named))


async def _lock_and_load(call: _Call, events: Iterable[Event], event_ids: list[uuid.UUID]) -> None:
    """Lock (or create) the events' episodes in key order (no deadlocks), then read them.

    One read after the locks gives each locked episode's events and any event stored under
    ``event_ids``: a twin posted meanwhile has committed by then, so it is seen.
    """
    keys = {(e.hospital_id, e.encounter_ref) for e in events if e.hospital_id in call.orgs}
    episodes = await lock_stays(call.session, list(keys)) if keys else []
    # version 1: inserted just now, so it has no events yet (the upsert bumps existing ones).
    existing = {e.id for e in episodes if e.version > 1}
    events_of: dict[uuid.UUID, list[StoredEvent]] = {}
    for row in await load_events(call.session, list(existing), event_ids):
        call.stored[row.event_id] = row
        if row.episode_id in existing:
            events_of.setdefault(row.episode_id, []).append(row)
    rule_sets: dict[str, list[RuleSet]] = {}
    for episode in episodes:
        region = call.orgs[episode.hospital_id].region
        if region not in rule_sets:
            rule_sets[region] = await call.reference.rule_sets(call.session, region)
        records = [recorded(r) for r in events_of.get(episode.id, [])]
        stay = _Stay(episode, records, rule_sets[region], call.now)
        call.stays[(episode.hospital_id, episode.encounter_ref)] = stay


def _check(call: _Call, event: Event, raw: Any) -> Outcome:
    """api.md's order: authorization, validation, idempotency; then what the event would do.

    So a replay answers ``duplicate`` only to a key that may still post it, and only if the
    event is still valid; the shape was authorized before the episodes were loaded.
    """
    event_id = str(event.event_id)
    stay = call.stays.get((event.hospital_id, event.encounter_ref))  # none: unknown hospital
    try:
        if call.principal.is_care_office and stay is not None:
            authorize_party(call.principal, stay.state())
        if isinstance(event, CancelEvent):
            _check_cancel(call, event)
        if event.occurred_at > call.now + MAX_FUTURE:
            raise invalid(["body", "occurred_at"], "must not be more than 24 hours in the future")
        check_organizations(call.orgs, event)
    except Rejected as exc:
        return Outcome(exc.status, event_id, detail=exc.detail, errors=exc.errors)
    previous = call.stored.get(event.event_id)
    if previous is not None or event.event_id in call.accepted:
        body = previous.body if previous is not None else call.accepted[event.event_id][1]
        if body == raw:
            return Outcome("duplicate", event_id)
        return Outcome("conflict", event_id, detail=CONFLICT_DETAIL)
    assert stay is not None  # check_organizations found the hospital, so its stay is locked
    record = RecordedEvent(event=event, seq=2**62 + len(call.accepted),
                           poster_org_id=call.principal.label)  # fmt: skip
    state = None
    if isinstance(event, DischargeEvent | AdmissionEvent):  # they alone can break chronology
        state = fold([*stay.records, record], stay.rule_sets, call.now)
        try:
            check_chronology(state)
        except Rejected as exc:
            return Outcome(exc.status, event_id, detail=exc.detail, errors=exc.errors)
    stay.add(record, state)
    call.accepted[event.event_id] = (event, raw)
    return Outcome("created", event_id, stay.episode.id)


def _check_cancel(call: _Call, event: CancelEvent) -> None:
    """Only the target's poster may cancel it (403), and only an event of the same stay (422)."""
    loc: list[str | int] = ["body", "cancels_event_id"]
    stored = call.stored.get(event.cancels_event_id)
    if stored is not None:
        target_type, poster = stored.type, stored.poster_org_id
        target_stay = (stored.hospital_id, str(stored.body.get("encounter_ref")))
    elif event.cancels_event_id in call.accepted:
        target = call.accepted[event.cancels_event_id][0]
        target_type, poster = target.type, call.principal.label
        target_stay = (target.hospital_id, target.encounter_ref)
    else:
        raise invalid(loc, "no event with this id was recorded")
    if not call.principal.is_admin and poster != call.principal.organization_id:
        raise Rejected("forbidden", "Only the party that posted an event may cancel it.")
    if target_type == "cancel":
        raise invalid(loc, "a cancel cannot itself be cancelled")
    if target_stay != (event.hospital_id, event.encounter_ref):
        raise invalid(loc, "the cancelled event belongs to another hospital_id/encounter_ref")


async def _insert_accepted(call: _Call) -> None:
    """Insert every accepted event in one statement; a concurrent twin makes ours a replay."""
    if not call.accepted:
        return
    rows = [
        {"event_id": event.event_id,
         "episode_id": call.stays[(event.hospital_id, event.encounter_ref)].episode.id,
         "type": event.type, "occurred_at": event.occurred_at, "hospital_id": event.hospital_id,
         "poster_org_id": call.principal.label, "poster_key_id": call.principal.key_id,
         "cancels_event_id": event.cancels_event_id if isinstance(event, CancelEvent) else None,
         "body": raw}
        for event, raw in call.accepted.values()
    ]  # fmt: skip
    call.recorded_at.update(await insert_events(call.session, rows))
    lost = [i for i in call.accepted if i not in call.recorded_at]
    if lost:  # another transaction recorded these meanwhile: ours are replays or conflicts
        await _load_stored(call, lost)
    for event_id in lost:
        _, raw = call.accepted.pop(event_id)
        call.raced[event_id] = "duplicate" if call.stored[event_id].body == raw else "conflict"


async def _refold(call: _Call) -> None:
    """Write each touched episode's fold; drop episodes this call created in vain.

    The checks already folded every stored and accepted event of each locked episode, in the
    order the stored sequence will give them, so that fold is written as it is. Only when a
    twin event won a race is the episode reread and refolded from what was really stored.
    """
    touched = {
        call.stays[(e.hospital_id, e.encounter_ref)].episode.id for e, _ in call.accepted.values()
    }
    reread = await events_by_episode(call.session, list(touched)) if call.raced else {}
    folds = []
    for stay in call.stays.values():
        episode = stay.episode
        if episode.id not in touched:
            continue
        if call.raced:
            state = fold_rows(reread[episode.id], stay.rule_sets, call.now)
        else:
            folded = stay.state()
            assert folded is not None  # the episode received an event
            state = folded
        folds.append({"episode_id": episode.id, **state_columns(state)})
    await write_episodes(call.session, folds, call.now)
    await drop_if_empty(
        call.session, [s.episode.id for s in call.stays.values() if s.episode.id not in touched]
    )


def _finish(call: _Call, outcome: Outcome) -> Outcome:
    """Fill in the episode and recorded time; a created event that lost a race is a replay."""
    if outcome.status not in ("created", "duplicate") or outcome.event_id is None:
        return outcome
    event_id = uuid.UUID(outcome.event_id)
    if event_id in call.recorded_at:  # stored by this call (a repeat in a batch: duplicate)
        event = call.accepted[event_id][0]
        stay = call.stays[(event.hospital_id, event.encounter_ref)]
        return Outcome(outcome.status, outcome.event_id, stay.episode.id,
                       call.recorded_at[event_id])  # fmt: skip
    row = call.stored[event_id]
    status = call.raced.get(event_id, outcome.status)
    detail = CONFLICT_DETAIL if status == "conflict" else ""
    return Outcome(status, outcome.event_id, row.episode_id, row.recorded_at, detail=detail)
