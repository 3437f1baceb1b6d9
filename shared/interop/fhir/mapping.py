"""A parsed Da Vinci notification to event dicts as POST /v1/events takes them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from shared.interop.destinations import Destination, from_fhir_disposition, from_table_0112
from shared.interop.fhir.parse import FhirProblem, Notification

# Fixed namespace of FHIR event ids: uuid5(NAMESPACE_URL, "urn:handover:interop:fhir").
FHIR_EVENT_NAMESPACE: Final = uuid.UUID("922c5029-e22f-5093-88c1-3098f9fae385")
NUBC_SYSTEMS: Final = frozenset(
    {"http://www.nubc.org/patient-discharge", "https://www.nubc.org/CodeSystem/PatDischargeStatus"}
)
FHIR_DISPOSITION_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/discharge-disposition"


@dataclass(frozen=True, slots=True)
class FhirEvents:
    """Events ready for the ingestion (empty for notification-transfer)."""

    events: tuple[dict[str, Any], ...]


def event_id(hospital_id: str, message_key: str, event_code: str, encounter_ref: str) -> str:
    """UUIDv5 of (hospital, Bundle.identifier|id|MessageHeader.id, event code, encounter_ref)."""
    name = "\x1f".join((hospital_id, message_key, event_code, encounter_ref))
    return str(uuid.uuid5(FHIR_EVENT_NAMESPACE, name))


def _typed_identifier(identifiers: list[Any] | None, type_code: str) -> tuple[int, str] | None:
    """(index, value) of the identifier whose type has `type_code` (v2-0203), else the first."""
    values = [(i, ident) for i, ident in enumerate(identifiers or []) if ident.value]
    for index, ident in values:
        codings = ident.type.coding if ident.type is not None and ident.type.coding else []
        if any(coding.code == type_code for coding in codings):
            return index, str(ident.value)
    return (values[0][0], str(values[0][1].value)) if values else None


def _destination(notification: Notification) -> Destination:
    """hospitalization.dischargeDisposition: NUBC codes as table 0112, else FHIR codes."""
    hospitalization = notification.encounter.hospitalization
    concept = hospitalization.dischargeDisposition if hospitalization is not None else None
    for coding in (concept.coding or []) if concept is not None else []:
        code = str(coding.code or "")
        if coding.system in NUBC_SYSTEMS:
            return from_table_0112(code)
        if coding.system == FHIR_DISPOSITION_SYSTEM or coding.system is None:
            return from_fhir_disposition(code)
    return "other"


def _instant(moment: datetime | None) -> str | None:
    """An ISO timestamp with offset; a FHIR dateTime without time or offset is refused."""
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        return None
    return moment.isoformat()


def map_notification(notification: Notification, hospital_id: str) -> FhirEvents | FhirProblem:
    """admit: admission at period.start; discharge: discharge at period.end; transfer: none."""
    if notification.event_code == "notification-transfer":
        return FhirEvents(())
    where = notification.encounter_path
    found = _typed_identifier(notification.encounter.identifier, "VN")
    if found is None:
        diagnostics = "the Encounter needs an identifier (type VN preferred): the stay number"
        return FhirProblem(422, "required", diagnostics, f"{where}.identifier")
    encounter_ref = found[1]
    if len(encounter_ref) > 64 or not encounter_ref.isprintable():
        diagnostics = "the Encounter identifier must be 1-64 printable characters"
        return FhirProblem(422, "value", diagnostics, f"{where}.identifier[{found[0]}].value")
    period = notification.encounter.period
    admit = notification.event_code == "notification-admit"
    element = "start" if admit else "end"
    moment = _instant(getattr(period, element, None) if period is not None else None)
    if moment is None:
        diagnostics = f"Encounter.period.{element} is required, with a time and an offset"
        return FhirProblem(422, "required", diagnostics, f"{where}.period.{element}")
    envelope: dict[str, Any] = {
        "event_id": event_id(
            hospital_id, notification.message_key, notification.event_code, encounter_ref
        ),
        "occurred_at": moment,
        "hospital_id": hospital_id,
        "encounter_ref": encounter_ref,
    }
    if not admit:
        return FhirEvents(
            ({**envelope, "type": "discharge", "destination": _destination(notification)},)
        )
    patient_id = None
    if notification.patient is not None:
        mr = _typed_identifier(notification.patient.identifier, "MR")
        patient_id = mr[1] if mr is not None else None
    if patient_id is None or len(patient_id) > 64 or not patient_id.isprintable():
        diagnostics = "the admission needs the subject Patient with an identifier (type MR)"
        path = notification.patient_path or f"{where}.subject"
        return FhirProblem(422, "required", diagnostics, f"{path}.identifier")
    patient: dict[str, Any] = {"hospital_patient_id": patient_id}
    names = notification.patient.name if notification.patient is not None else None
    if names:
        first = names[0]
        parts = [first.family or "", *(first.given or [])[:1]]
        display = " ".join(str(p).strip() for p in parts if p and str(p).strip())
        if display and len(display) <= 100:
            patient["display_name"] = display
    return FhirEvents(({**envelope, "type": "admission", "patient": patient},))
