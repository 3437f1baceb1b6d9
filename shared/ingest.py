"""Recording one handover event: authorize it, store it exactly once, refold its episode.

Everything happens inside the caller's transaction (a savepoint per event), so a rejected
event changes nothing and an accepted one is stored together with its episode's new fold
and dirty mark; the caller commits, then enqueues the recompute.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.episodes import apply_state, episode_events, fold_rows, region_rule_sets
from shared.models import Episode, EventRecord, Organization
from shared.principal import Principal
from shared.schemas.events import (
    CARE_OFFICE_TYPES,
    EVENT_ADAPTER,
    EVENT_TYPES,
    HOSPITAL_ONLY_TYPES,
    AdmissionEvent,
    AdmissionInfoEvent,
    CancelEvent,
    CareAssignmentEvent,
    DischargeConferenceEvent,
    DischargeCoordinationEvent,
    DischargeEvent,
    Event,
    NoCmReferralEvent,
)

Status = Literal["created", "duplicate", "conflict", "invalid", "forbidden"]
MAX_FUTURE = timedelta(hours=24)
CARE_OFFICE_KINDS = frozenset({"care_office", "support_center"})
COORDINATION_TARGET_KINDS = frozenset({"care_office", "support_center", "municipality"})


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
        return {
            "created": 201,
            "duplicate": 200,
            "conflict": 409,
            "invalid": 422,
            "forbidden": 403,
        }[self.status]


class Rejected(Exception):
    """An event refused as invalid (422) or forbidden (403); nothing it touched is kept."""

    def __init__(self, status: Status, detail: str, errors: list[dict[str, Any]] | None = None):
        super().__init__(detail)
        self.status: Status = status
        self.detail = detail
        self.errors = errors or []


def _invalid(loc: list[str | int], msg: str) -> Rejected:
    return Rejected("invalid", f"{'.'.join(map(str, loc))}: {msg}", [{"loc": loc, "msg": msg}])


async def ingest(session: AsyncSession, raw: Any, principal: Principal, now: datetime) -> Outcome:
    """Record one event; the outcome says created, duplicate, conflict, invalid or forbidden."""
    event_id = raw.get("event_id") if isinstance(raw, dict) else None
    event_id = event_id if isinstance(event_id, str) else None
    try:
        event = EVENT_ADAPTER.validate_python(raw)
    except ValidationError as exc:
        return Outcome(
            "invalid",
            event_id,
            detail="The event is invalid; see errors.",
            errors=_field_errors(exc),
        )
    event_id = str(event.event_id)
    try:
        _authorize_shape(event, principal)
        previous = await _previous(session, event, raw)
        if previous is not None:
            return previous
        try:
            async with session.begin_nested():
                return await _record(session, event, raw, principal, now)
        except _Raced:
            raced = await _previous(session, event, raw)
            assert raced is not None
            return raced
    except Rejected as exc:
        return Outcome(exc.status, event_id, detail=exc.detail, errors=exc.errors)


def _field_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """Field paths as the client wrote them: the union's tag is not part of the path."""
    errors = []
    for e in exc.errors(include_input=False, include_url=False):
        loc = list(e["loc"])
        if e["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc = ["type"]
        elif loc and loc[0] in EVENT_TYPES:
            loc = loc[1:]
        errors.append({"loc": ["body", *loc], "msg": e["msg"]})
    return errors


def _authorize_shape(event: Event, principal: Principal) -> None:
    """Role rules that need only the event itself (party rules need the episode)."""
    if principal.is_admin:
        return
    if principal.role == "hospital":
        if event.hospital_id != principal.organization_id:
            raise Rejected("forbidden", "A hospital key may post only for its own hospital_id.")
        if event.type not in HOSPITAL_ONLY_TYPES | {"care_assignment", "cancel"}:
            raise Rejected("forbidden", f"A hospital may not post {event.type} events.")
        return
    if principal.is_care_office:
        if event.type not in CARE_OFFICE_TYPES:
            raise Rejected("forbidden", f"A care office may not post {event.type} events.")
        if (
            isinstance(event, AdmissionInfoEvent)
            and event.care_office_id != principal.organization_id
        ):
            raise Rejected("forbidden", "admission_info must name the posting care office.")
        return
    raise Rejected("forbidden", f"The {principal.role} role may not post events.")


async def _previous(session: AsyncSession, event: Event, raw: Any) -> Outcome | None:
    """Idempotency: the same event_id answers duplicate (same body) or conflict (other body)."""
    row = await session.scalar(select(EventRecord).where(EventRecord.event_id == event.event_id))
    if row is None:
        return None
    if row.body == raw:
        return Outcome("duplicate", str(event.event_id), row.episode_id, row.recorded_at)
    return Outcome(
        "conflict",
        str(event.event_id),
        detail=(
            "This event_id was already used with a different body; "
            "use a new event_id, or a cancel plus a new event to correct."
        ),
    )


async def _record(
    session: AsyncSession, event: Event, raw: Any, principal: Principal, now: datetime
) -> Outcome:
    if event.occurred_at > now + MAX_FUTURE:
        raise _invalid(["body", "occurred_at"], "must not be more than 24 hours in the future")
    region = await _check_organizations(session, event)
    episode = await _lock_episode(session, event)
    _authorize_party(event, principal, episode)
    if isinstance(event, CancelEvent):
        await _check_cancel(session, event, principal)
    stmt = (
        insert(EventRecord)
        .values(
            event_id=event.event_id,
            episode_id=episode.id,
            type=event.type,
            occurred_at=event.occurred_at,
            hospital_id=event.hospital_id,
            poster_org_id=principal.label,
            poster_key_id=principal.key_id,
            cancels_event_id=event.cancels_event_id if isinstance(event, CancelEvent) else None,
            body=raw,
        )
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(EventRecord.seq, EventRecord.recorded_at)
    )
    inserted = (await session.execute(stmt)).first()
    if inserted is None:  # a concurrent post of the same event_id won the race
        raise _Raced()
    rows = await episode_events(session, episode.id)
    state = fold_rows(rows, await region_rule_sets(session, region), now)
    _check_chronology(event, state.admitted_at, state.discharged_at)
    apply_state(episode, state, rows)
    episode.dirty_since = episode.dirty_since or now
    await session.flush()
    return Outcome("created", str(event.event_id), episode.id, inserted.recorded_at)


class _Raced(Rejected):
    def __init__(self) -> None:
        super().__init__("conflict", "raced")


async def _check_organizations(session: AsyncSession, event: Event) -> str:
    """Every named organization must exist and be of the right kind; returns the region."""
    named: dict[str, tuple[list[str | int], frozenset[str]]] = {
        event.hospital_id: (["body", "hospital_id"], frozenset({"hospital"}))
    }
    if isinstance(event, AdmissionEvent | AdmissionInfoEvent | CareAssignmentEvent):
        if event.care_office_id is not None:
            named.setdefault(event.care_office_id, (["body", "care_office_id"], CARE_OFFICE_KINDS))
    if isinstance(event, DischargeCoordinationEvent | NoCmReferralEvent):
        named.setdefault(event.to_org_id, (["body", "to_org_id"], COORDINATION_TARGET_KINDS))
    if isinstance(event, DischargeConferenceEvent):
        for i, org_id in enumerate(event.participant_org_ids):
            named.setdefault(org_id, (["body", "participant_org_ids", i], frozenset()))
    found = {
        o.id: o
        for o in await session.scalars(select(Organization).where(Organization.id.in_(named)))
    }
    for org_id, (loc, kinds) in named.items():
        org = found.get(org_id)
        if org is None:
            raise _invalid(loc, "unknown organization; register it first")
        if kinds and org.kind not in kinds:
            raise _invalid(loc, f"must be an organization of kind {' or '.join(sorted(kinds))}")
    return found[event.hospital_id].region


async def _lock_episode(session: AsyncSession, event: Event) -> Episode:
    """Create or lock the episode row; concurrent events of one stay are serialised here."""
    stmt = (
        insert(Episode)
        .values(
            id=uuid.uuid4(),
            hospital_id=event.hospital_id,
            encounter_ref=event.encounter_ref,
            party_org_ids=[event.hospital_id],
            state={},
            version=1,
            computed_version=0,
            has_admission=False,
        )
        .on_conflict_do_update(
            index_elements=["hospital_id", "encounter_ref"],
            set_={"version": Episode.version + 1, "updated_at": func.now()},
        )
        .returning(Episode.id)
    )
    episode_id = (await session.execute(stmt)).scalar_one()
    episode = await session.get(Episode, episode_id, populate_existing=True)
    assert episode is not None
    return episode


def _authorize_party(event: Event, principal: Principal, episode: Episode) -> None:
    """A care office acts only on its clients' stays once the admission is known."""
    if not principal.is_care_office or not episode.has_admission:
        return
    if principal.organization_id not in episode.party_org_ids:
        raise Rejected("forbidden", "This care office is not a party to this episode.")


async def _check_cancel(session: AsyncSession, event: CancelEvent, principal: Principal) -> None:
    target = await session.scalar(
        select(EventRecord).where(EventRecord.event_id == event.cancels_event_id)
    )
    loc: list[str | int] = ["body", "cancels_event_id"]
    if target is None:
        raise _invalid(loc, "no event with this id was recorded")
    if target.type == "cancel":
        raise _invalid(loc, "a cancel cannot itself be cancelled")
    if (
        target.hospital_id != event.hospital_id
        or target.body.get("encounter_ref") != event.encounter_ref
    ):
        raise _invalid(loc, "the cancelled event belongs to another hospital_id/encounter_ref")
    if not principal.is_admin and target.poster_org_id != principal.organization_id:
        raise Rejected("forbidden", "Only the party that posted an event may cancel it.")


def _check_chronology(
    event: Event, admitted_at: datetime | None, discharged_at: datetime | None
) -> None:
    """A discharge earlier than the admission is impossible input."""
    if admitted_at is None or discharged_at is None or discharged_at >= admitted_at:
        return
    if isinstance(event, DischargeEvent | AdmissionEvent):
        raise _invalid(["body", "occurred_at"], "the discharge would be earlier than the admission")
