"""FHIR R4 notification bundles in: one Bundle to its OperationOutcome, its events recorded.

The same path as HL7 v2 (shared.interop.hl7v2_service): parse and map (pure), a Bundle stored before
answers as a duplicate first, then the one ingestion records the events in the transaction that
keeps the Bundle; recomputes are enqueued after the commit.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.access.principal import Principal
from shared.core import unit_of_work
from shared.events.ingestion import Outcome
from shared.events.recording import created_types, record
from shared.interop.fhir.mapping import FhirEvents, map_notification
from shared.interop.fhir.outcome import operation_outcome, stored
from shared.interop.fhir.parse import NOTIFICATION_CODES, FhirProblem, Notification, parse_bundle
from shared.interop.hl7v2.mapping import Fingerprint
from shared.interop.hl7v2_service import Status
from shared.interop.keeping import Message, message_status
from shared.interop.store import seen
from shared.organizations.reference import ReferenceData


@dataclass(frozen=True, slots=True)
class FhirResult:
    """The HTTP status and OperationOutcome to answer, and what happened (for metrics)."""

    status_code: int
    body: dict[str, Any]
    event_code: str
    status: Status
    event_ids: tuple[str, ...] = ()
    created_types: tuple[str, ...] = ()

    @property
    def trigger_label(self) -> str:
        """The event code as a metrics label: a notification code, else `other` (bounded)."""
        return self.event_code if self.event_code in NOTIFICATION_CODES else "other"

    @property
    def ack_code(self) -> str:
        """The answer in HL7 v2 terms, for the message metrics: AA, AE (422) or AR."""
        return "AA" if self.status_code == 200 else "AE" if self.status_code == 422 else "AR"


@dataclass(frozen=True, slots=True)
class _Bundle:
    """A mapped Bundle to store, with its sender: what every attempt reads."""

    raw: bytes
    notification: Notification
    mapped: FhirEvents
    fingerprint: Fingerprint
    principal: Principal
    client_address: str | None


def _error(problem: FhirProblem, event_code: str = "") -> FhirResult:
    body = operation_outcome("error", problem.code, problem.diagnostics, problem.expression)
    return FhirResult(problem.status, body, event_code, "refused")


def content_sha256(data: Any) -> str:
    """The hash of the Bundle's JSON, independent of whitespace and key order."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _read(
    raw: bytes, hospital_id: str
) -> tuple[Notification, FhirEvents, Fingerprint] | FhirResult:
    """The Bundle parsed and mapped (pure), or the answer when there is nothing to store."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        data = None
    parsed = parse_bundle(raw if data is None else data)
    if isinstance(parsed, FhirProblem):
        return _error(parsed)
    mapped = map_notification(parsed, hospital_id)
    code = parsed.event_code
    if isinstance(mapped, FhirProblem):
        return _error(mapped, code)
    if not mapped.events:
        text = f"{code}: no event of the handover rule; nothing stored"
        return FhirResult(200, operation_outcome("information", "informational", text), code,
                          "no_event")  # fmt: skip
    return parsed, mapped, Fingerprint(hospital_id, parsed.message_key, code, content_sha256(data))


async def record_fhir_bundle(
    session: AsyncSession,
    raw: bytes,
    *,
    principal: Principal,
    now: datetime,
    reference: ReferenceData,
    client_address: str | None = None,
) -> FhirResult:
    """A Da Vinci notification Bundle posted with a hospital key to its OperationOutcome."""
    read = _read(raw, principal.organization_id or "")
    if isinstance(read, FhirResult):
        return read
    bundle = _Bundle(raw, *read, principal, client_address)
    status, outcomes, problem = await unit_of_work.run(
        session, lambda: _attempt(session, bundle, now, reference), keep=_stored
    )
    code = bundle.notification.event_code
    if problem is not None:
        return _error(problem, code)
    ids = tuple(o.event_id for o in outcomes if o.event_id is not None)
    if status == "duplicate":
        return FhirResult(200, stored(True, bundle.mapped.notes), code, status, ids)
    types = tuple(created_types(bundle.mapped.events, outcomes))
    return FhirResult(200, stored(False, bundle.mapped.notes), code, status, ids, types)


def _stored(attempt: tuple[Status, list[Outcome], FhirProblem | None]) -> bool:
    return attempt[0] == "stored"


async def _attempt(
    session: AsyncSession, bundle: _Bundle, now: datetime, reference: ReferenceData
) -> tuple[Status, list[Outcome], FhirProblem | None]:
    """One run of the transaction: a Bundle seen before is a duplicate, else its events."""
    if await seen(session, bundle.fingerprint):
        return "duplicate", [], None
    way = Message("fhir", bundle.fingerprint, bundle.raw, "post_fhir",
                  {"trigger": bundle.notification.event_code})  # fmt: skip
    recorded = await record(session, list(bundle.mapped.events), bundle.principal, way, now=now,
                            reference=reference, client_address=bundle.client_address)  # fmt: skip
    if recorded.refused is not None:
        return "refused", recorded.outcomes, _refusal(bundle.notification, recorded.refused)
    return message_status(recorded), recorded.outcomes, None


def _refusal(notification: Notification, outcome: Outcome) -> FhirProblem:
    """An ingestion refusal as a 422 (403 forbidden) naming the Bundle element to fix."""
    where = notification.encounter_path
    if outcome.status == "conflict":
        diagnostics = (
            "an event with this Bundle identifier and event was stored with other content;"
            " send corrections as a new Bundle identifier"
        )
        return FhirProblem(422, "conflict", diagnostics, "Bundle.identifier")
    if outcome.status == "forbidden":
        return FhirProblem(403, "forbidden", outcome.detail, where)
    loc = [str(p) for p in (outcome.errors[0].get("loc", []) if outcome.errors else [])]
    names = [p for p in loc if p != "body"]
    admit = notification.event_code == "notification-admit"
    expression = {
        "occurred_at": f"{where}.period.{'start' if admit else 'end'}",
        "encounter_ref": f"{where}.identifier",
        "destination": f"{where}.hospitalization.dischargeDisposition",
        "patient": f"{notification.patient_path or where + '.subject'}.identifier",
    }.get(names[0] if names else "", f"{where}.period")
    msg = outcome.errors[0].get("msg", "") if outcome.errors else ""
    diagnostics = f"{'.'.join(names)}: {msg}" if names else outcome.detail
    return FhirProblem(422, "invalid", diagnostics or outcome.detail, expression)
