"""Recording events: the one step every way in takes, inside the caller's unit of work.

``record`` checks and stores the events (``shared.events.ingestion``), decides with the way they
came in whether the transaction keeps them, writes the audit rows and queues the recomputes of
the episodes that received events. It never commits: the caller runs it in
``shared.core.unit_of_work.run(session, ..., keep=kept)``, which retries a transient conflict,
commits what is kept, rolls back what is not and hands the recomputes to the broker after the
commit. ``POST /v1/events``, ``/v1/events:batch``, the screens' forms, ``POST /v1/hl7v2``, the
MLLP listener and ``POST /v1/fhir`` all record this way; what differs is the ``Way``:

- ``ONE_EVENT`` (``OneEvent(via=...)`` for a screen): a refused event leaves nothing; an audit row
  ``post_event`` names the event's type and outcome;
- ``BATCH``: each event answers on its own, the valid ones are kept together; one audit row
  ``post_events`` per episode that received events;
- a hospital system message (``shared.interop.keeping.Message``): all or nothing, remembered with
  its events.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from shared.access.audit import audit
from shared.access.principal import Principal
from shared.core import unit_of_work
from shared.events.ingestion import Outcome, ingest_many
from shared.organizations.reference import ReferenceData

STORED: Final = ("created", "duplicate")


def created_types(raws: Sequence[Any], outcomes: Sequence[Outcome]) -> list[str]:
    """The types of the events that were stored just now (not replays), for the metrics."""
    pairs = zip(raws, outcomes, strict=True)
    return [str(raw["type"]) for raw, outcome in pairs if outcome.status == "created"]


@dataclass(frozen=True, slots=True)
class Stored:
    """What one call stored, for its way in to keep and audit."""

    session: AsyncSession
    principal: Principal
    raws: Sequence[Any]
    outcomes: Sequence[Outcome]
    client_address: str | None


class Way(Protocol):
    """How events that came in one way are kept and audited."""

    async def keep(self, stored: Stored) -> bool:
        """Whether the transaction keeps what was stored (it may write more first)."""
        ...

    def audit(self, stored: Stored) -> None:
        """The audit rows of what is kept."""
        ...


@dataclass(frozen=True, slots=True)
class OneEvent:
    """One posted event; ``via`` names the screen that posted it (absent: the API)."""

    via: str | None = None

    async def keep(self, stored: Stored) -> bool:
        return stored.outcomes[0].status in STORED

    def audit(self, stored: Stored) -> None:
        outcome = stored.outcomes[0]
        audit(stored.session, stored.principal, "post_event", episode_id=outcome.episode_id,
              client_address=stored.client_address, event_type=stored.raws[0]["type"],
              outcome=outcome.status, via=self.via)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Batch:
    """A batch: each event answers on its own; the valid ones are kept together."""

    async def keep(self, stored: Stored) -> bool:  # noqa: ARG002 (the Way protocol)
        return True  # a refused event wrote nothing; the valid ones stay

    def audit(self, stored: Stored) -> None:
        outcomes = stored.outcomes
        created = Counter(o.episode_id for o in outcomes if o.status == "created" and o.episode_id)
        for episode_id, count in created.items():
            audit(stored.session, stored.principal, "post_events", episode_id=episode_id,
                  client_address=stored.client_address, created=count, batch=True)  # fmt: skip


ONE_EVENT: Final = OneEvent()
BATCH: Final = Batch()


@dataclass(frozen=True, slots=True)
class Recorded:
    """What ``record`` did: each event's outcome, and whether the transaction keeps them."""

    outcomes: list[Outcome]
    kept: bool

    @property
    def refused(self) -> Outcome | None:
        """The first event that was refused, if any."""
        return next((o for o in self.outcomes if o.status not in STORED), None)

    @property
    def created(self) -> list[Outcome]:
        """The events stored just now (none if not kept)."""
        return [o for o in self.outcomes if o.status == "created"] if self.kept else []

    @property
    def event_ids(self) -> list[str]:
        return [o.event_id for o in self.outcomes if o.event_id is not None]


def kept(recorded: Recorded) -> bool:
    """``unit_of_work.run``'s ``keep`` for ``record``: commit what the way keeps."""
    return recorded.kept


async def record(
    session: AsyncSession,
    raws: Sequence[Any],
    principal: Principal,
    way: Way,
    *,
    now: datetime,
    reference: ReferenceData,
    client_address: str | None = None,
) -> Recorded:
    """Store the events in order, in the caller's transaction; audit and queue what is kept."""
    outcomes = await ingest_many(session, raws, principal, now, reference)
    stored = Stored(session, principal, raws, outcomes, client_address)
    if not await way.keep(stored):
        return Recorded(outcomes, kept=False)
    way.audit(stored)
    recorded = Recorded(outcomes, kept=True)
    episodes: list[uuid.UUID] = [o.episode_id for o in recorded.created if o.episode_id]
    unit_of_work.queue_recompute(session, episodes)
    return recorded
