"""Webhook benchmark: the time from an event's 201 to the receiver's request, and deliveries/s.

Real processes: a uvicorn API and a dramatiq worker on a fresh database (Postgres broker), and
loopback receivers in this process, so one monotonic clock times both ends. Reports numbers and
writes ``bench-results/webhooks.json``; it never passes or fails on time.

    python -m tests.bench.bench_webhooks [--rate 20] [--seconds 15] [--slow 200]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.factories import admin_headers, unique
from tests.reliability.harness import api_server
from tests.services import fresh_database, wait_until, worker_process
from tests.webhook_receiver import Receiver, receiver

RESULTS = Path("bench-results") / "webhooks.json"


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _setup(client: httpx.Client, recv: Receiver, path: str) -> tuple[str, str, dict[str, str]]:
    region = unique("bench-")
    ids = {}
    for kind in ("hospital", "care_office"):
        org = unique("H" if kind == "hospital" else "C")
        body = {"id": org, "kind": kind, "name": org, "region": region}
        assert client.post("/v1/organizations", json=body, headers=admin_headers()).is_success
        r = client.post("/v1/api-keys", json={"organization_id": org, "role": kind},
                        headers=admin_headers())  # fmt: skip
        ids[kind] = (org, {"Authorization": f"Bearer {r.json()['key']}"})
    (hospital, h_key), (office, o_key) = ids["hospital"], ids["care_office"]
    r = client.post("/v1/webhooks", json={"url": recv.url(path), "event_types":
                    ["episode.admitted"]}, headers=o_key)  # fmt: skip
    assert r.status_code == 201, r.text
    return hospital, office, h_key


def _admission(hospital: str, office: str, n: int) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "type": "admission",
            "occurred_at": "2026-11-30T10:00:00+09:00", "hospital_id": hospital,
            "encounter_ref": f"B-{n:06d}", "care_office_id": office,
            "care_level": "care_2", "ward_type": "general",
            "patient": {"insurer_number": "462010", "insured_number": f"{n:010d}"}}  # fmt: skip


def latency_at_rate(base_url: str, recv: Receiver, rate: float, seconds: float) -> dict[str, Any]:
    """Post admissions at ``rate``/s; for each, the time from its 201 to its webhook request."""
    path = "/latency"
    with httpx.Client(base_url=base_url, timeout=30) as client:
        hospital, office, h_key = _setup(client, recv, path)
        acked: dict[str, float] = {}
        started = time.monotonic()
        n = 0
        while time.monotonic() - started < seconds:
            due = started + n / rate
            if due > time.monotonic():
                time.sleep(due - time.monotonic())
            body = _admission(hospital, office, n)
            r = client.post("/v1/events", json=body, headers=h_key)
            assert r.status_code == 201, r.text
            acked[body["event_id"]] = time.monotonic()
            n += 1
        posting = time.monotonic() - started
    wait_until(lambda: len(recv.at(path)) >= len(acked), timeout=60)
    lags = []
    for got in recv.at(path):
        event_id = json.loads(got.body)["data"]["event_id"]
        if event_id in acked:
            lags.append((got.at - acked[event_id]) * 1000)
    return {"posted": n, "posting_rate_per_s": n / posting, "received": len(lags),
            "p50_ms": _pct(lags, 0.5), "p99_ms": _pct(lags, 0.99),
            "mean_ms": statistics.fmean(lags) if lags else None}  # fmt: skip


def slow_receivers(base_url: str, recv: Receiver, count: int, delay: float) -> dict[str, Any]:
    """``count`` notifications to an endpoint that takes ``delay`` s per request."""
    path = "/slow"
    recv.script[path] = [("sleep", delay, 204)]
    with httpx.Client(base_url=base_url, timeout=60) as client:
        hospital, office, h_key = _setup(client, recv, path)
        events = [_admission(hospital, office, 100_000 + i) for i in range(count)]
        started = time.monotonic()
        for i in range(0, count, 100):
            r = client.post("/v1/events:batch", json={"events": events[i : i + 100]},
                            headers=h_key)  # fmt: skip
            assert r.status_code == 200, r.text
    wait_until(lambda: len(recv.at(path)) >= count, timeout=600, interval=0.5)
    took = time.monotonic() - started
    return {"notifications": count, "receiver_delay_s": delay, "received": len(recv.at(path)),
            "seconds": took, "deliveries_per_s": len(recv.at(path)) / took}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--slow", type=int, default=200)
    parser.add_argument("--slow-delay", type=float, default=0.5)
    args = parser.parse_args()
    log = Path(tempfile.mkdtemp()) / "api.log"
    with (
        fresh_database("handover_bench_webhooks") as url,
        api_server(url, url, log) as api,
        worker_process(url, url),
        receiver() as recv,
    ):
        threading.Event().wait(3)  # the worker boots
        result = {
            "latency": latency_at_rate(api.base_url, recv, args.rate, args.seconds),
            "slow_receiver": slow_receivers(api.base_url, recv, args.slow, args.slow_delay),
        }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
