"""Prometheus instruments of the API and the middleware that times every request."""

from __future__ import annotations

import time
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.interop.metrics import MESSAGES_HELP, MESSAGES_LABELS, CountedMessage
from shared.interop.metrics import count_message as count_messages_as

REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "handover_http_requests_total",
    "HTTP requests by route template, method and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "handover_http_request_duration_seconds",
    "HTTP request latency by route template.",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
EVENTS_INGESTED = Counter(
    "handover_events_ingested_total",
    "Events stored (new, not duplicates), by type.",
    ["type"],
    registry=REGISTRY,
)
DATABASE_UP = Gauge(
    "handover_database_up",
    "1 if the last scrape read the database, 0 if not (the gauges read from it are then NaN).",
    registry=REGISTRY,
)
RECOMPUTE_LAG = Gauge(
    "handover_recompute_lag_seconds",
    "Age of the oldest episode whose events are not yet folded (set-aside ones excluded).",
    registry=REGISTRY,
)
STALE_EPISODES = Gauge(
    "handover_stale_episodes",
    "Episodes whose events are stored but not yet folded into flags and metrics.",
    registry=REGISTRY,
)
SET_ASIDE_EPISODES = Gauge(
    "handover_episodes_set_aside",
    "Episodes whose fold raised: not folded until a new event or an operator's re-run.",
    registry=REGISTRY,
)
MESSAGES = Counter("handover_messages_total", MESSAGES_HELP, MESSAGES_LABELS, registry=REGISTRY)
OPEN_FLAGS = Gauge("handover_open_flags", "Open flags by kind.", ["kind"], registry=REGISTRY)


def count_ingested(event_types: Iterable[str]) -> None:
    """Events stored just now (not replays), by type."""
    for event_type in event_types:
        EVENTS_INGESTED.labels(event_type).inc()


def count_message(channel: str, result: CountedMessage) -> None:
    """One message by channel, trigger and AA/AE/AR, and the events it stored."""
    count_messages_as(MESSAGES, channel, result)
    count_ingested(result.created_types)


class RequestMetricsMiddleware:
    """Count and time each request by its route template (never by its concrete path).

    Plain ASGI, not ``BaseHTTPMiddleware``: that one runs the app in a second task and
    buffers the response through a stream, a cost every request paid.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            # The router stores the matched route in the scope it was given (this same dict).
            route = str(getattr(scope.get("route"), "path", "unmatched"))
            LATENCY.labels(scope["method"], route).observe(time.perf_counter() - started)
            REQUESTS.labels(scope["method"], route, str(status)).inc()
