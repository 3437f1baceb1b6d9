"""A hospital system message as a way events come in: all of its events or none, remembered
with them. HL7 v2 and FHIR record through ``shared.events.recording.record`` with a ``Message``,
exactly as ``POST /v1/events`` records with ``ONE_EVENT``, inside the caller's unit of work."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from shared.access.audit import audit
from shared.events.recording import STORED, Recorded, Stored
from shared.interop.hl7v2.mapping import Fingerprint
from shared.interop.store import remember


@dataclass(frozen=True, slots=True)
class Message:
    """The message the events came in. Kept only if no event was refused, one is new and no
    twin of the message committed first; one audit row ``action`` per event stored."""

    channel: str
    fingerprint: Fingerprint
    raw: bytes
    action: str
    detail: dict[str, Any] = field(default_factory=dict)

    async def keep(self, stored: Stored) -> bool:
        outcomes = stored.outcomes
        if any(o.status not in STORED for o in outcomes):
            return False
        if not any(o.status == "created" for o in outcomes):
            return False  # every event was stored before
        ids = [o.event_id for o in outcomes if o.event_id is not None]
        return await remember(stored.session, self.channel, self.fingerprint, self.raw, ids)

    def audit(self, stored: Stored) -> None:
        for outcome in stored.outcomes:
            if outcome.status == "created":
                audit(stored.session, stored.principal, self.action,
                      episode_id=outcome.episode_id, client_address=stored.client_address,
                      channel=self.channel, **self.detail)  # fmt: skip


def message_status(recorded: Recorded) -> Literal["stored", "duplicate", "refused"]:
    """``stored``: kept with its new events; ``refused``: an event was refused (rolled back);
    ``duplicate``: every event was stored before, or a twin of the message committed first."""
    if recorded.kept:
        return "stored"
    return "refused" if recorded.refused is not None else "duplicate"
