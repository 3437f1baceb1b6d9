"""A parsed Da Vinci notification to event dicts as POST /v1/events takes them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from shared.interop.destinations import (
    FHIR_DISPOSITION,
    Destination,
    from_fhir_disposition,
    from_table_0112,
)
from shared.interop.fhir.parse import FhirProblem, Notification

# Fixed namespace of FHIR event ids: uuid5(NAMESPACE_URL, "urn:handover:interop:fhir").
FHIR_EVENT_NAMESPACE: Final = uuid.UUID("922c5029-e22f-5093-88c1-3098f9fae385")
# Every URL the guides have used for the NUBC patient discharge status (UB-04 FL17) codes.
NUBC_SYSTEMS: Final = frozenset(
    {
        "http://www.nubc.org/patient-discharge",
        "https://www.nubc.org/CodeSystem/PatDischargeStatus",
        "http://terminology.hl7.org/CodeSystem/nubc-UB92",
    }
)
MAX_DISPLAY_NAME: Final = 100  # domain.md: patient.display_name
FHIR_DISPOSITION_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/discharge-disposition"


@dataclass(frozen=True, slots=True)
class FhirEvents:
    """Events ready for the ingestion (empty for notification-transfer); `notes` are said in
    the answer's `information` issues (a disposition stored as `other`)."""

    events: tuple[dict[str, Any], ...]
    notes: tuple[str, ...] = ()


def event_id(hospital_id: str, event_code: str, encounter_ref: str, instant: str) -> str:
    """UUIDv5 of (hospital, event code, encounter_ref, the event's instant): the same
    notification relayed by an intermediary (a new Bundle id) or resent is one event."""
    name = "\x1f".join((hospital_id, event_code, encounter_ref, instant))
    return str(uuid.uuid5(FHIR_EVENT_NAMESPACE, name))


def _typed_identifier(identifiers: list[Any] | None, type_code: str) -> tuple[int, str] | None:
    """(index, value) of the identifier whose type has `type_code` (v2-0203), else the first."""
    values = [(i, ident) for i, ident in enumerate(identifiers or []) if ident.value]
    for index, ident in values:
        codings = ident.type.coding if ident.type is not None and ident.type.coding else []
        if any(coding.code == type_code for coding in codings):
            return index, str(ident.value)
    return (values[0][0], str(values[0][1].value)) if values else None


def _destination(notification: Notification) -> tuple[Destination, str | None]:
    """hospitalization.dischargeDisposition: NUBC codes as table 0112, else FHIR codes; with
    a note when a disposition is given that the service cannot map (stored as `other`)."""
    hospitalization = notification.encounter.hospitalization
    concept = hospitalization.dischargeDisposition if hospitalization is not None else None
    codings = (concept.coding or []) if concept is not None else []
    for coding in codings:
        code = str(coding.code or "")
        if coding.system in NUBC_SYSTEMS and code.strip().isdigit():
            return from_table_0112(code), None
        if coding.system in (FHIR_DISPOSITION_SYSTEM, None) and code in FHIR_DISPOSITION:
            return from_fhir_disposition(code), None
    if not codings:
        return "other", None
    shown = ", ".join(f"{c.system or '(no system)'}#{c.code or ''}" for c in codings)
    note = (
        f"dischargeDisposition {shown} is not a NUBC or FHIR discharge-disposition code the"
        " service maps: the destination was stored as `other`"
    )
    return "other", note


def _utc(moment: str) -> str:
    """The instant in UTC: one instant written with two offsets is one event."""
    return datetime.fromisoformat(moment).astimezone(UTC).isoformat()


def _instant(moment: datetime | None) -> str | None:
    """An ISO timestamp with offset; a FHIR dateTime without time or offset is refused."""
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        return None
    return moment.isoformat()


def _encounter_ref(notification: Notification) -> str | FhirProblem:
    """The Encounter identifier of type VN, else its first, else the Encounter's own id."""
    where = notification.encounter_path
    found = _typed_identifier(notification.encounter.identifier, "VN")
    element = f"{where}.identifier[{found[0]}].value" if found is not None else f"{where}.id"
    ref = found[1] if found is not None else str(notification.encounter.id or "")
    if not ref:
        diagnostics = (
            "the Encounter needs an identifier (type VN preferred) or an id: the stay's number"
        )
        return FhirProblem(422, "required", diagnostics, f"{where}.identifier")
    if len(ref) > 64 or not ref.isprintable():
        diagnostics = "the Encounter's identifier (or id) must be 1-64 printable characters"
        return FhirProblem(422, "value", diagnostics, element)
    return ref


def _patient(notification: Notification) -> dict[str, Any] | FhirProblem:
    """hospital_patient_id (identifier of type MR, else the first) and display_name."""
    where = notification.patient_path or f"{notification.encounter_path}.subject"
    patient_id = None
    if notification.patient is not None:
        mr = _typed_identifier(notification.patient.identifier, "MR")
        patient_id = mr[1] if mr is not None else None
    if patient_id is None or len(patient_id) > 64 or not patient_id.isprintable():
        diagnostics = (
            "the admission needs the subject Patient in the bundle with an identifier (type MR),"
            " 1-64 printable characters"
        )
        return FhirProblem(422, "required", diagnostics, f"{where}.identifier")
    patient: dict[str, Any] = {"hospital_patient_id": patient_id}
    names = notification.patient.name if notification.patient is not None else None
    if names:
        first = names[0]
        parts = [first.family or "", *(first.given or [])[:1]]
        display = " ".join(str(p).strip() for p in parts if p and str(p).strip())
        if len(display) > MAX_DISPLAY_NAME:
            diagnostics = (
                f"the patient's name (family and first given) is {len(display)} characters;"
                f" at most {MAX_DISPLAY_NAME}"
            )
            return FhirProblem(422, "value", diagnostics, f"{where}.name[0]")
        if display:
            patient["display_name"] = display
    return patient


def map_notification(notification: Notification, hospital_id: str) -> FhirEvents | FhirProblem:
    """admit: admission at period.start; discharge: discharge at period.end; transfer: none."""
    if notification.event_code == "notification-transfer":
        return FhirEvents(())
    where = notification.encounter_path
    encounter_ref = _encounter_ref(notification)
    if isinstance(encounter_ref, FhirProblem):
        return encounter_ref
    period = notification.encounter.period
    admit = notification.event_code == "notification-admit"
    element = "start" if admit else "end"
    moment = _instant(getattr(period, element, None) if period is not None else None)
    if moment is None:
        diagnostics = (
            f"Encounter.period.{element} is required with a time and the time-zone offset"
            " (e.g. 2024-06-03T10:15:00+09:00)"
        )
        return FhirProblem(422, "required", diagnostics, f"{where}.period.{element}")
    envelope: dict[str, Any] = {
        "event_id": event_id(hospital_id, notification.event_code, encounter_ref, _utc(moment)),
        "occurred_at": moment,
        "hospital_id": hospital_id,
        "encounter_ref": encounter_ref,
    }
    if not admit:
        destination, note = _destination(notification)
        event = {**envelope, "type": "discharge", "destination": destination}
        return FhirEvents((event,), (note,) if note else ())
    patient = _patient(notification)
    if isinstance(patient, FhirProblem):
        return patient
    return FhirEvents(({**envelope, "type": "admission", "patient": patient},))
