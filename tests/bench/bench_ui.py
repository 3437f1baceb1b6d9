"""``python -m tests.bench.bench_ui [--scales 10000,100000,1000000]``: the dashboard's server time.

Builds stays with the same SQL generator and rebuild as the metrics benchmark (200 hospitals,
2,000 care offices), logs in to the screens with the admin key and times ``GET /ui/`` for the
fiscal year and for June next to ``GET /v1/metrics`` (fiscal year by hospital) at each scale,
over one keep-alive loopback connection. Reports numbers (and ``bench-results/ui.json``); it
never passes or fails on a time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.bench.bench_data import create_organizations
from tests.bench.bench_harness import ADMIN_TOKEN, api_server, latency_summary
from tests.bench.bench_queries import HOSPITALS, OFFICES, fiscal_year_of, grow, rebuild
from tests.services import fresh_database

RESULTS = Path("bench-results")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _login(client: httpx.Client) -> None:
    form = client.get("/ui/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    r = client.post("/ui/login", data={"api_key": ADMIN_TOKEN, "csrf_token": token.group(1)})
    assert r.status_code == 303, r.text[:300]


def _timed(client: httpx.Client, path: str, repeat: int, **kwargs: Any) -> dict[str, float]:
    first = client.get(path, **kwargs)  # warm (and check)
    assert first.status_code == 200, (path, first.status_code, first.text[:300])
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = client.get(path, **kwargs)
        samples.append(time.perf_counter() - t0)
        assert r.status_code == 200
    return latency_summary(samples)


def measure(port: int, now: datetime, repeat: int) -> dict[str, Any]:
    fy = fiscal_year_of(now.date() - timedelta(days=365))
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
        _login(client)
        return {
            "fiscal_year": fy,
            "ui_dashboard_fy": _timed(client, f"/ui/?fiscal_year={fy}", repeat),
            "ui_dashboard_june": _timed(client, f"/ui/?month={fy}-06", repeat),
            "metrics_fy_by_hospital": _timed(
                client, f"/v1/metrics?fiscal_year={fy}&group_by=hospital", repeat, headers=admin
            ),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scales", default="10000,100000", help="comma list of stay counts")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    scales = [int(s) for s in args.scales.split(",")]
    now = datetime.now(UTC)
    results: dict[str, Any] = {"hospitals": HOSPITALS, "offices": OFFICES, "scales": []}
    with fresh_database("handover_bench_ui") as url:
        create_organizations(url, HOSPITALS, OFFICES)
        with api_server(url, url, name="api-ui") as api:
            have = 0
            for scale in scales:
                log(f"scale {scale:,}: generating stays")
                asyncio.run(grow(url, have, scale, now, log))
                have = scale
                rebuilt = asyncio.run(rebuild(url, now))
                log(f"  rebuilt in {rebuilt['seconds']} s; timing the dashboard")
                entry = {"episodes": scale, **measure(api.port, now, args.repeat)}
                results["scales"].append(entry)
                log(
                    f"  /ui/ FY p50 {entry['ui_dashboard_fy']['p50_ms']} ms, "
                    f"June p50 {entry['ui_dashboard_june']['p50_ms']} ms, "
                    f"/v1/metrics FY p50 {entry['metrics_fy_by_hospital']['p50_ms']} ms"
                )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ui.json").write_text(json.dumps(results, indent=2))
    header = ("stays", "/ui/ FY p50", "p99", "/ui/ June p50", "/v1/metrics")
    print("\n{:>10} {:>12} {:>9} {:>14} {:>12}".format(*header))
    for e in results["scales"]:
        fy, june = e["ui_dashboard_fy"], e["ui_dashboard_june"]
        metrics = e["metrics_fy_by_hospital"]
        print(
            f"{e['episodes']:>10,} {fy['p50_ms']:>9.1f} ms {fy['p99_ms']:>6.1f} ms"
            f" {june['p50_ms']:>11.1f} ms {metrics['p50_ms']:>9.1f} ms"
        )
    print(f"\nwritten to {RESULTS / 'ui.json'}")


if __name__ == "__main__":
    main()
