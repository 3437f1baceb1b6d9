"""Migrations: upgrade to head matches the models (`alembic check`), and downgrade works."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from shared.core.settings import to_psycopg_url
from tests.party_rows import ROWS, bodies
from tests.services import fresh_database

pytestmark = pytest.mark.postgres
ALEMBIC_INI = Path(__file__).resolve().parents[3] / "migrations" / "alembic.ini"


def alembic(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DATABASE_URL=database_url)
    return subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(ALEMBIC_INI), *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_upgrade_head_then_check_finds_no_drift_and_downgrade_round_trips() -> None:
    with fresh_database("handover_test_migrations", migrate=False) as url:
        up = alembic(url, "upgrade", "head")
        assert up.returncode == 0, up.stderr
        check = alembic(url, "check")
        assert check.returncode == 0, check.stdout + check.stderr
        assert "No new upgrade operations detected" in check.stdout + check.stderr
        down = alembic(url, "downgrade", "base")
        assert down.returncode == 0, down.stderr
        again = alembic(url, "upgrade", "head")
        assert again.returncode == 0, again.stderr


BEFORE_ROLLUPS = "4338b68d283f"
COUNTS = ("admissions_with_care_manager", "admission_info_provided", "admission_info_on_time",
          "eligible_discharges", "coordinated_discharges", "missed_discharges",
          "coordination_on_time")  # fmt: skip


def _daily_rows() -> list[dict[str, Any]]:
    """Daily aggregates as a live database holds them before the rollups exist."""
    rows = []
    for n, (day, side, hospital, lead) in enumerate([
        (date(2024, 6, 3), "admission", "H1", -1),
        (date(2024, 6, 3), "discharge", "H1", 7),
        (date(2024, 6, 28), "discharge", "H1", 7),   # same month and lead: summed
        (date(2024, 6, 28), "discharge", "H1", -1),  # not coordinated: no lead row
        (date(2024, 7, 1), "discharge", "H1", 3),    # next month
        (date(2024, 6, 10), "discharge", "H2", 0),   # another hospital
    ]):  # fmt: skip
        row: dict[str, Any] = {
            "day": day, "side": side, "hospital_id": hospital, "care_office_id": f"C{n}",
            "insurer_number": "462010", "medical_area": "kagoshima", "region": "r1",
            "ward_type": "general", "care_level_band": "care", "lead_days": lead, "episodes": 1,
        }  # fmt: skip
        row.update({c: n + i for i, c in enumerate(COUNTS)})
        if lead < 0 and side == "discharge":
            row["coordinated_discharges"] = 0
        rows.append(row)
    return rows


def test_the_rollup_migration_backfills_them_from_existing_daily_aggregates() -> None:
    rows = _daily_rows()
    with fresh_database("handover_test_backfill", migrate=False) as url:
        assert alembic(url, "upgrade", BEFORE_ROLLUPS).returncode == 0
        with psycopg.connect(to_psycopg_url(url)) as conn:
            columns = list(rows[0])
            conn.cursor().executemany(
                f"INSERT INTO daily_aggregates ({', '.join(columns)})"
                f" VALUES ({', '.join(['%s'] * len(columns))})",
                [tuple(r[c] for c in columns) for r in rows],
            )
        up = alembic(url, "upgrade", "head")
        assert up.returncode == 0, up.stderr
        with psycopg.connect(to_psycopg_url(url)) as conn:
            counts = conn.execute(
                f"SELECT month, side, hospital_id, {', '.join(COUNTS)}, episodes"
                " FROM monthly_counts ORDER BY 1, 2, 3"
            ).fetchall()
            leads = conn.execute(
                "SELECT month, hospital_id, lead_days, coordinated FROM monthly_leads"
                " ORDER BY 1, 2, 3"
            ).fetchall()
    expected_counts: dict[tuple[Any, ...], list[int]] = {}
    expected_leads: dict[tuple[Any, ...], int] = {}
    for r in rows:
        month = r["day"].replace(day=1)
        total = expected_counts.setdefault((month, r["side"], r["hospital_id"]), [0] * 8)
        for i, c in enumerate((*COUNTS, "episodes")):
            total[i] += r[c]
        if r["side"] == "discharge" and r["lead_days"] >= 0:
            key = (month, r["hospital_id"], r["lead_days"])
            expected_leads[key] = expected_leads.get(key, 0) + r["coordinated_discharges"]
    assert counts == [(*k, *v) for k, v in sorted(expected_counts.items())]
    assert leads == [(*k, v) for k, v in sorted(expected_leads.items()) if v > 0]
    assert len(leads) == 3  # June H1 lead 7 (two days summed), June H2, July H1; never lead -1


BEFORE_PARTIES = "5e1d0c7b9a24"
PARTY_IDS = {"H": "H1", "C1": "C1", "C2": "C2", "C3": "C3", "SC": "S1", "admin": "admin"}


def test_the_parties_migration_recomputes_them_as_the_rule_engine_does() -> None:
    episodes = {uuid.uuid4(): row for row in ROWS}
    with fresh_database("handover_test_parties", migrate=False) as url:
        assert alembic(url, "upgrade", BEFORE_PARTIES).returncode == 0
        with psycopg.connect(to_psycopg_url(url)) as conn:
            for episode_id, row in episodes.items():
                steps, _ = ROWS[row]
                conn.execute(
                    "INSERT INTO episodes (id, hospital_id, encounter_ref, party_org_ids, state,"
                    " version, computed_version, has_admission)"
                    " VALUES (%s, 'H1', %s, %s, '{}', 1, 1, false)",
                    (episode_id, row[:64], sorted({"H1", *PARTY_IDS.values()} - {"admin"})),
                )
                for step, body in zip(steps, bodies(steps, PARTY_IDS, row[:64]), strict=True):
                    conn.execute(
                        "INSERT INTO events (event_id, episode_id, type, occurred_at, hospital_id,"
                        " poster_org_id, cancels_event_id, body)"
                        " VALUES (%s, %s, %s, %s, 'H1', %s, %s, %s)",
                        (body["event_id"], episode_id, body["type"], body["occurred_at"],
                         PARTY_IDS[step.by], body.get("cancels_event_id"), Jsonb(body)),
                    )  # fmt: skip
        up = alembic(url, "upgrade", "head")
        assert up.returncode == 0, up.stderr
        with psycopg.connect(to_psycopg_url(url)) as conn:
            query = "SELECT id, party_org_ids, dirty_since IS NOT NULL FROM episodes"
            stored = {i: (parties, dirty) for i, parties, dirty in conn.execute(query)}
    for episode_id, row in episodes.items():
        _, readers = ROWS[row]
        parties, dirty = stored[episode_id]
        assert parties == sorted(PARTY_IDS[o] for o in readers), row
        assert dirty, row  # the worker refolds it: the fold's answer is the one that stays
