"""Prometheus instruments of webhook delivery (the worker's registry, served by the worker)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)
DELIVERIES = Counter(
    "handover_webhook_deliveries_total",
    "Webhook delivery attempts by outcome: delivered, retry, failed.",
    ["outcome"],
    registry=REGISTRY,
)
ATTEMPT_SECONDS = Histogram(
    "handover_webhook_attempt_duration_seconds",
    "Time from sending a webhook request to its answer (or error).",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
DELIVERY_LATENCY = Histogram(
    "handover_webhook_delivery_latency_seconds",
    "Time from the change that caused a notification to its successful delivery.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200, 36000),
    registry=REGISTRY,
)
QUEUE_DEPTH = Gauge(
    "handover_webhook_queue_depth",
    "Pending webhook deliveries, and those of them whose attempt is due now.",
    ["which"],
    registry=REGISTRY,
)
