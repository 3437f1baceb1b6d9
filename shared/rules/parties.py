"""An episode's parties (当事者): who may read the stay, its events and its patient fields.

domain.md, "Parties": the hospital, and the care offices named for the stay by the hospital or
by an office that is already a party. Posting never makes an office a party; a cancelled event
names nobody. Computed from the non-cancelled events as a closure, so arrival order never
matters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from shared.rules.events import (
    ADMIN_POSTER,
    AdmissionEvent,
    CareAssignmentEvent,
    DischargeConferenceEvent,
    DischargeCoordinationEvent,
    NoCmReferralEvent,
    RecordedEvent,
)


def parties(hospital_id: str, live: Iterable[RecordedEvent]) -> frozenset[str]:
    """The hospital plus every office it names, then every office a party office hands over to.

    ``live``: the episode's non-cancelled events (cancels themselves name nobody). Admission and
    coordination events are the hospital's (only it may post them); a ``care_assignment`` names
    its office when posted by the hospital (or the operator, who acts for it) or by an office
    that is a party by the same rule — a handover between offices (引継ぎ).
    """
    named = {hospital_id}
    handovers: dict[str, set[str]] = {}  # poster office -> offices its assignments name
    for record in live:
        event = record.event
        if isinstance(event, AdmissionEvent) and event.care_office_id is not None:
            named.add(event.care_office_id)
        elif isinstance(event, DischargeCoordinationEvent | NoCmReferralEvent):
            named.add(event.to_org_id)
        elif isinstance(event, DischargeConferenceEvent):
            named.update(event.participant_org_ids)
        elif isinstance(event, CareAssignmentEvent):
            if record.poster_org_id in (hospital_id, ADMIN_POSTER):
                named.add(event.care_office_id)
            else:
                handovers.setdefault(record.poster_org_id, set()).add(event.care_office_id)
    frontier = list(named)
    while frontier:  # the closure: a party office's handovers name parties too
        for office in handovers.pop(frontier.pop(), set()) - named:
            named.add(office)
            frontier.append(office)
    return frozenset(named)


def responsible_office(
    hospital_id: str, live: Sequence[RecordedEvent], party_org_ids: frozenset[str]
) -> str | None:
    """The care office responsible now (api.md, Work lists; domain.md, Flags).

    The office of the latest non-cancelled ``care_assignment`` posted by the hospital (or the
    operator) or by a party office, else the one named on the admission. An office naming
    itself before anyone named it is not responsible: it is no party. ``live`` in fold order.
    """
    posters = party_org_ids | {hospital_id, ADMIN_POSTER}
    assigned = [
        r.event.care_office_id
        for r in live
        if isinstance(r.event, CareAssignmentEvent) and r.poster_org_id in posters
    ]
    if assigned:
        return assigned[-1]
    admission = next((r.event for r in live if isinstance(r.event, AdmissionEvent)), None)
    return admission.care_office_id if admission is not None else None
