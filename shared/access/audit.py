"""Writing the audit trail, in the same transaction as what it records; reading it back."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.access.principal import Principal
from shared.core.pagination import decode_cursor, keyset_page
from shared.models import AuditEntry
from shared.rules.bounds import BoundedId

AUDIT_CURSOR: Final = TypeAdapter(BoundedId)  # the id of the last entry


def audit(
    session: AsyncSession,
    principal: Principal,
    action: str,
    *,
    episode_id: uuid.UUID | None = None,
    client_address: str | None = None,
    via: str | None = None,
    **detail: Any,
) -> None:
    """Add one audit row (committed with the request's transaction); no personal data in it.

    ``via`` names the screen the action came from (absent: the API), kept in ``detail``.
    """
    if via is not None:
        detail["via"] = via
    if principal.user_id is not None:  # a person on the screens, not a key
        detail["user_id"] = str(principal.user_id)
    session.add(
        AuditEntry(
            key_id=principal.key_id,
            organization_id=principal.organization_id,
            role=principal.role,
            action=action,
            episode_id=episode_id,
            client_address=client_address,
            detail=detail,
        )
    )


async def list_audit(
    session: AsyncSession,
    *,
    organization_id: str | None = None,
    episode_id: uuid.UUID | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int,
    cursor: str | None = None,
) -> tuple[list[AuditEntry], str | None]:
    """Entries newest first, filtered by organization, episode, action and time; a page and the
    next page's cursor."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    if organization_id is not None:
        query = query.where(AuditEntry.organization_id == organization_id)
    if episode_id is not None:
        query = query.where(AuditEntry.episode_id == episode_id)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    if cursor is not None:
        query = query.where(AuditEntry.id < decode_cursor(cursor, AUDIT_CURSOR))

    async def fetch(n: int) -> Sequence[AuditEntry]:
        return list(await session.scalars(query.limit(n)))

    return await keyset_page(fetch, limit, lambda entry: entry.id)
