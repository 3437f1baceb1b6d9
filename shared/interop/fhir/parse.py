"""A FHIR R4 message Bundle (R4B models) to its MessageHeader, focus Encounter and Patient."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.messageheader import MessageHeader
from fhir.resources.R4B.patient import Patient
from pydantic import ValidationError

NOTIFICATION_SYSTEM: Final = "http://hl7.org/fhir/us/davinci-alerts/CodeSystem/notification-event"
NOTIFICATION_CODES: Final = frozenset(
    {"notification-admit", "notification-discharge", "notification-transfer"}
)


@dataclass(frozen=True, slots=True)
class FhirProblem:
    """What to fix: answered 400/422 with an OperationOutcome naming `expression`."""

    status: int
    code: str
    diagnostics: str
    expression: str


@dataclass(frozen=True, slots=True)
class Notification:
    """A parsed Da Vinci notification: the event code and the resources it is about."""

    event_code: str
    message_key: str
    header: MessageHeader
    encounter: Encounter
    encounter_path: str
    patient: Patient | None
    patient_path: str | None


def _path(loc: tuple[int | str, ...]) -> str:
    """pydantic error location to a FHIRPath-like expression: Bundle.entry[0].resource.x."""
    out = "Bundle"
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _resolve(bundle: Bundle, reference: str | None) -> tuple[int, Any] | None:
    """The (index, resource) of the entry a reference points to (fullUrl or Type/id)."""
    if not reference:
        return None
    for index, entry in enumerate(bundle.entry or []):
        resource = entry.resource
        if resource is None:
            continue
        if entry.fullUrl == reference:
            return index, resource
        typed = f"{resource.get_resource_type()}/{resource.id}"
        if resource.id and (reference == typed or reference.endswith("/" + typed)):
            return index, resource
    return None


_TIME_TYPES: Final = {"Instant": "instant", "DateTime": "dateTime"}


def _actionable(msg: str, path: str) -> str:
    """The validator's words, turned into what to change where they are only a regex."""
    for name, fhir_type in _TIME_TYPES.items():
        if msg.endswith(f"{name} value string does not match spec regex."):
            return (
                f"{path} is not a FHIR {fhir_type}: a time needs seconds and the time-zone offset;"
                " add the time-zone offset (e.g. 2024-06-03T10:15:00+09:00)"
            )
    return msg.removeprefix("Value error, ")


def _problem(code: str, diagnostics: str, expression: str, status: int = 422) -> FhirProblem:
    return FhirProblem(status, code, diagnostics, expression)


def parse_bundle(body: bytes | str | dict[str, Any]) -> Notification | FhirProblem:
    """Validate a message Bundle with R4B models and find what the notification is about."""
    bundle = _message_bundle(body)
    if isinstance(bundle, FhirProblem):
        return bundle
    header = _message_header(bundle)
    if isinstance(header, FhirProblem):
        return header
    return _notification(bundle, *header)


def _message_bundle(body: bytes | str | dict[str, Any]) -> Bundle | FhirProblem:
    """The body as a valid Bundle of type message."""
    if isinstance(body, bytes | str):
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            return _problem("invalid", f"the body is not JSON: {exc}", "Bundle", 400)
    else:
        data = body
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        return _problem("invalid", "the body must be a Bundle resource", "Bundle.resourceType")
    try:
        bundle = Bundle.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = _path(tuple(first["loc"]))
        return _problem("structure", _actionable(str(first["msg"]), path), path)
    if bundle.type != "message":
        return _problem("invalid", "Bundle.type must be 'message'", "Bundle.type")
    return bundle


def _message_header(bundle: Bundle) -> tuple[MessageHeader, str] | FhirProblem:
    """The first entry's MessageHeader and its notification event code."""
    entries = bundle.entry or []
    first_resource = entries[0].resource if entries else None
    if not isinstance(first_resource, MessageHeader):
        diagnostics = "the first entry must be a MessageHeader"
        return _problem("structure", diagnostics, "Bundle.entry[0].resource")
    header = first_resource
    coding = getattr(header, "eventCoding", None)
    where = "Bundle.entry[0].resource.eventCoding"
    if coding is None or coding.system != NOTIFICATION_SYSTEM:
        diagnostics = f"MessageHeader.eventCoding must be from {NOTIFICATION_SYSTEM}"
        return _problem("code-invalid", diagnostics, where)
    if coding.code not in NOTIFICATION_CODES:
        codes = ", ".join(sorted(NOTIFICATION_CODES))
        return _problem("code-invalid", f"eventCoding.code must be one of {codes}", where + ".code")
    return header, str(coding.code)


def _notification(bundle: Bundle, header: MessageHeader, code: str) -> Notification | FhirProblem:
    """The Encounter in focus, its Patient if the bundle holds it, and the message's key."""
    focus = header.focus[0] if header.focus else None
    found = _resolve(bundle, focus.reference if focus is not None else None)
    if found is None or not isinstance(found[1], Encounter):
        diagnostics = "MessageHeader.focus must reference an Encounter in the bundle"
        return _problem("not-found", diagnostics, "Bundle.entry[0].resource.focus[0]")
    encounter_index, encounter = found
    encounter_path = f"Bundle.entry[{encounter_index}].resource"
    subject = _resolve(bundle, encounter.subject.reference if encounter.subject else None)
    patient = subject[1] if subject and isinstance(subject[1], Patient) else None
    patient_path = None
    if patient is not None and subject is not None:
        patient_path = f"Bundle.entry[{subject[0]}].resource"
    ident = bundle.identifier.value if bundle.identifier is not None else None
    key = ident or bundle.id or header.id
    if not key:
        diagnostics = "the Bundle needs an identifier or id (or the MessageHeader an id)"
        return _problem("required", diagnostics, "Bundle.identifier")
    return Notification(code, key, header, encounter, encounter_path, patient, patient_path)
