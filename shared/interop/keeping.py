"""Storing a hospital system message's events together with the message: the step HL7 v2 and
FHIR share inside their transaction, after the message is known to be new."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from shared.access.audit import audit
from shared.access.principal import Principal
from shared.events.recording import STORED, created_types
from shared.events.service import Outcome, ingest_many
from shared.interop.hl7v2.mapping import Fingerprint
from shared.interop.store import remember
from shared.organizations.reference import ReferenceData


@dataclass(frozen=True, slots=True)
class Kept:
    """What the step did. ``stored``: committed with its new events; ``duplicate``: every
    event was stored before, or a twin of the message committed first (rolled back);
    ``refused``: an event was refused (rolled back), ``refused_by`` says which."""

    status: Literal["stored", "duplicate", "refused"]
    outcomes: list[Outcome]
    created_types: list[str]
    refused_by: Outcome | None = None

    @property
    def event_ids(self) -> list[str]:
        return [o.event_id for o in self.outcomes if o.event_id is not None]

    @property
    def created(self) -> list[Outcome]:
        return (
            [o for o in self.outcomes if o.status == "created"] if self.status == "stored" else []
        )


async def keep_message(
    session: AsyncSession,
    events: Sequence[dict[str, Any]],
    *,
    fingerprint: Fingerprint,
    raw: bytes,
    principal: Principal,
    channel: str,
    client_address: str | None,
    now: datetime,
    reference: ReferenceData,
    audit_action: str,
    **audit_detail: Any,
) -> Kept:
    """Ingest the events and remember the message in the caller's transaction; commit if new.

    A refusal or a duplicate rolls back: nothing of the message is kept.
    """
    outcomes = await ingest_many(session, events, principal, now, reference)
    refused = next((o for o in outcomes if o.status not in STORED), None)
    if refused is not None:
        await session.rollback()
        return Kept("refused", outcomes, [], refused)
    kept = Kept("stored", outcomes, created_types(events, outcomes))
    ids = kept.event_ids
    if not kept.created or not await remember(session, channel, fingerprint, raw, ids):
        await session.rollback()  # all stored before, or a twin of this message committed
        return Kept("duplicate", outcomes, [])
    for outcome in kept.created:
        audit(session, principal, audit_action, episode_id=outcome.episode_id,
              client_address=client_address, channel=channel,
              **audit_detail)  # fmt: skip
    await session.commit()
    return kept
