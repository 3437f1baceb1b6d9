"""Soak: a bounded mixed load on a uvicorn API and a real worker; no 5xx, no lost event, RSS.

    python -m tests.bench.soak --minutes 10 [--rate 40] [--out bench-results/soak.json]

Every event type is posted with its poster's own key (single posts, identical replays and
batches) between reads of every kind. At the end the worker must catch up, every event
acknowledged with 201 (or ``created`` in a batch) must be a row of ``events`` and no other row
may exist. RSS of the API and of the worker (parent and children) is sampled over time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from tests.factories import admin_headers
from tests.reliability.harness import (
    METRICS_RANGE,
    Region,
    api_server,
    dirty_episodes,
    stay,
    stored_event_ids,
)
from tests.services import fresh_database, wait_until, worker_process

CLIENTS = 4
SAMPLE_EVERY_S = 5.0
CATCH_UP_TIMEOUT_S = 120


@dataclass
class Tally:
    """What the clients saw; shared by the client threads under one lock."""

    statuses: Counter[str] = field(default_factory=Counter)
    acknowledged: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, response: httpx.Response, started: float) -> None:
        with self.lock:
            self.latencies_ms.append((time.perf_counter() - started) * 1000)
            self.statuses[f"{kind} {response.status_code}"] += 1
            if response.status_code >= 500:
                self.errors.append(f"{kind} {response.status_code}: {response.text[:200]}")


def _rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            total += proc.memory_info().rss
    return round(total / 2**20, 1)


class Client(threading.Thread):
    """One client: whole stays in order, interleaved with replays, batches and reads."""

    def __init__(self, n: int, base_url: str, region: Region, viewer: dict[str, str],
                 tally: Tally, stop: threading.Event, interval: float) -> None:  # fmt: skip
        super().__init__(name=f"soak-client-{n}", daemon=True)
        self.n, self.region, self.viewer, self.tally = n, region, viewer, tally
        self.stop, self.interval = stop, interval
        self.client = httpx.Client(base_url=base_url, timeout=30)
        self.rng = random.Random(n)

    def run(self) -> None:
        stays = 0
        try:
            while not self.stop.is_set():
                events = stay(self.rng, self.region, self.n * 1_000_000 + stays)
                stays += 1
                if self.rng.random() < 0.15:
                    self._batch(events)
                else:
                    for poster, body in events:
                        self._post(poster, body)
                        self._read()
                        if self.stop.is_set():
                            break
        finally:
            self.client.close()

    def _paced(self, kind: str, method: str, url: str, **kwargs: Any) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = self.client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            with self.tally.lock:
                self.tally.statuses[f"{kind} {type(exc).__name__}"] += 1
                self.tally.errors.append(f"{kind}: {type(exc).__name__}")
            return None
        self.tally.record(kind, response, started)
        time.sleep(max(0.0, self.interval - (time.perf_counter() - started)))
        return response

    def _post(self, poster: str, body: dict[str, Any]) -> None:
        headers = self.region.keys[poster]
        r = self._paced("post", "POST", "/v1/events", json=body, headers=headers)
        if r is not None and r.status_code == 201:
            with self.tally.lock:
                self.tally.acknowledged.add(body["event_id"])
        if r is not None and self.rng.random() < 0.05:  # a client that retries a success
            self._paced("replay", "POST", "/v1/events", json=body, headers=headers)

    def _batch(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        bodies = [body for _, body in events]
        r = self._paced("batch", "POST", "/v1/events:batch", json={"events": bodies},
                        headers=admin_headers())  # fmt: skip
        if r is not None and r.status_code == 200:
            with self.tally.lock:
                for body, item in zip(bodies, r.json()["results"], strict=True):
                    if item["status"] == "created":
                        self.tally.acknowledged.add(body["event_id"])

    def _read(self) -> None:
        hospital = self.rng.choice(self.region.hospitals)
        office = self.rng.choice(self.region.offices)
        choice = self.rng.randrange(7)
        if choice == 0:
            self._paced("pending", "GET", "/v1/handovers/pending",
                        headers=self.region.keys[office])  # fmt: skip
        elif choice == 1:
            self._paced("flags", "GET", "/v1/flags", headers=self.region.keys[hospital])
        elif choice == 2:
            self._paced("metrics", "GET", "/v1/metrics", headers=self.viewer,
                        params={**METRICS_RANGE, "group_by": "hospital,ward_type"})  # fmt: skip
        elif choice == 3:
            self._paced("series", "GET", "/v1/metrics/series", headers=self.viewer,
                        params={**METRICS_RANGE, "metric": "discharge_miss_rate"})  # fmt: skip
        elif choice == 4:
            self._paced("survey", "GET", "/v1/reports/survey", headers=self.viewer,
                        params={"month": "2025-06", "format": "csv"})  # fmt: skip
        elif choice == 5:
            self._paced("episode", "GET", "/v1/episodes", headers=self.region.keys[hospital],
                        params={"hospital_id": hospital, "encounter_ref": "E-000000"})  # fmt: skip
        else:
            self._paced("orgs", "GET", "/v1/organizations", headers=admin_headers())


def _viewer_key(client: httpx.Client, region: Region) -> dict[str, str]:
    org = {"id": f"V{region.region[-12:]}", "kind": "region", "name": "viewer",
           "region": region.region}  # fmt: skip
    r = client.post("/v1/organizations", json=org, headers=admin_headers())
    assert r.status_code == 201, r.text
    r = client.post("/v1/api-keys", json={"organization_id": org["id"], "role": "viewer"},
                    headers=admin_headers())  # fmt: skip
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['key']}"}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else 0.0


def run_soak(seconds: float, rate: float, log_dir: Path) -> dict[str, Any]:
    """Run the load for ``seconds`` at about ``rate`` requests/s in all; return the report."""
    with fresh_database("handover_soak") as database_url:
        with (
            api_server(database_url, database_url, log_dir / "soak-api.log") as api,
            worker_process(database_url, database_url) as worker,
            httpx.Client(base_url=api.base_url, timeout=30) as setup,
        ):
            region = Region.create(setup, hospitals=4, offices=8)
            viewer = _viewer_key(setup, region)
            tally, stop = Tally(), threading.Event()
            clients = [Client(n, api.base_url, region, viewer, tally, stop, CLIENTS / rate)
                       for n in range(CLIENTS)]  # fmt: skip
            samples: list[dict[str, float]] = []
            started = time.monotonic()
            for c in clients:
                c.start()
            try:
                while (elapsed := time.monotonic() - started) < seconds:
                    samples.append({"t_s": round(elapsed, 1), "api_rss_mb": _rss_mb(api.proc.pid),
                                    "worker_rss_mb": _rss_mb(worker.pid),
                                    "dirty_episodes": dirty_episodes(database_url)})  # fmt: skip
                    time.sleep(min(SAMPLE_EVERY_S, max(0.0, seconds - elapsed)))
            finally:
                stop.set()
                for c in clients:
                    c.join(60)
            load_s = time.monotonic() - started
            caught_up = wait_until(lambda: dirty_episodes(database_url) == 0,
                                   timeout=CATCH_UP_TIMEOUT_S, interval=0.5)  # fmt: skip
            catch_up_s = time.monotonic() - started - load_s
            samples.append({"t_s": round(time.monotonic() - started, 1),
                            "api_rss_mb": _rss_mb(api.proc.pid),
                            "worker_rss_mb": _rss_mb(worker.pid), "dirty_episodes": 0})  # fmt: skip
        stored = stored_event_ids(database_url)
    requests = sum(tally.statuses.values())
    return {
        "seconds": round(load_s, 1),
        "target_rate_per_s": rate,
        "requests": requests,
        "requests_per_s": round(requests / load_s, 1),
        "statuses": dict(sorted(tally.statuses.items())),
        "server_errors": sum(n for k, n in tally.statuses.items() if k.split()[-1][0] == "5"),
        "transport_errors": sum(
            n for k, n in tally.statuses.items() if not k.split()[-1].isdigit()
        ),
        "error_samples": tally.errors[:10],
        "latency_ms": {
            "p50": _percentile(tally.latencies_ms, 0.5),
            "p95": _percentile(tally.latencies_ms, 0.95),
            "p99": _percentile(tally.latencies_ms, 0.99),
            "max": _percentile(tally.latencies_ms, 1.0),
        },
        "events_acknowledged": len(tally.acknowledged),
        "events_stored": len(stored),
        "events_lost": len(tally.acknowledged - stored),
        "events_unacknowledged_but_stored": len(stored - tally.acknowledged),
        "worker_caught_up": caught_up,
        "catch_up_s": round(catch_up_s, 1),
        "rss_mb": samples,
        "api_rss_growth_mb": round(samples[-1]["api_rss_mb"] - samples[0]["api_rss_mb"], 1),
        "worker_rss_growth_mb": round(
            samples[-1]["worker_rss_mb"] - samples[0]["worker_rss_mb"], 1
        ),
    }


def failures(report: dict[str, Any]) -> list[str]:
    """What the soak promises: no 5xx, nothing lost, nothing unexplained, the worker caught up."""
    found = []
    if report["server_errors"] or report["transport_errors"]:
        found.append(
            f"{report['server_errors']} 5xx, {report['transport_errors']} transport errors"
        )
    if report["events_lost"]:
        found.append(f"{report['events_lost']} acknowledged event(s) are not stored")
    if report["events_unacknowledged_but_stored"]:
        found.append(f"{report['events_unacknowledged_but_stored']} stored event(s) never answered")
    if not report["worker_caught_up"]:
        found.append("the worker did not catch up")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=40.0, help="requests per second in all")
    parser.add_argument("--out", type=Path, default=Path("bench-results/soak.json"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        report = run_soak(args.minutes * 60, args.rate, Path(tmp))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    summary = {k: v for k, v in report.items() if k != "rss_mb"}
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    problems = failures(report)
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
