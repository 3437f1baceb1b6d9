"""HL7 v2 messages in, whatever the transport: one message to its ACK, its events recorded.

The MLLP listener and `POST /v1/hl7v2` both call `record_hl7v2`. It decodes and parses the
message (shared.interop.hl7v2, pure), answers a message stored before as a duplicate before
anything else is looked up, resolves the stay and cancel targets from stored events, and records
the events with the one ingestion (`shared.events.service.ingest_many`) in the same transaction
as the message itself, through the one `record` and unit of work of `POST /v1/events`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from shared.access.principal import Principal
from shared.core import unit_of_work
from shared.events.recording import created_types, record
from shared.events.service import Outcome
from shared.interop.hl7v2.mapping import (
    ADMISSION_TRIGGERS,
    HANDLED_TRIGGERS,
    CancelIntent,
    EpisodeLookup,
    Events,
    Fingerprint,
    NoEvent,
    Problem,
    map_adt,
)
from shared.interop.hl7v2.parse import Header, Parsed
from shared.interop.hl7v2.pipeline import Received, ack_for, map_received, receive
from shared.interop.keeping import Message, message_status
from shared.interop.store import (
    cancel_target,
    latest_episode,
    seen,
)
from shared.organizations.reference import ReferenceData
from shared.rules.zone import TOKYO

Channel = Literal["mllp", "http", "fhir"]
Status = Literal["stored", "duplicate", "no_event", "refused"]


@dataclass(frozen=True, slots=True)
class Hl7Result:
    """The ACK to send and what happened, for the caller's metrics and logs (no personal data)."""

    ack: bytes
    ack_code: Literal["AA", "AE", "AR"]
    trigger: str
    status: Status
    event_ids: tuple[str, ...] = ()
    created_types: tuple[str, ...] = ()
    problem: Problem | None = None
    codec: str = "utf-8"  # the ACK's encoding (the message's own)

    @property
    def trigger_label(self) -> str:
        """The trigger as a metrics label: a handled one, else `other` (bounded cardinality)."""
        if self.trigger in HANDLED_TRIGGERS:
            return self.trigger
        return "none" if not self.trigger else "other"


@dataclass
class _Work:
    """What one attempt of the transaction found (a retry starts it over)."""

    status: Status = "refused"
    problem: Problem | None = None
    event_ids: list[str] = field(default_factory=list)
    created_types: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Message:
    """A mapped message to store, with its sender: what every attempt reads."""

    raw: bytes
    channel: Channel
    parsed: Parsed
    fingerprint: Fingerprint
    outcome: Any  # the mapping's events, stay lookup or cancel intent
    principal: Principal
    client_address: str | None


def ack_control_id() -> str:
    """A fresh MSH-10 for an ACK: 20 characters, the ST limit of 2.3 senders."""
    return "ACK" + uuid.uuid4().hex[:17].upper()


def _unknown_facility(header: Header) -> Problem:
    facility = header.sending_facility.split((header.encoding_characters or "^")[:1])[0]
    reason = (
        f"sending facility {facility!r} (MSH-4.1) is not registered: set it as the hospital's"
        " hl7_sending_facility"
    )
    return Problem("AR", "MSH-4", 204, reason)


async def _facility_hospital(
    session: AsyncSession, header: Header, reference: ReferenceData
) -> Principal | None:
    """Over MLLP the sender is the hospital whose hl7_sending_facility is MSH-4.1 (None: none)."""
    facility = header.sending_facility.split(header.encoding_characters[:1])
    hospital = await reference.hospital_for_sending_facility(session, facility[0].strip())
    if hospital is None:
        return None
    return Principal(key_id=None, organization_id=hospital.id, role="hospital")


async def record_hl7v2(
    session: AsyncSession,
    raw: bytes,
    *,
    channel: Channel,
    principal: Principal | None,
    now: datetime,
    reference: ReferenceData,
    client_address: str | None = None,
) -> Hl7Result:
    """One message to its ACK. Over HTTP `principal` (a hospital key) names the hospital; over
    MLLP (`principal` None) MSH-4.1 does, through the organizations' hl7_sending_facility."""
    received = receive(raw)
    if received.problem is not None:
        return _answer(received, received.problem, now, "refused")
    if principal is None:
        principal = await _facility_hospital(session, received.header, reference)
        if principal is None:
            return _answer(received, _unknown_facility(received.header), now, "refused")
    mapping = map_received(received, principal.organization_id or "")
    assert mapping is not None  # parsed: no problem above
    assert received.parsed is not None
    if isinstance(mapping.outcome, NoEvent):
        return _answer(received, None, now, "no_event")
    if isinstance(mapping.outcome, Problem):
        return _answer(received, mapping.outcome, now, "refused")
    message = _Message(raw, channel, received.parsed, mapping.fingerprint, mapping.outcome,
                       principal, client_address)  # fmt: skip
    work = await unit_of_work.run(
        session, lambda: _attempt(session, message, now, reference), keep=_stored
    )
    result = _answer(received, work.problem, now, work.status)
    return Hl7Result(result.ack, result.ack_code, result.trigger, work.status,
                     tuple(work.event_ids), tuple(work.created_types), work.problem,
                     received.codec)  # fmt: skip


