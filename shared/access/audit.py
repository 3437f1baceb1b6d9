"""Writing the audit trail, in the same transaction as what it records."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.access.principal import Principal
from shared.models import AuditEntry


def audit(
    session: AsyncSession,
    principal: Principal,
    action: str,
    *,
    episode_id: uuid.UUID | None = None,
    client_address: str | None = None,
    **detail: Any,
) -> None:
    """Add one audit row (committed with the request's transaction); no personal data in it."""
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
