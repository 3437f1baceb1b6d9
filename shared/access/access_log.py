"""The access log: one row per episode whose patient fields an answer shows, naming the reader.

Every answer, screen page or file that shows an episode's patient fields calls `record_reads`
with the episodes it shows, in the request's own transaction, so the rows are committed before
the answer is sent (and an answer that fails shows nothing and logs nothing). The rows hold ids
only: who (a person, ``actor_type`` ``user``, or an API key, ``api_key``), the reader's
organization, which episode, the request's path and address, and when.

The bootstrap admin token (``HANDOVER_ADMIN_TOKEN``) is no key row: it is recorded as
``actor_type`` ``api_key`` with ``actor_id`` null, as the audit trail records it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from shared.access.principal import Principal
from shared.models import AccessLogEntry


async def record_reads(
    session: AsyncSession,
    principal: Principal,
    episode_ids: Iterable[uuid.UUID],
    *,
    path: str,
    address: str | None,
) -> None:
    """Add one access-log row per episode (each once, in order) to ``session``; no commit.

    The caller's transaction commits them before the answer is sent.
    """
    actor_type = "user" if principal.user_id is not None else "api_key"
    actor_id = principal.user_id if principal.user_id is not None else principal.key_id
    session.add_all(
        AccessLogEntry(
            actor_type=actor_type,
            actor_id=actor_id,
            organization_id=principal.organization_id,
            episode_id=episode_id,
            path=path,
            address=address,
        )
        for episode_id in dict.fromkeys(episode_ids)
    )
