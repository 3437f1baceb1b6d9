"""What operators watch: episodes waiting for the worker, set aside by it, and open flags."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_BACKLOG = text(
    "SELECT count(*) FILTER (WHERE dirty_since IS NOT NULL),"
    " coalesce(extract(epoch FROM now()"
    " - min(dirty_since) FILTER (WHERE fold_failed_at IS NULL)), 0),"
    " count(*) FILTER (WHERE fold_failed_at IS NOT NULL)"
    " FROM episodes WHERE dirty_since IS NOT NULL OR fold_failed_at IS NOT NULL"
)
_OPEN_FLAGS = text("SELECT kind, count(*) FROM flags WHERE cleared_at IS NULL GROUP BY kind")


@dataclass(frozen=True, slots=True)
class Backlog:
    """``stale``: episodes not folded since their last event; ``lag_seconds``: how long the
    oldest of them (not set aside) has waited; ``set_aside``: episodes whose fold failed."""

    stale: int
    lag_seconds: float
    set_aside: int
    open_flags: dict[str, int]


async def read_backlog(conn: AsyncConnection) -> Backlog:
    """The figures behind the stale, lag, set-aside and open-flag gauges of /metrics."""
    stale, lag, set_aside = (await conn.execute(_BACKLOG)).one()
    open_flags = {str(kind): int(n) for kind, n in (await conn.execute(_OPEN_FLAGS)).all()}
    return Backlog(int(stale), float(lag), int(set_aside), open_flags)
