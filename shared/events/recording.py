"""Recording events as a use case: one transaction, retried on a transient conflict, audited.

``shared.events.service`` checks and stores events inside a caller's transaction; the functions
here are those callers for posted events (``POST /v1/events``, ``/v1/events:batch`` and the
screens' forms): they own the transaction (retry, audit, commit) and hand the episodes they
stored to ``recompute`` after the commit. What the caller knows (its address, its screen) comes
as plain arguments; the answer's shape is the caller's.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from shared.access.audit import audit
from shared.access.principal import Principal
from shared.core.db import retry_transient
from shared.events.service import Outcome, ingest, ingest_many
from shared.organizations.reference import ReferenceData
from shared.queue.recompute_queue import Recompute

STORED: Final = ("created", "duplicate")


def created_types(raws: Sequence[Any], outcomes: Sequence[Outcome]) -> list[str]:
    """The types of the events that were stored just now (not replays), for the metrics."""
    pairs = zip(raws, outcomes, strict=True)
    return [str(raw["type"]) for raw, outcome in pairs if outcome.status == "created"]


async def record_event(
    session: AsyncSession,
    raw: Any,
    principal: Principal,
    *,
    now: datetime,
    reference: ReferenceData,
    recompute: Recompute,
    client_address: str | None = None,
    via: str | None = None,
) -> Outcome:
    """Store one event (idempotent on its event_id); a refused one changes nothing.

    ``via`` names the screen that posted it, in the audit row (absent: the API).
    """

    async def attempt() -> Outcome:
        outcome = await ingest(session, raw, principal, now, reference)
        if outcome.status not in STORED:
            await session.rollback()
            return outcome
        audit(session, principal, "post_event", episode_id=outcome.episode_id,
              client_address=client_address, event_type=raw["type"], outcome=outcome.status,
              via=via)  # fmt: skip
        await session.commit()
        return outcome

    outcome = await retry_transient(session, attempt)
    if outcome.status == "created" and outcome.episode_id is not None:
        recompute.add([outcome.episode_id])
    return outcome


async def record_events(
    session: AsyncSession,
    raws: Sequence[Any],
    principal: Principal,
    *,
    now: datetime,
    reference: ReferenceData,
    recompute: Recompute,
    client_address: str | None = None,
) -> list[Outcome]:
    """Store events in order, each answering on its own; the valid ones are committed together.

    One audit row per episode that received events, with how many.
    """

    async def attempt() -> tuple[list[Outcome], Counter[uuid.UUID]]:
        outcomes = await ingest_many(session, raws, principal, now, reference)
        created = Counter(
            o.episode_id for o in outcomes if o.status == "created" and o.episode_id is not None
        )
        for episode_id, count in created.items():
            audit(session, principal, "post_events", episode_id=episode_id,
                  client_address=client_address, created=count, batch=True)  # fmt: skip
        await session.commit()
        return outcomes, created

    outcomes, created = await retry_transient(session, attempt)
    recompute.add(created)
    return outcomes
