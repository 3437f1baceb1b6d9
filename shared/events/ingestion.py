"""Recording handover events: authorize each, store each exactly once, refold their episodes.

A call handles a list of events (a single POST is a list of one) inside the caller's
transaction with a handful of queries whatever its length: the episodes are locked once,
each event is checked in order against an in-memory fold of what its episode holds so far,
the accepted events are inserted together and every touched episode is refolded once. A
rejected event changes nothing. ``shared.events.recording.record`` is its one caller: it
audits and queues the recomputes inside the caller's unit of work.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.access.principal import Principal
from shared.core.settings import get_settings
from shared.episodes.repository import (
    StoredEvent,
    events_by_episode,
    fold_rows,
    load_events,
    recorded,
    state_columns,
)
from shared.events.checks import (
    CONFLICT_DETAIL,
    CancelTarget,
    Rejected,
    Status,
    authorize_party,
    authorize_shape,
    check_cancel,
    check_chronology,
    check_not_future,
    check_organizations,
    check_sheet,
    named_organizations,
    parse_event,
    replay_status,
    split_sheet,
)
from shared.events.repository import (
    LockedEpisode,
    drop_if_empty,
    insert_events,
    lock_episodes,
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
from shared.rules.fold import EventKey, fold
from shared.rules.rule_set import RuleSet
from shared.rules.state import EpisodeState
from shared.sheets.store import NewSheet, insert_sheets, sheets_of_events

HTTP_STATUS: dict[Status, int] = {
    "created": 201, "duplicate": 200, "conflict": 409, "invalid": 422, "forbidden": 403,
}  # fmt: skip
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

    @classmethod
    def rejected(cls, event_id: str | None, exc: Rejected) -> Outcome:
        return cls(exc.status, event_id, detail=exc.detail, errors=exc.errors)


@dataclass
class _CheckedEpisode:
    """One locked episode while a call checks events against it in order."""

    episode: LockedEpisode
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
class _Accepted:
    """The events a call accepted so far, in order, each with its body as posted."""

    bodies: dict[uuid.UUID, tuple[Event, Any]] = field(default_factory=dict)

    def add(self, event: Event, raw: Any) -> None:
        self.bodies[event.event_id] = (event, raw)

    def __contains__(self, event_id: uuid.UUID) -> bool:
        return event_id in self.bodies

    def __len__(self) -> int:
        return len(self.bodies)

    def __iter__(self) -> Iterator[tuple[Event, Any]]:
        return iter(list(self.bodies.values()))

    def event(self, event_id: uuid.UUID) -> Event:
        return self.bodies[event_id][0]

    def body(self, event_id: uuid.UUID) -> Any:
        return self.bodies[event_id][1]

    def drop(self, event_id: uuid.UUID) -> Any:
        """Give up an event another transaction recorded first; its body."""
        return self.bodies.pop(event_id)[1]


@dataclass
class _Call:
    """One ingest call: who posts and when, what it read before the checks, what it accepted.

    The loads fill ``orgs``, ``stored`` and ``stays`` before any event is checked; the checks
    only read them, and add to ``accepted`` (and to the accepted event's stay).
    """

    session: AsyncSession
    principal: Principal
    now: datetime
    reference: ReferenceData
    orgs: dict[str, OrgRef] = field(default_factory=dict)
    stored: dict[EventKey, StoredEvent] = field(default_factory=dict)  # (poster, event_id)
    stays: dict[StayKey, _CheckedEpisode] = field(default_factory=dict)
    accepted: _Accepted = field(default_factory=_Accepted)
    # Sheets (issue 25) travel beside the bodies, which are stored without them: the sheets of
    # the accepted events, and those stored with events posted again (a replay compares them).
    # Keyed by event_id alone: one call has one poster, and an event_id is unique per poster.
    sheets: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    stored_sheets: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)

    def stay_of(self, event: Event) -> _CheckedEpisode:
        """The locked stay of an event that passed the checks."""
        return self.stays[(event.hospital_id, event.encounter_ref)]


@dataclass(frozen=True, slots=True)
class _Inserted:
    """What the insert did: when each accepted event was recorded, and which lost a race.

    ``raced`` holds, for an event another transaction recorded first, our answer (a replay
    or a conflict) and the row that was stored.
    """

    recorded_at: dict[uuid.UUID, datetime]
    raced: dict[uuid.UUID, tuple[Status, StoredEvent]]


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
    outcomes: dict[int, Outcome] = {}
    pending: dict[int, tuple[Event, Any, dict[str, Any] | None]] = {}
    for i, raw in enumerate(raws):
        try:
            pending[i] = _parse(raw, principal)
        except Rejected as exc:
            outcomes[i] = Outcome.rejected(_raw_event_id(raw), exc)
    await _load(call, [event for event, _, _ in pending.values()])
    for i, (event, body, sheet) in pending.items():
        outcomes[i] = _check(call, event, body, sheet)
    inserted = await _insert_accepted(call)
    await _refold(call, inserted)
    await record_event_notifications(  # webhooks (issue 14): a sheet is only said to be there
        call.session, _notified(call), now, with_sheets=set(call.sheets)
    )
    return [_finish(call, inserted, outcomes[i]) for i in range(len(raws))]


def _parse(raw: Any, principal: Principal) -> tuple[Event, Any, dict[str, Any] | None]:
    """The checks that need only the body: its shape, the poster's role for it, its sheet.

    The event, its body as it will be stored (without the sheet), and the sheet as posted.
    """
    body, sheet = split_sheet(raw)
    event = parse_event(body)
    authorize_shape(event, principal)
    return event, body, None if sheet is None else check_sheet(sheet, event)


def _notified(call: _Call) -> list[tuple[Event, uuid.UUID, EpisodeState | None]]:
    """The stored events with their episode and its fold, for the webhook outbox (issue 14)."""
    notified: list[tuple[Event, uuid.UUID, EpisodeState | None]] = []
    for event, _ in call.accepted:
        stay = call.stay_of(event)
        notified.append((event, stay.episode.id, stay.state()))
    return notified


def _raw_event_id(raw: Any) -> str | None:
    value = raw.get("event_id") if isinstance(raw, dict) else None
    return value if isinstance(value, str) else None


async def _load(call: _Call, events: Iterable[Event]) -> None:
    """Everything the checks read: named organizations, locked stays, the poster's events
    under the ids (an event_id is the poster's own: another's are neither read nor revealed)."""
    pending = list(events)
    await _load_organizations(call, pending)
    targets = [e.cancels_event_id for e in pending if isinstance(e, CancelEvent)]
    await _lock_and_load(call, pending, [*(e.event_id for e in pending), *targets])
    label = call.principal.label
    posted_again = [e.event_id for e in pending if (label, e.event_id) in call.stored]
    call.stored_sheets = await sheets_of_events(call.session, get_settings(), label, posted_again)


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
    episodes = await lock_episodes(call.session, list(keys)) if keys else []
    # version 1: inserted just now, so it has no events yet (the upsert bumps existing ones).
    existing = {e.id for e in episodes if e.version > 1}
    events_of: dict[uuid.UUID, list[StoredEvent]] = {}
    for row in await load_events(call.session, list(existing), event_ids, call.principal.label):
        call.stored[(row.poster_org_id, row.event_id)] = row
        if row.episode_id in existing:
            events_of.setdefault(row.episode_id, []).append(row)
    rule_sets: dict[str, list[RuleSet]] = {}
    for episode in episodes:
        region = call.orgs[episode.hospital_id].region
        if region not in rule_sets:
            rule_sets[region] = await call.reference.rule_sets(call.session, region)
        records = [recorded(r) for r in events_of.get(episode.id, [])]
        stay = _CheckedEpisode(episode, records, rule_sets[region], call.now)
        call.stays[(episode.hospital_id, episode.encounter_ref)] = stay


def _check(call: _Call, event: Event, raw: Any, sheet: dict[str, Any] | None) -> Outcome:
    """api.md's order: authorization, validation, idempotency; then what the event would do.

    So a replay answers ``duplicate`` only to a key that may still post it, and only if the
    event is still valid; the shape was authorized before the episodes were loaded.
    """
    event_id = str(event.event_id)
    try:
        _authorize_and_validate(call, event)
    except Rejected as exc:
        return Outcome.rejected(event_id, exc)
    replay = _replay(call, event, raw, sheet)
    if replay is not None:
        return replay
    try:
        return _accept(call, event, raw, sheet)
    except Rejected as exc:
        return Outcome.rejected(event_id, exc)


def _authorize_and_validate(call: _Call, event: Event) -> None:
    """The party rule (403), the cancel rules (403, 422), then the body's own rules (422)."""
    stay = call.stays.get((event.hospital_id, event.encounter_ref))  # none: unknown hospital
    if call.principal.is_care_office and stay is not None:
        authorize_party(call.principal, stay.state())
    if isinstance(event, CancelEvent):
        check_cancel(call.principal, event, _cancel_target(call, event))
    check_not_future(event, call.now)
    check_organizations(call.orgs, event)


def _cancel_target(call: _Call, event: CancelEvent) -> CancelTarget | None:
    """The event the cancel names among the poster's own: stored already, or accepted earlier
    in this call. The operator acts for every party: its cancel names the id in the stay."""
    stored = call.stored.get((call.principal.label, event.cancels_event_id))
    if stored is None and call.principal.is_admin:
        stored = _in_stay(call, event.cancels_event_id, (event.hospital_id, event.encounter_ref))
    if stored is not None:
        stay = (stored.hospital_id, str(stored.body.get("encounter_ref")))
        return CancelTarget(stored.type, stored.poster_org_id, stay)
    if event.cancels_event_id in call.accepted:
        target = call.accepted.event(event.cancels_event_id)
        stay = (target.hospital_id, target.encounter_ref)
        return CancelTarget(target.type, call.principal.label, stay)
    return None


def _in_stay(call: _Call, event_id: uuid.UUID, stay: StayKey) -> StoredEvent | None:
    """An event of the stay under this id, whoever posted it (the locked stay's events)."""
    for (_, stored_id), row in call.stored.items():
        if stored_id == event_id and (row.hospital_id, row.body.get("encounter_ref")) == stay:
            return row
    return None


def _replay(call: _Call, event: Event, raw: Any, sheet: dict[str, Any] | None) -> Outcome | None:
    """Idempotency: an event_id the poster stored or sent already is a replay or a conflict.

    The sheet is part of the body: the same sheet again is a replay, another one a conflict.
    """
    previous = call.stored.get((call.principal.label, event.event_id))
    if previous is not None:
        stored = (previous.body, call.stored_sheets.get(event.event_id))
    elif event.event_id in call.accepted:
        stored = (call.accepted.body(event.event_id), call.sheets.get(event.event_id))
    else:
        return None
    status = replay_status(stored, (raw, sheet))
    return Outcome(status, str(event.event_id), detail=_detail(status))


def _detail(status: Status) -> str:
    return CONFLICT_DETAIL if status == "conflict" else ""


def _accept(call: _Call, event: Event, raw: Any, sheet: dict[str, Any] | None) -> Outcome:
    """Add the event to its stay unless the stay's fold would break (422)."""
    stay = call.stay_of(event)  # check_organizations found the hospital, so its stay is locked
    record = RecordedEvent(event=event, seq=2**62 + len(call.accepted),
                           poster_org_id=call.principal.label)  # fmt: skip
    state = None
    if isinstance(event, DischargeEvent | AdmissionEvent):  # they alone can break chronology
        state = fold([*stay.records, record], stay.rule_sets, call.now)
        check_chronology(state)
    stay.add(record, state)
    call.accepted.add(event, raw)
    if sheet is not None:
        call.sheets[event.event_id] = sheet
    return Outcome("created", str(event.event_id), stay.episode.id)


async def _insert_accepted(call: _Call) -> _Inserted:
    """Insert every accepted event in one statement; a concurrent twin makes ours a replay."""
    if not call.accepted:
        return _Inserted({}, {})
    rows = [
        {"event_id": event.event_id, "episode_id": call.stay_of(event).episode.id,
         "type": event.type, "occurred_at": event.occurred_at, "hospital_id": event.hospital_id,
         "poster_org_id": call.principal.label, "poster_key_id": call.principal.key_id,
         "cancels_event_id": event.cancels_event_id if isinstance(event, CancelEvent) else None,
         "body": raw}
        for event, raw in call.accepted
    ]  # fmt: skip
    recorded_at = await insert_events(call.session, rows)
    lost = [event_id for event_id in call.accepted.bodies if event_id not in recorded_at]
    # Another transaction recorded these meanwhile: ours are replays or conflicts.
    label = call.principal.label
    twins = {r.event_id: r for r in await load_events(call.session, [], lost, label)}
    twin_sheets = await sheets_of_events(call.session, get_settings(), label, lost)
    raced = {
        i: (replay_status((twins[i].body, twin_sheets.get(i)),
                          (call.accepted.drop(i), call.sheets.pop(i, None))), twins[i])
        for i in lost
    }  # fmt: skip
    sheets = [
        NewSheet(event.event_id, label, call.stay_of(event).episode.id, event.occurred_at,
                 call.sheets[event.event_id])
        for event, _ in call.accepted
        if event.event_id in call.sheets
    ]  # fmt: skip
    await insert_sheets(call.session, get_settings(), sheets)
    return _Inserted(recorded_at, raced)


async def _refold(call: _Call, inserted: _Inserted) -> None:
    """Write each touched episode's fold; drop episodes this call created in vain.

    The checks already folded every stored and accepted event of each locked episode, in the
    order the stored sequence will give them, so that fold is written as it is. Only when a
    twin event won a race is the episode reread and refolded from what was really stored.
    """
    touched = {call.stay_of(e).episode.id for e, _ in call.accepted}
    reread = await events_by_episode(call.session, list(touched)) if inserted.raced else {}
    folds = []
    for stay in call.stays.values():
        if stay.episode.id in touched:
            state = _written_state(stay, reread, raced=bool(inserted.raced))
            folds.append({"episode_id": stay.episode.id, **state_columns(state)})
    await write_episodes(call.session, folds, call.now)
    await drop_if_empty(
        call.session, [s.episode.id for s in call.stays.values() if s.episode.id not in touched]
    )


def _written_state(
    stay: _CheckedEpisode, reread: dict[uuid.UUID, list[StoredEvent]], *, raced: bool
) -> EpisodeState:
    if raced:
        return fold_rows(reread[stay.episode.id], stay.rule_sets, stay.now)
    state = stay.state()
    assert state is not None  # the episode received an event
    return state


def _finish(call: _Call, inserted: _Inserted, outcome: Outcome) -> Outcome:
    """Fill in the episode and recorded time; a created event that lost a race is a replay."""
    if outcome.status not in ("created", "duplicate") or outcome.event_id is None:
        return outcome
    event_id = uuid.UUID(outcome.event_id)
    if event_id in inserted.recorded_at:  # stored by this call (a repeat in a batch: duplicate)
        stay = call.stay_of(call.accepted.event(event_id))
        return Outcome(outcome.status, outcome.event_id, stay.episode.id,
                       inserted.recorded_at[event_id])  # fmt: skip
    if event_id in inserted.raced:
        status, row = inserted.raced[event_id]
    else:
        status, row = outcome.status, call.stored[(call.principal.label, event_id)]
    return Outcome(
        status, outcome.event_id, row.episode_id, row.recorded_at, detail=_detail(status)
    )
