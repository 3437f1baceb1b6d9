"""The FastAPI application factory; the lifespan owns the engine and the broker."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from services.api.errors import install_error_handlers
from services.api.limits import BodyLimitMiddleware, RateLimiter
from services.api.observability import RequestMetricsMiddleware
from services.api.openapi import install_openapi
from services.api.routers import (
    access_log,
    audit,
    episodes,
    events,
    fhir,
    flags,
    handovers,
    health,
    hl7v2,
    metrics,
    organizations,
    reports,
    rule_sets,
    set_aside,
    sheets,
    users,
    webhooks,
)
from services.api.ui import install_ui
from shared.access.authentication import KeyCache, KeyUses
from shared.core import unit_of_work
from shared.core.db import create_engine, create_sessionmaker
from shared.core.settings import Settings, get_settings
from shared.organizations.reference import ReferenceData
from shared.queue.after_commit import AfterCommit
from shared.queue.broker import get_broker

DESCRIPTION = """
Records admission and discharge handover events (入退院支援ルール) between hospitals and
care-management offices, shows each party what is pending, flags missed discharge coordination
(退院調整漏れ) and gives regions live compliance metrics in the survey's own terms.

Authenticate with `Authorization: Bearer <api key>`. Errors are `application/problem+json`.
"""
# Swagger UI and ReDoc from a PyPI package, served by the service: no CDN on a closed network.
DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"
DOCS_ASSETS_URL = "/docs-assets"
# ReDoc's bundle injects its styles and runs its search in a blob: worker; nothing else.
REDOC_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "base-uri 'none'; frame-ancestors 'none'"
)
HOME_URL = "/ui/"  # where `GET /` sends a browser: the screens (api.md)


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
        app.state.after_commit = AfterCommit(broker, enabled=settings.enqueue_enabled)
        unit_of_work.bind(app.state.sessionmaker, app.state.after_commit.hand_off)
        key_uses: KeyUses = app.state.key_uses
        flusher = asyncio.create_task(key_uses.flush_every(app.state.sessionmaker))
        libpq_url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        listener = asyncio.create_task(app.state.keys.listen(libpq_url))
        try:
            yield
        finally:
            flusher.cancel()
            listener.cancel()
            await key_uses.flush_quietly(app.state.sessionmaker)
            await app.state.after_commit.drain()
            broker.close()
            await engine.dispose()

    app = FastAPI(
        title="Handover (入退院支援ルール) API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # install_docs serves them with local assets
        redoc_url=None,
    )
    app.state.settings = settings
    per_minute = settings.rate_limit_per_minute
    app.state.rate_limiter = RateLimiter(per_minute) if per_minute else None
    logging.getLogger("handover").setLevel(settings.log_level)
    app.state.reference = ReferenceData()
    app.state.keys = KeyCache()
    app.state.key_uses = KeyUses()
    install_error_handlers(app)
    app.add_middleware(RequestMetricsMiddleware)
    app.add_middleware(BodyLimitMiddleware)
    for router in (
        health.router,
        events.router,
        hl7v2.router,
        fhir.router,
        episodes.router,
        handovers.router,
        flags.router,
        metrics.router,
        reports.router,
        organizations.router,
        rule_sets.router,
        audit.router,
        access_log.router,
        set_aside.router,
        webhooks.router,
        sheets.router,
        users.router,
    ):
        app.include_router(router)
    install_ui(app)
    install_openapi(app)
    install_docs(app)
    return app


def install_docs(app: FastAPI) -> None:
    """`/docs` (Swagger UI) and `/redoc` with their scripts and styles served from here."""
    app.mount(DOCS_ASSETS_URL, StaticFiles(directory=DOCS_ASSETS), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"
    redirect_url = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"

    def assets(request: Request) -> str:
        return f"{request.scope.get('root_path', '')}{DOCS_ASSETS_URL}"

    @app.get("/", include_in_schema=False)
    async def home(request: Request) -> RedirectResponse:
        return RedirectResponse(f"{request.scope.get('root_path', '')}{HOME_URL}")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root, static = request.scope.get("root_path", ""), assets(request)
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=f"{root}{redirect_url}",
            swagger_js_url=f"{static}/swagger-ui-bundle.js",
            swagger_css_url=f"{static}/swagger-ui.css",
            swagger_favicon_url=f"{static}/favicon.png",
            # validatorUrl: no badge fetched from validator.swagger.io
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
        )

    @app.get(redirect_url, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root, static = request.scope.get("root_path", ""), assets(request)
        page = get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{static}/redoc.standalone.js",
            redoc_favicon_url=f"{static}/favicon.png",
            with_google_fonts=False,
        )
        # ReDoc's bundle draws the Redocly logo from cdn.redoc.ly; on a closed network that is a
        # stalled request, elsewhere a call home. The page may load only from this host.
        page.headers["Content-Security-Policy"] = REDOC_CSP
        return page
