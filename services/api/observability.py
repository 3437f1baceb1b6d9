"""Prometheus instruments of the API and the middleware that times every request."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

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
RECOMPUTE_LAG = Gauge(
    "handover_recompute_lag_seconds",
    "Age of the oldest episode whose events are not yet folded into flags and metrics.",
    registry=REGISTRY,
)
STALE_EPISODES = Gauge(
    "handover_stale_episodes",
    "Episodes whose events are stored but not yet folded into flags and metrics.",
    registry=REGISTRY,
)
OPEN_FLAGS = Gauge("handover_open_flags", "Open flags by kind.", ["kind"], registry=REGISTRY)


def _route_template(request: Request) -> str:
    """The matched route's path template (set by the router), never the concrete path."""
    return str(getattr(request.scope.get("route"), "path", "unmatched"))


async def time_requests(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Count and time each request by its route template (never by its concrete path)."""
    started = time.perf_counter()
    status = 500
    try:
        response = await call_next(request)
        status = response.status_code
        return response
    finally:
        route = _route_template(request)
        LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
        REQUESTS.labels(request.method, route, str(status)).inc()
