"""HL7 v2 messages in, whatever the transport: one message to its ACK, its events recorded.

The MLLP listener and `POST /v1/hl7v2` both call `record_hl7v2`. It decodes and parses the
message (shared.interop.hl7v2, pure; a large one on a worker thread, so that parsing never holds
up another connection), answers a message stored before as a duplicate before anything else is
looked up, checks the stay it names (known, and this patient's), resolves the stay and cancel
targets from stored events, and records the events with the one ingestion
(`shared.events.ingestion.ingest_many`) in the same transaction as the message itself, through the
one `record` and unit of work of `POST /v1/events`. Every failure, the database's too, is
answered with an ACK.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from shared.access.principal import Principal
from shared.core import unit_of_work
from shared.events.recording import created_types, record
from shared.interop.hl7v2.ack import build_ack
from shared.interop.hl7v2.decode import DecodeError, decode
from shared.interop.hl7v2.mapping import (
    ADMISSION_TRIGGERS,
    HANDLED_TRIGGERS,
    CancelIntent,
    EpisodeLookup,
    Events,
    Fingerprint,
    Mapping,
    NoEvent,
    Problem,
    map_adt,
)
from shared.interop.hl7v2.parse import (
    MAX_DELIMITERS,
    Header,
    Parsed,
    ParseError,
    echoable,
    parse,
    read_header,
)
from shared.interop.hl7v2.refusal import refusal
from shared.interop.keeping import Message, message_status
from shared.interop.store import cancel_target, latest_episode, seen, stay, stored_events
from shared.organizations.reference import ReferenceData
from shared.rules.zone import TOKYO

logger = logging.getLogger("handover.interop")
Channel = Literal["mllp", "http", "fhir"]
Status = Literal["stored", "duplicate", "no_event", "refused"]
# Messages up to this size are parsed on the event loop (well under a millisecond); larger
# ones on a worker thread, so that a hostile one never holds up another connection.
INLINE_PARSE_BYTES: Final = 16_384


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


@dataclass(frozen=True, slots=True)
class Received:
    """A message read as far as it goes: `parsed`, else `problem` (AE/AR) and what of its
    header an ACK may echo."""

    header: Header
    codec: str
    parsed: Parsed | None
    problem: Problem | None


def receive(raw: bytes, max_delimiters: int = MAX_DELIMITERS) -> Received:
    """Decode per MSH-18, then parse; failures keep the salvaged header for the ACK."""
    decoded = decode(raw)
    if isinstance(decoded, DecodeError):
        header = echoable(read_header(decoded.lossy_text or ""))
        ack_code: Literal["AE", "AR"] = "AR" if decoded.lossy_text is None else "AE"
        code = 100 if ack_code == "AR" else 102
        problem = Problem(ack_code, decoded.location, code, decoded.reason)
        return Received(header, decoded.codec, None, problem)
    parsed = parse(decoded.text, max_delimiters)
    if isinstance(parsed, ParseError):
        problem = Problem("AR", parsed.location, parsed.code, parsed.reason)
        return Received(parsed.header, decoded.codec, None, problem)
    return Received(parsed.header, decoded.codec, parsed, None)


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


def facility_of(header: Header) -> str:
    """MSH-4's first component, as hospitals register it."""
    return header.sending_facility.split((header.encoding_characters or "^")[:1])[0].strip()


def _unknown_facility(header: Header) -> Problem:
    reason = (
        f"sending facility {facility_of(header)!r} (MSH-4.1) is not registered: an administrator"
        " sets it as the hospital's hl7_sending_facility (PATCH /v1/organizations/{id})"
    )
    return Problem("AR", "MSH-4", 204, reason)


async def _facility_hospital(
    session: AsyncSession, header: Header, reference: ReferenceData
) -> Principal | None:
    """Over MLLP the sender is the hospital whose hl7_sending_facility is MSH-4.1 (None: none)."""
    hospital = await reference.hospital_for_sending_facility(session, facility_of(header))
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
    max_delimiters: int = MAX_DELIMITERS,
    may_send: Callable[[str], str | None] | None = None,
) -> Hl7Result:
    """One message to its ACK. Over HTTP `principal` (a hospital key) names the hospital; over
    MLLP (`principal` None) MSH-4.1 does, through the organizations' hl7_sending_facility, and
    `may_send` says why this connection may not send that hospital's messages (its channel).
    Whatever fails, the answer is an ACK: AR when the database cannot be reached (resend)."""
    received = Received(Header(), "utf-8", None, None)
    try:
        if len(raw) > INLINE_PARSE_BYTES:
            received = await asyncio.to_thread(receive, raw, max_delimiters)
        else:
            received = receive(raw, max_delimiters)
        if principal is None and received.parsed is not None:
            principal = await _facility_hospital(session, received.header, reference)
            if principal is None:
                return _answer(received, _unknown_facility(received.header), now, "refused")
            refused = may_send(principal.organization_id or "") if may_send else None
            if refused is not None:
                return _answer(received, Problem("AR", "MSH-4", 207, refused), now, "refused")
        return await _record(session, raw, received, channel, principal, now, reference,
                             client_address)  # fmt: skip
    except Exception as exc:  # a database outage, or a bug: answered, never a dropped link
        logger.error("HL7 v2 message not recorded: %s", type(exc).__name__)
        with contextlib.suppress(Exception):  # the connection may be gone already
            await unit_of_work.rollback(session)
        reason = "the message could not be stored now (service error); send it again later"
        return _answer(received, Problem("AR", "MSH", 207, reason), now, "refused")


