"""Writing the audit trail, in the same transaction as what it records; reading it back."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.access.principal import Principal
from shared.core import driver_sql, unit_of_work
from shared.core.pagination import decode_cursor, keyset_page
from shared.models import AuditEntry
from shared.rules.bounds import BoundedId

AUDIT_CURSOR: Final = TypeAdapter(BoundedId)  # the id of the last entry


# One statement for every row a transaction added, in the order added (``id`` is that order).
_INSERT = """
INSERT INTO audit_log (key_id, organization_id, role, action, episode_id, client_address, detail)
SELECT a.key_id, a.organization_id, a.role, a.action, a.episode_id, a.client_address,
       a.detail::jsonb
FROM unnest($1::uuid[], $2::varchar[], $3::varchar[], $4::varchar[], $5::uuid[], $6::varchar[],
            $7::text[]) WITH ORDINALITY
     AS a(key_id, organization_id, role, action, episode_id, client_address, detail, n)
ORDER BY a.n
"""


@dataclass
class _Pending:
    """The audit rows of one transaction, written just before it commits."""

    session: AsyncSession
    rows: list[tuple[Any, ...]] = field(default_factory=list)

    async def __call__(self) -> None:
        columns = [list(column) for column in zip(*self.rows, strict=True)]
        await driver_sql.execute(self.session, _INSERT, *columns)


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
    """Add one audit row (written with the transaction's commit); no personal data in it.

    ``via`` names the screen the action came from (absent: the API), kept in ``detail``.
    """
    if via is not None:
        detail["via"] = via
    if principal.user_id is not None:  # a person on the screens, not a key
        detail["user_id"] = str(principal.user_id)
    pending = unit_of_work.before_commit(session, "audit", lambda: _Pending(session))
    pending.rows.append(
        (principal.key_id, principal.organization_id, principal.role, action, episode_id,
         client_address, json.dumps(detail))
    )  # fmt: skip


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
