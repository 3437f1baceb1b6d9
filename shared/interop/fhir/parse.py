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


def _problem(code: str, diagnostics: str, expression: str, status: int = 422) -> FhirProblem:
    return FhirProblem(status, code, diagnostics, expression)


def parse_bundle(body: bytes | str | dict[str, Any]) -> Notification | FhirProblem:
    """Validate a message Bundle with R4B models and find what the notification is about."""
    bundle = _message_bundle(body)
    if isinstance(bundle, FhirProblem):
        return bundle
    header = _notification_header(bundle)
    if isinstance(header, FhirProblem):
        return header
    focus = _focus_encounter(bundle, header)
    if isinstance(focus, FhirProblem):
        return focus
    encounter_index, encounter = focus
    patient, patient_path = _subject(bundle, encounter)
    key = _message_key(bundle, header)
    if isinstance(key, FhirProblem):
        return key
    assert header.eventCoding is not None  # checked by _notification_header
    return Notification(
        str(header.eventCoding.code),
        key,
        header,
        encounter,
        f"Bundle.entry[{encounter_index}].resource",
        patient,
        patient_path,
    )


def _message_bundle(body: bytes | str | dict[str, Any]) -> Bundle | FhirProblem:
    """The body as JSON, a valid R4B Bundle of type message."""
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
        return _problem("structure", f"{first['msg']}", _path(tuple(first["loc"])))
    if bundle.type != "message":
        return _problem("invalid", "Bundle.type must be 'message'", "Bundle.type")
    return bundle


def _notification_header(bundle: Bundle) -> MessageHeader | FhirProblem:
    """The first entry: a MessageHeader whose event is a Da Vinci notification code."""
    entries = bundle.entry or []
    header = entries[0].resource if entries else None
    if not isinstance(header, MessageHeader):
        diagnostics = "the first entry must be a MessageHeader"
        return _problem("structure", diagnostics, "Bundle.entry[0].resource")
    coding = getattr(header, "eventCoding", None)
    where = "Bundle.entry[0].resource.eventCoding"
    if coding is None or coding.system != NOTIFICATION_SYSTEM:
        diagnostics = f"MessageHeader.eventCoding must be from {NOTIFICATION_SYSTEM}"
        return _problem("code-invalid", diagnostics, where)
    if coding.code not in NOTIFICATION_CODES:
        codes = ", ".join(sorted(NOTIFICATION_CODES))
        return _problem("code-invalid", f"eventCoding.code must be one of {codes}", where + ".code")
    return header


def _focus_encounter(bundle: Bundle, header: MessageHeader) -> tuple[int, Encounter] | FhirProblem:
    """The Encounter entry the header's first focus references, with its index."""
    focus = header.focus[0] if header.focus else None
    found = _resolve(bundle, focus.reference if focus is not None else None)
    if found is None or not isinstance(found[1], Encounter):
        diagnostics = "MessageHeader.focus must reference an Encounter in the bundle"
        return _problem("not-found", diagnostics, "Bundle.entry[0].resource.focus[0]")
    return found[0], found[1]


def _subject(bundle: Bundle, encounter: Encounter) -> tuple[Patient | None, str | None]:
    """The Patient entry the encounter's subject references, and its path; none if absent."""
    subject = _resolve(bundle, encounter.subject.reference if encounter.subject else None)
    if subject is None or not isinstance(subject[1], Patient):
        return None, None
    return subject[1], f"Bundle.entry[{subject[0]}].resource"


def _message_key(bundle: Bundle, header: MessageHeader) -> str | FhirProblem:
    """What makes a replay of the message recognizable: its identifier, else an id."""
    ident = bundle.identifier.value if bundle.identifier is not None else None
    key = ident or bundle.id or header.id
    if not key:
        diagnostics = "the Bundle needs an identifier or id (or the MessageHeader an id)"
        return _problem("required", diagnostics, "Bundle.identifier")
    return str(key)
