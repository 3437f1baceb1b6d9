"""The real API and worker, fed a generated month, report exactly the scenario's own truth."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from math import floor
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.cli.demo.post import post_events, register
from services.cli.demo.scenario import Expected, Params, Scenario, generate
from shared.rules.metrics import COUNT_FIELDS
from tests.privacy import INSURED_NUMBERS
from tests.services import (
    empty_redis_db,
    free_port,
    fresh_database,
    stop_process_group,
    wait_until,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

ADMIN_TOKEN = "e2e-admin-token-0123456789abcdef"
MONTH = "2024-06"
# May too, so June has a full discharge side and May's admissions must stay out of June's.
PARAMS = Params(
    hospitals=4, care_offices=24, support_centers=4, months=2, episodes_per_hospital_month=30,
    start=date(2024, 5, 1), region="kagoshima-e2e",
)  # fmt: skip
SETTLE_TIMEOUT_S = 120
RATES = {
    "admission_handover_rate": ("admission_info_provided", "admissions_with_care_manager"),
    "admission_handover_on_time_rate": ("admission_info_on_time", "admissions_with_care_manager"),
    "discharge_miss_rate": ("missed_discharges", "eligible_discharges"),
    "discharge_coordination_rate": ("coordinated_discharges", "eligible_discharges"),
    "coordination_on_time_rate": ("coordination_on_time", "eligible_discharges"),
}


@dataclass
class Stack:
    """A running API (uvicorn) and worker (dramatiq) over a fresh database and a Redis broker."""

    client: httpx.Client
    scenario: Scenario
    keys: dict[str, str]
    logs: Path


def _spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


API_ARGV = [sys.executable, "-m", "uvicorn", "services.api.app:create_app", "--factory",
            "--host", "127.0.0.1"]  # fmt: skip
WORKER_ARGV = [sys.executable, "-m", "dramatiq", "services.worker.actors", "--processes", "1",
               "--threads", "2", "--worker-shutdown-timeout", "5000"]  # fmt: skip


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Real processes on a fresh database; both stopped (TERM, then KILL after 10 s) at the end."""
    logs = tmp_path_factory.mktemp("e2e-logs")
    port = free_port()
    with empty_redis_db() as broker_url, fresh_database("handover_e2e") as database_url:
        env = dict(os.environ, DATABASE_URL=database_url, BROKER_URL=broker_url,
                   HANDOVER_ADMIN_TOKEN=ADMIN_TOKEN, HANDOVER_ENV="development")  # fmt: skip
        api = worker = None
        try:
            api = _spawn([*API_ARGV, "--port", str(port)], env, logs / "api.log")
            worker = _spawn(WORKER_ARGV, env, logs / "worker.log")
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:

                def up() -> bool:
                    assert api.poll() is None, (logs / "api.log").read_text()[-3000:]
                    try:
                        return client.get("/healthz").status_code == 200
                    except httpx.HTTPError:
                        return False

                assert wait_until(up, timeout=30, interval=0.3)
                scenario = generate(PARAMS, seed=11)
                INSURED_NUMBERS.update(_insured_numbers(scenario))
                keys = register(client, scenario, ADMIN_TOKEN)
                yield Stack(client, scenario, keys, logs)
        finally:
            for proc in (worker, api):
                if proc is not None:
                    stop_process_group(proc, timeout=10)


def _insured_numbers(scenario: Scenario) -> set[str]:
    return {p.body["patient"]["insured_number"] for p in scenario.posts if "patient" in p.body}


def _admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def _in_month(day: date) -> bool:
    return f"{day:%Y-%m}" == MONTH