def _stored(work: _Work) -> bool:
    return work.status == "stored"


async def _attempt(
    session: AsyncSession, message: _Message, now: datetime, reference: ReferenceData
) -> _Work:
    """One run of the transaction: a message seen before is a duplicate, else its events."""
    work = _Work()
    if await seen(session, message.fingerprint):
        work.status = "duplicate"
        return work
    hospital_id = message.principal.organization_id or ""
    events = await _events(session, message.parsed, hospital_id, message.outcome, work)
    if events is None:
        return work
    header = message.parsed.header
    way = Message(message.channel, message.fingerprint, message.raw, "post_hl7v2",
                  {"trigger": header.trigger, "control_id": header.control_id[:64]})  # fmt: skip
    recorded = await record(session, events, message.principal, way, now=now,
                            reference=reference, client_address=message.client_address)  # fmt: skip
    if recorded.refused is not None:
        work.problem = _refusal(message.parsed, recorded.refused)
        return work
    work.status, work.event_ids = message_status(recorded), recorded.event_ids
    work.created_types = created_types(events, recorded.outcomes) if recorded.kept else []
    return work


async def _events(
    session: AsyncSession, parsed: Parsed, hospital_id: str, outcome: Any, work: _Work
) -> list[dict[str, Any]] | None:
    """The events once the stay and cancel target are found; None (work.problem) if not."""
    if isinstance(outcome, EpisodeLookup):
        ref = await latest_episode(session, hospital_id, outcome.hospital_patient_id, outcome.state)
        if ref is None:
            work.problem = Problem(
                "AE",
                "PV1-19",
                204,
                f"no {outcome.state} stay of this patient (PID-3) at this hospital, and neither"
                " PV1-19 nor PV1-44 names one",
            )
            return None
        outcome = map_adt(parsed, hospital_id, ref).outcome
    if isinstance(outcome, Problem):
        work.problem = outcome
        return None
    if isinstance(outcome, CancelIntent):
        target = await cancel_target(session, hospital_id, outcome.encounter_ref, outcome.kind)
        if target is None:
            kind = {"plan": "discharge plan"}.get(outcome.kind, outcome.kind)
            work.problem = Problem(
                "AE", "PV1-19", 204, f"the stay has no {kind} (not cancelled yet) to cancel"
            )
            return None
        return [outcome.to_event(target)]
    assert isinstance(outcome, Events)
    return list(outcome.events)


_TAIL = ("EVN-6", "EVN-2", "MSH-7")
_FIELDS = {
    "patient": "PID-3",
    "display_name": "PID-5",
    "encounter_ref": "PV1-19",
    "planned_discharge_date": "PV2-9",
    "destination": "PV1-36",
    "hospital_id": "MSH-4",
    "cancels_event_id": "MSH-9",
}


def _time_field(parsed: Parsed) -> str:
    """The field `occurred_at` was taken from (the mapping's order of candidates)."""
    trigger = parsed.header.trigger
    first: tuple[str, ...] = ()
    if trigger in ADMISSION_TRIGGERS:
        first = ("PV1-44",)
    elif trigger == "A03":
        first = ("PV1-45",)
    for name in (*first, *_TAIL):
        segment, _, number = name.partition("-")
        if parsed.get(segment, int(number)):
            return name
    return "MSH-7"


def _location(parsed: Parsed, loc: Sequence[Any]) -> str:
    """The HL7 field behind an event field the ingestion refused (`["body", "occurred_at"]`)."""
    names = [str(part) for part in loc if not isinstance(part, int) and part != "body"]
    if not names:
        return "MSH-9"
    if names[0] == "occurred_at":
        return _time_field(parsed)
    return _FIELDS.get(names[-1], _FIELDS.get(names[0], "MSH-9"))


def _refusal(parsed: Parsed, outcome: Outcome) -> Problem:
    """An ingestion refusal as an AE: the field and the ingestion's own words (never values)."""
    if outcome.status == "conflict":
        reason = "an event with this MSH-10 for this stay was stored with other content: " + (
            "send corrections with a new MSH-10"
        )
        return Problem("AE", "MSH-10", 205, reason)
    if outcome.errors:
        first = outcome.errors[0]
        where = _location(parsed, first.get("loc", []))
        msg = str(first.get("msg", "invalid"))
        field_name = ".".join(str(p) for p in first.get("loc", [])[1:])
        code = 101 if "required" in msg.lower() or "missing" in msg.lower() else 102
        return Problem("AE", where, code, f"{where} ({field_name}): {msg}")
    where = "MSH-4" if outcome.status == "forbidden" else _time_field(parsed)
    return Problem("AE", where, 207 if outcome.status == "forbidden" else 102, outcome.detail)


def _answer(
    received: Received, problem: Problem | None, now: datetime, status: Status
) -> Hl7Result:
    ack = ack_for(received, problem, now=now.astimezone(TOKYO), ack_control_id=ack_control_id())
    code: Literal["AA", "AE", "AR"] = "AA" if problem is None else problem.ack_code
    return Hl7Result(
        ack, code, received.header.trigger, status, problem=problem, codec=received.codec
    )
