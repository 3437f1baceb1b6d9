"""Operations endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
from typing import get_args

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.api import webhook_metrics
from services.api.errors import problem_response
from services.api.observability import OPEN_FLAGS, RECOMPUTE_LAG, REGISTRY, STALE_EPISODES
from services.worker.bridge import broker_reachable
from shared.rules.flags import FlagKind
from shared.schema_migrations import current_revisions, head_revisions

FLAG_KINDS: tuple[str, ...] = get_args(FlagKind)

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up (no dependency is checked)."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
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


@router.get(
    "/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}}
)
async def prometheus_metrics(request: Request) -> Response:
    """Prometheus text: requests and latencies, events ingested, recompute lag, open flags."""
    engine: AsyncEngine = request.app.state.engine
    try:
        async with asyncio.timeout(3):
            async with engine.connect() as conn:
                row = (
                    await conn.execute(
                        text(
                            "SELECT count(*),"
                            " coalesce(extract(epoch FROM now() - min(dirty_since)), 0)"
                            " FROM episodes WHERE dirty_since IS NOT NULL"
                        )
                    )
                ).one()
                flags = await conn.execute(
                    text("SELECT kind, count(*) FROM flags WHERE cleared_at IS NULL GROUP BY kind")
                )
                open_by_kind = {str(kind): int(count) for kind, count in flags.all()}
                await webhook_metrics.refresh(conn)  # webhooks (issue 14)
        STALE_EPISODES.set(float(row[0]))
        RECOMPUTE_LAG.set(float(row[1]))
        for kind in FLAG_KINDS:
            OPEN_FLAGS.labels(kind).set(float(open_by_kind.get(kind, 0)))
    except Exception:
        pass
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