def _expected_groups(
    expected: tuple[Expected, ...], key: Callable[[Expected, str], tuple[Any, ...]]
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The scenario's truth per key: admission side on its date, discharge side on its own."""
    sums: dict[tuple[Any, ...], dict[str, Any]] = defaultdict(
        lambda: {**dict.fromkeys(COUNT_FIELDS, 0), "leads": []}
    )
    for e in expected:
        if _in_month(e.admission_date):
            s = sums[key(e, "admission")]
            s["admissions_with_care_manager"] += e.with_care_manager
            s["admission_info_provided"] += e.info_provided
            s["admission_info_on_time"] += e.info_on_time
        if _in_month(e.discharge_date):
            s = sums[key(e, "discharge")]
            s["eligible_discharges"] += e.eligible
            s["coordinated_discharges"] += e.coordinated
            s["missed_discharges"] += e.eligible and not e.coordinated
            s["coordination_on_time"] += e.coordination_on_time
            if e.lead_days is not None:
                s["leads"].append(e.lead_days)
    return dict(sums)


def _assert_figures(got: dict[str, Any], want: dict[str, Any] | None, where: str) -> None:
    want = want or {**dict.fromkeys(COUNT_FIELDS, 0), "leads": []}
    for name in COUNT_FIELDS:
        assert got[name] == want[name], f"{where}: {name}"
    for name, (num, den) in RATES.items():
        rate = Fraction(want[num], want[den]) if want[den] else None
        assert got[name] == (None if rate is None else pytest.approx(float(rate), abs=1e-12)), (
            f"{where}: {name}"
        )
    median = statistics.median(want["leads"]) if want["leads"] else None
    assert got["median_coordination_lead_days"] == median, f"{where}: median"


def _pct(num: int, den: int) -> float | None:
    """Survey percentage, computed here independently: exact × 100, half-up to one decimal."""
    return None if den == 0 else floor(Fraction(1000 * num, den) + Fraction(1, 2)) / 10


def _settle(client: httpx.Client, logs: Path) -> None:
    def settled() -> bool:
        r = client.get("/v1/metrics", params={"month": MONTH}, headers=_admin())
        assert r.status_code == 200, r.text
        return int(r.json()["stale_episodes"]) == 0

    assert wait_until(settled, timeout=SETTLE_TIMEOUT_S, interval=1.0), (
        f"episodes still stale after {SETTLE_TIMEOUT_S}s; worker log:\n"
        + (logs / "worker.log").read_text()[-3000:]
    )


GROUPINGS: dict[str, tuple[str, Callable[[Expected, str], tuple[Any, ...]]]] = {
    "hospital": ("hospital_id", lambda e, _side: (e.hospital_id,)),
    "care_office": (
        "care_office_id",
        lambda e, side: (
            e.care_office_at_admission if side == "admission" else e.care_office_at_discharge,
        ),
    ),
    "municipality": ("insurer_number", lambda e, _side: (e.insurer_number,)),
    "ward_type": ("ward_type", lambda e, _side: (e.ward_type,)),
    "care_level_band": ("care_level_band", lambda e, _side: (e.care_level_band,)),
}


def test_posted_month_gives_exactly_the_scenarios_metrics_and_survey(stack: Stack) -> None:
    client, scenario = stack.client, stack.scenario
    started = time.monotonic()
    summary = post_events(client, scenario.posts, stack.keys)
    assert summary.errors == []
    assert summary.duplicate == scenario.planned_duplicates
    assert summary.created == len(scenario.posts) - scenario.planned_duplicates
    _settle(client, stack.logs)
    print(
        f"posted {summary.total} events in {summary.elapsed_s:.1f}s, "
        f"settled after {time.monotonic() - started:.1f}s"
    )

    r = client.get(
        "/v1/metrics", params={"month": MONTH, "region": PARAMS.region}, headers=_admin()
    )
    assert r.status_code == 200, r.text
    total = _expected_groups(scenario.expected, lambda _e, _side: ())
    _assert_figures(r.json()["total"], total.get(()), "total")

    for group_by, (field, key) in GROUPINGS.items():
        r = client.get(
            "/v1/metrics", params={"month": MONTH, "group_by": group_by}, headers=_admin()
        )
        assert r.status_code == 200, r.text
        want = _expected_groups(scenario.expected, key)
        got = {(g["key"][field],): g for g in r.json()["groups"]}
        for k in want.keys() | got.keys():
            if k not in got:  # a group with nothing to count may be left out
                assert all(want[k][n] == 0 for n in COUNT_FIELDS), f"{group_by} {k} missing"
                continue
            _assert_figures(got[k], want.get(k), f"{group_by} {k}")

    r = client.get(
        "/v1/reports/survey",
        params={"month": MONTH, "format": "json", "region": PARAMS.region},
        headers=_admin(),
    )
    assert r.status_code == 200, r.text
    survey = r.json()
    by_hospital = _expected_groups(scenario.expected, GROUPINGS["hospital"][1])
    hospitals = [o for o in scenario.organizations if o.kind == "hospital"]
    assert [row["hospital_id"] for row in survey["rows"]] == [h.id for h in hospitals]
    for row, hospital in zip(survey["rows"], hospitals, strict=True):
        assert row["hospital_name"] == hospital.name
        hospital_want = by_hospital.get((hospital.id,))
        _assert_figures(row, hospital_want, f"survey {hospital.id}")
        _assert_survey_pcts(row, hospital_want or dict.fromkeys(COUNT_FIELDS, 0))
    _assert_figures(survey["total"], total.get(()), "survey total")
    _assert_survey_pcts(survey["total"], total[()])


def _assert_survey_pcts(row: dict[str, Any], want: dict[str, Any]) -> None:
    assert row["admission_handover_pct"] == _pct(
        want["admission_info_provided"], want["admissions_with_care_manager"]
    )
    assert row["discharge_miss_pct"] == _pct(want["missed_discharges"], want["eligible_discharges"])


def _flag(client: httpx.Client, headers: dict[str, str], status: str, ref: str) -> bool:
    r = client.get(
        "/v1/flags",
        params={"status": status, "kind": "missed_discharge_coordination", "limit": 1000},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    return any(f.get("encounter_ref") == ref for f in r.json()["items"])


def test_missed_discharge_is_flagged_and_a_late_reported_coordination_clears_it(
    stack: Stack,
) -> None:
    scenario = stack.scenario
    hospital = next(o.id for o in scenario.organizations if o.kind == "hospital")
    office = next(o.id for o in scenario.organizations if o.kind == "care_office")
    headers = {"Authorization": f"Bearer {stack.keys[hospital]}"}
    ref, patient = "FLAG-0001", {"insurer_number": "462012", "insured_number": "0000000001"}
    envelope = {"hospital_id": hospital, "encounter_ref": ref}
    events = [
        {
            "event_id": "7a0c5f0e-0000-4000-8000-000000000001",
            "type": "admission",
            "occurred_at": "2024-04-01T10:00:00+09:00",
            "patient": patient,
            "care_level": "care_2",
            "ward_type": "general",
            "care_office_id": office,
            **envelope,
        },
        {
            "event_id": "7a0c5f0e-0000-4000-8000-000000000002",
            "type": "discharge",
            "occurred_at": "2024-04-20T11:00:00+09:00",
            "destination": "home",
            **envelope,
        },
    ]
    for event in events:
        r = stack.client.post("/v1/events", json=event, headers=headers)
        assert r.status_code == 201, r.text
    assert wait_until(lambda: _flag(stack.client, headers, "open", ref), timeout=15)

    late = {
        "event_id": "7a0c5f0e-0000-4000-8000-000000000003",
        "type": "discharge_coordination",
        "occurred_at": "2024-04-12T15:00:00+09:00",
        "to_org_id": office,
        "channel": "phone",
        **envelope,
    }
    r = stack.client.post("/v1/events", json=late, headers=headers)
    assert r.status_code == 201, r.text
    assert wait_until(lambda: _flag(stack.client, headers, "cleared", ref), timeout=15)
    assert not _flag(stack.client, headers, "open", ref)


def test_api_and_worker_logs_hold_no_patient_numbers(stack: Stack) -> None:
    numbers = _insured_numbers(stack.scenario)
    for name in ("api.log", "worker.log"):
        text = (stack.logs / name).read_text(errors="replace")
        assert not [n for n in numbers if n in text], f"{name} holds insured numbers"
