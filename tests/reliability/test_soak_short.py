"""A one-minute soak (the CI cut of ``python -m tests.bench.soak``): no 5xx, no lost event."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.bench.soak import failures, run_soak

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
SECONDS = float(os.environ.get("SOAK_SECONDS", "60"))


def test_a_minute_of_mixed_load_has_no_5xx_and_loses_no_event(tmp_path: Path) -> None:
    report = run_soak(SECONDS, rate=40.0, log_dir=tmp_path)
    (tmp_path / "soak.json").write_text(json.dumps(report, indent=2))
    print(f"\nsoak {report['seconds']} s: {report['requests']} requests "
          f"({report['requests_per_s']}/s), p95 {report['latency_ms']['p95']} ms, "
          f"{report['events_acknowledged']} events acknowledged, {report['events_stored']} stored; "
          f"RSS growth (reported, not asserted): API {report['api_rss_growth_mb']} MB, "
          f"worker {report['worker_rss_growth_mb']} MB")  # fmt: skip
    assert failures(report) == [], report["error_samples"]
    assert report["events_acknowledged"] > 0
