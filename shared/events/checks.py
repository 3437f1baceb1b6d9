"""The rules one posted event must pass, as pure functions that ``ingest`` applies in order.

Its shape, its poster's role, the organizations it names, and what it would do to its episode.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import ValidationError

from shared.access.principal import Principal
from shared.organizations.reference import OrgRef
from shared.rules.events import (
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
    Event,
    NoCmReferralEvent,
)
from shared.rules.state import EpisodeState
from shared.sheets.documents import SheetInvalid, as_posted, parse_sheet

Status = Literal["created", "duplicate", "conflict", "invalid", "forbidden"]
MAX_FUTURE = timedelta(hours=24)
CONFLICT_DETAIL = (
    "This event_id was already used with a different body; "
    "use a new event_id, or a cancel plus a new event to correct."
)
CARE_OFFICE_KINDS = frozenset({"care_office", "support_center"})
COORDINATION_TARGET_KINDS = frozenset({"care_office", "support_center", "municipality"})


class Rejected(Exception):
    """An event refused as invalid (422) or forbidden (403)."""

    def __init__(self, status: Status, detail: str, errors: list[dict[str, Any]] | None = None):
        super().__init__(detail)
        self.status: Status = status
        self.detail = detail
        self.errors = errors or []


def invalid(loc: list[str | int], msg: str) -> Rejected:
    return Rejected("invalid", f"{'.'.join(map(str, loc))}: {msg}", [{"loc": loc, "msg": msg}])


def parse_event(raw: Any) -> Event:
    try:
        return EVENT_ADAPTER.validate_python(raw)
    except ValidationError as exc:
        raise Rejected("invalid", "The event is invalid; see errors.", field_errors(exc)) from None


def split_sheet(raw: Any) -> tuple[Any, Any]:
    """The body without its ``sheet`` (stored apart, encrypted), and the sheet (None: none)."""
    if not isinstance(raw, dict) or "sheet" not in raw:
        return raw, None
    return {k: v for k, v in raw.items() if k != "sheet"}, raw["sheet"]


def check_sheet(raw: Any, event: Event) -> dict[str, Any]:
    """The sheet an event carries, as posted (null items dropped), or 422 naming each item."""
    try:
        return as_posted(parse_sheet(raw, event.type))
    except SheetInvalid as exc:
        raise Rejected("invalid", str(exc), exc.errors) from None


def field_errors(exc: ValidationError) -> list[dict[str, Any]]:
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


def authorize_shape(event: Event, principal: Principal) -> None:
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


def named_organizations(event: Event) -> dict[str, tuple[list[str | int], frozenset[str]]]:
    """Every organization the event names, with where and which kinds it must be."""
    named: dict[str, tuple[list[str | int], frozenset[str]]] = {
        event.hospital_id: (["body", "hospital_id"], frozenset({"hospital"}))
    }
    if (
        isinstance(event, AdmissionEvent | AdmissionInfoEvent | CareAssignmentEvent)
        and event.care_office_id is not None
    ):
        named.setdefault(event.care_office_id, (["body", "care_office_id"], CARE_OFFICE_KINDS))
    if isinstance(event, DischargeCoordinationEvent | NoCmReferralEvent):
        named.setdefault(event.to_org_id, (["body", "to_org_id"], COORDINATION_TARGET_KINDS))
    if isinstance(event, DischargeConferenceEvent):
        for i, org_id in enumerate(event.participant_org_ids):
            named.setdefault(org_id, (["body", "participant_org_ids", i], frozenset()))
    return named


def check_organizations(orgs: Mapping[str, OrgRef], event: Event) -> None:
    """Every named organization must exist and be of the right kind."""
    for org_id, (loc, kinds) in named_organizations(event).items():
        org = orgs.get(org_id)
        if org is None:
            raise invalid(loc, "unknown organization; register it first")
        if kinds and org.kind not in kinds:
            raise invalid(loc, f"must be an organization of kind {' or '.join(sorted(kinds))}")


def authorize_party(principal: Principal, state: EpisodeState | None) -> None:
    """A care office may act on an admitted stay only as its party (``state``: before the event)."""
    if state is None or not state.has_admission:
        return
    if principal.organization_id not in state.party_org_ids:
        raise Rejected("forbidden", "This care office is not a party to this episode.")


def check_chronology(state: EpisodeState) -> None:
    """A discharge earlier than the admission is impossible input."""
    if state.admitted_at is None or state.discharged_at is None:
        return
    if state.discharged_at < state.admitted_at:
        raise invalid(["body", "occurred_at"], "the discharge would be earlier than the admission")


def check_not_future(event: Event, now: datetime) -> None:
    if event.occurred_at > now + MAX_FUTURE:
        raise invalid(["body", "occurred_at"], "must not be more than 24 hours in the future")


@dataclass(frozen=True, slots=True)
class CancelTarget:
    """The event a cancel names, as far as the cancel rules look at it."""

    type: str
    poster_org_id: str
    stay: tuple[str, str]  # (hospital_id, encounter_ref)


def check_cancel(principal: Principal, event: CancelEvent, target: CancelTarget | None) -> None:
    """Only the target's poster may cancel it (403), and only an event of the same stay (422)."""
    loc: list[str | int] = ["body", "cancels_event_id"]
    if target is None:
        raise invalid(loc, "no event with this id was recorded")
    if not principal.is_admin and target.poster_org_id != principal.organization_id:
        raise Rejected("forbidden", "Only the party that posted an event may cancel it.")
    if target.type == "cancel":
        raise invalid(loc, "a cancel cannot itself be cancelled")
    if target.stay != (event.hospital_id, event.encounter_ref):
        raise invalid(loc, "the cancelled event belongs to another hospital_id/encounter_ref")


def replay_status(recorded_body: Any, raw: Any) -> Status:
    """An event_id used again: the same body is a replay (no-op), another one a conflict."""
    return "duplicate" if recorded_body == raw else "conflict"
