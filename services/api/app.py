"""The FastAPI application factory; the lifespan owns the engine and the broker."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.api.enqueue import RecomputeQueue
from services.api.errors import install_error_handlers
from services.api.limits import BodyLimitMiddleware, RateLimiter
from services.api.observability import RequestMetricsMiddleware
from services.api.openapi import install_openapi
from services.api.routers import (
    audit,
    episodes,
    events,
    flags,
    handovers,
    health,
    metrics,
    organizations,
    reports,
    rule_sets,
    webhooks,
)
from services.worker.broker import get_broker
from services.worker.webhook_bridge import DeliveryQueue
from shared.db import create_engine, create_sessionmaker
from shared.notify.outbox import bind_sender
from shared.reference import ReferenceData
from shared.settings import Settings, get_settings

DESCRIPTION = """
Records admission and discharge handover events (入退院支援ルール) between hospitals and
care-management offices, shows each party what is pending, flags missed discharge coordination
(退院調整漏れ) and gives regions live compliance metrics in the survey's own terms.

Authenticate with `Authorization: Bearer <api key>`. Errors are `application/problem+json`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; nothing connects until the lifespan starts."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.async_database_url)
        broker = get_broker(settings.broker_url or settings.async_database_url)
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.broker = broker
        app.state.recompute = RecomputeQueue(broker, enabled=settings.enqueue_enabled)
        webhooks_queue = DeliveryQueue(broker, enabled=settings.enqueue_enabled)  # issue 14
        bind_sender(app.state.sessionmaker, webhooks_queue.add)
        try:
            yield
        finally:
            await app.state.recompute.drain()
            broker.close()
            await engine.dispose()

    app = FastAPI(
        title="Handover (入退院支援ルール) API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    per_minute = settings.rate_limit_per_minute
    app.state.rate_limiter = RateLimiter(per_minute) if per_minute else None
    logging.getLogger("handover").setLevel(settings.log_level)
    app.state.reference = ReferenceData()
    install_error_handlers(app)
    app.add_middleware(RequestMetricsMiddleware)
    app.add_middleware(BodyLimitMiddleware)
    for router in (
        health.router,
        events.router,
        episodes.router,
        handovers.router,
        flags.router,
        metrics.router,
        reports.router,
        organizations.router,
        rule_sets.router,
        audit.router,
        webhooks.router,
    ):
        app.include_router(router)
    install_openapi(app)
    return app