async def _record(
    session: AsyncSession,
    raw: bytes,
    received: Received,
    channel: Channel,
    principal: Principal | None,
    now: datetime,
    reference: ReferenceData,
    client_address: str | None,
) -> Hl7Result:
    if received.problem is not None or received.parsed is None or principal is None:
        return _answer(received, received.problem, now, "refused")
    mapping = map_adt(received.parsed, principal.organization_id or "")
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
        work.problem = refusal(message.parsed, recorded.refused)
        return work
    work.status, work.event_ids = message_status(recorded), recorded.event_ids
    work.created_types = created_types(events, recorded.outcomes) if recorded.kept else []
    return work


async def _events(
    session: AsyncSession, parsed: Parsed, hospital_id: str, outcome: Any, work: _Work
) -> list[dict[str, Any]] | None:
    """The events once the stay and cancel target are found; None (work.status/problem) if
    there is nothing to store."""
    if isinstance(outcome, EpisodeLookup):
        found = await _looked_up(session, parsed, hospital_id, outcome, work)
        if found is None:
            return None
        outcome = found.outcome
    if isinstance(outcome, Problem):
        work.problem = outcome
        return None
    ref = outcome.encounter_ref if isinstance(outcome, CancelIntent) else None
    if isinstance(outcome, Events):
        ref = str(outcome.events[0]["encounter_ref"])
    assert ref is not None
    work.problem = await _stay_problem(session, parsed, hospital_id, ref)
    if work.problem is not None:
        return None
    if isinstance(outcome, CancelIntent):
        return await _cancel(session, hospital_id, outcome, work)
    assert isinstance(outcome, Events)
    return list(outcome.events)


async def _looked_up(
    session: AsyncSession, parsed: Parsed, hospital_id: str, lookup: EpisodeLookup, work: _Work
) -> Mapping | None:
    """The mapping on the patient's latest open (A13: discharged) stay. None: none, which an
    A08 answers AA (a patient-master update) and a resend of a message already applied to the
    latest discharged stay answers AA (duplicate); anything else AE."""
    trigger = parsed.header.trigger
    ref = await latest_episode(session, hospital_id, lookup.hospital_patient_id, lookup.state)
    if ref is not None:
        return map_adt(parsed, hospital_id, ref)
    if trigger == "A08":
        work.status = "no_event"
        return None
    if lookup.state == "open":
        last = await latest_episode(session, hospital_id, lookup.hospital_patient_id, "discharged")
        if last is not None:
            mapping = map_adt(parsed, hospital_id, last)
            ids = _event_ids(mapping.outcome)
            if ids and len(await stored_events(session, hospital_id, ids)) == len(ids):
                return mapping  # applied before: the ingestion answers it as a duplicate
    reason = (
        f"no {lookup.state} stay of this patient (PID-3) at this hospital, and neither PV1-19"
        " nor PV1-44 names one"
    )
    work.problem = Problem("AE", "PV1-19", 204, reason)
    return None


def _event_ids(outcome: Any) -> list[str]:
    if isinstance(outcome, CancelIntent):
        return [outcome.event_id]
    if isinstance(outcome, Events):
        return [str(e["event_id"]) for e in outcome.events]
    return []


async def _stay_problem(
    session: AsyncSession, parsed: Parsed, hospital_id: str, encounter_ref: str
) -> Problem | None:
    """A stay that is unknown (other than to an admission) or another patient's: AE."""
    known = await stay(session, hospital_id, encounter_ref)
    trigger = parsed.header.trigger
    if known is None:
        if trigger in ADMISSION_TRIGGERS:
            return None
        reason = (
            "the stay this message names (PV1-19) is unknown here: send its admission (A01) first"
        )
        return Problem("AE", "PV1-19", 204, reason)
    patient_id = parsed.get("PID", 3)
    if patient_id and known.patient_ids and patient_id not in known.patient_ids:
        reason = (
            "the visit number (PV1-19) belongs to another patient's stay (PID-3 differs):"
            " nothing stored; send this patient's visit number"
        )
        return Problem("AE", "PID-3", 205, reason)
    return None


async def _cancel(
    session: AsyncSession, hospital_id: str, intent: CancelIntent, work: _Work
) -> list[dict[str, Any]] | None:
    """The cancel event: its target found, or the one it was stored with (a resend)."""
    stored = await stored_events(session, hospital_id, [intent.event_id])
    target = stored.get(intent.event_id)
    if target is None:
        target = await cancel_target(session, hospital_id, intent.encounter_ref, intent.kind)
    if target is None:
        kind = {"plan": "discharge plan"}.get(intent.kind, intent.kind)
        work.problem = Problem(
            "AE", "PV1-19", 204, f"the stay has no {kind} that is not cancelled yet to cancel"
        )
        return None
    return [intent.to_event(target)]


def _answer(
    received: Received, problem: Problem | None, now: datetime, status: Status
) -> Hl7Result:
    """AA without a problem, else the problem's AE/AR with its ERR."""
    header = received.header
    ack = build_ack(
        header,
        "AA" if problem is None else problem.ack_code,
        now=now.astimezone(TOKYO),
        ack_control_id=ack_control_id(),
        codec=received.codec,
        location=None if problem is None else problem.location,
        code=None if problem is None else problem.code,
        reason=None if problem is None else problem.reason,
    )
    code: Literal["AA", "AE", "AR"] = "AA" if problem is None else problem.ack_code
    return Hl7Result(ack, code, header.trigger, status, problem=problem, codec=received.codec)
