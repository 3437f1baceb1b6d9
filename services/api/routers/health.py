"""Operations endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
import math
from typing import get_args

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.api import webhook_metrics
from services.api.errors import problem_response
from services.api.observability import (
    DATABASE_UP,
    OPEN_FLAGS,
    RECOMPUTE_LAG,
    REGISTRY,
    SET_ASIDE_EPISODES,
    STALE_EPISODES,
)
from services.api.routing import AuthFirstRoute
from shared.core.schema_migrations import current_revisions, head_revisions
from shared.episodes.backlog import read_backlog
from shared.queue.enqueue import broker_reachable
from shared.rules.flags import FlagKind

FLAG_KINDS: tuple[str, ...] = get_args(FlagKind)

router = APIRouter(route_class=AuthFirstRoute, tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up (no dependency is checked)."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=None,
    responses={503: {"description": "Not ready: `detail` names the failing checks"}},
)
async def readyz(request: Request) -> dict[str, object] | Response:
    """Ready to serve: database reachable, migrations at head, broker reachable."""
    engine: AsyncEngine = request.app.state.engine
    checks: dict[str, str] = {}
    try:
        async with asyncio.timeout(3):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                current = await conn.run_sync(current_revisions)
        checks["database"] = "ok"
        checks["migrations"] = "ok" if current == head_revisions() else "behind"
    except Exception:
        checks["database"] = "unreachable"
        checks["migrations"] = "unknown"
    reachable = await asyncio.to_thread(broker_reachable, request.app.state.broker)
    checks["broker"] = "ok" if reachable else "unreachable"
    if all(v == "ok" for v in checks.values()):
        return {"status": "ready", "checks": checks}
    failing = ", ".join(f"{k}: {v}" for k, v in checks.items() if v != "ok")
    return problem_response(503, f"Not ready ({failing}).")


async def _read_database_gauges(engine: AsyncEngine) -> None:
    async with asyncio.timeout(3):
        async with engine.connect() as conn:
            backlog = await read_backlog(conn)
            await webhook_metrics.refresh(conn)  # webhooks (issue 14)
    STALE_EPISODES.set(float(backlog.stale))
    RECOMPUTE_LAG.set(backlog.lag_seconds)
    SET_ASIDE_EPISODES.set(float(backlog.set_aside))
    for kind in FLAG_KINDS:
        OPEN_FLAGS.labels(kind).set(float(backlog.open_flags.get(kind, 0)))


def _database_gauges_unknown() -> None:
    """The last values would read as current: an outage would show `stale_episodes 0`."""
    for gauge in (STALE_EPISODES, RECOMPUTE_LAG, SET_ASIDE_EPISODES):
        gauge.set(math.nan)
    for kind in FLAG_KINDS:
        OPEN_FLAGS.labels(kind).set(math.nan)


@router.get(
    "/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}}
)
async def prometheus_metrics(request: Request) -> Response:
    """Prometheus text: requests, latencies, events ingested, database up, backlog, open flags."""
    try:
        await _read_database_gauges(request.app.state.engine)
        DATABASE_UP.set(1)
    except Exception:
        DATABASE_UP.set(0)
        _database_gauges_unknown()
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
