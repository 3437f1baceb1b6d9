"""Which organizations have an enabled webhook: asked for every stored event, cached.

Most events name no organization with a webhook, so the outbox first asks this cache and reads
``webhooks`` only when a recipient has one (that read, not the cache, decides which endpoints get
a delivery, so a webhook disabled meanwhile gets none). The set is read whole, kept
``SUBSCRIBED_TTL_SECONDS`` per database (per engine), and dropped after the commit of any change
this process makes to a webhook (created, changed, deleted, disabled by the worker).
Invalidation across processes is the lifetime: a webhook created through another process (a
second API worker) receives the deliveries of changes made here from at most
``SUBSCRIBED_TTL_SECONDS`` later.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.core import unit_of_work
from shared.models import Webhook

SUBSCRIBED_TTL_SECONDS = 2.0
_subscribed: WeakKeyDictionary[Engine, tuple[float, frozenset[str]]] = WeakKeyDictionary()


def _engine(session: AsyncSession) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


async def any_subscribed(session: AsyncSession, organization_ids: Collection[str]) -> bool:
    """Whether any of these organizations has an enabled webhook (cached)."""
    engine = _engine(session)
    cached = _subscribed.get(engine)
    now = time.monotonic()
    if cached is None or cached[0] <= now:
        subscribed = select(Webhook.organization_id).where(Webhook.enabled).distinct()
        rows = await session.scalars(subscribed)
        cached = (now + SUBSCRIBED_TTL_SECONDS, frozenset(rows))
        _subscribed[engine] = cached
    return not cached[1].isdisjoint(organization_ids)


def changed(session: AsyncSession) -> None:
    """This transaction changes a webhook: read the set afresh once it has committed."""
    engine = _engine(session)
    unit_of_work.on_commit(session, lambda: _subscribed.pop(engine, None))
