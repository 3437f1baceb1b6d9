"""Benchmark data: organizations and keys, realistic event sequences, and a bulk SQL generator."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from tests.bench.bench_harness import HttpConnection

REGION = "bench"
MEDICAL_AREAS = ("kagoshima", "nansatsu", "hokusatsu", "osumi", "kumage")


def hospital_id(i: int) -> str:
    return f"BH{i:04d}"


def office_id(i: int) -> str:
    return f"BC{i:05d}"


def insurer(i: int) -> str:
    return f"4620{i % 30:02d}"


def create_organizations(url: str, hospitals: int, offices: int) -> None:
    """Hospitals and care offices of one region, inserted directly (setup, not measured)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO organizations (id, kind, name, medical_area, region)"
            " SELECT 'BH' || lpad(i::text, 4, '0'), 'hospital', 'Bench hospital ' || i,"
            "        (%s::text[])[1 + i %% 5], %s FROM generate_series(0, %s - 1) i"
            " ON CONFLICT DO NOTHING",
            (list(MEDICAL_AREAS), REGION, hospitals),
        )
        conn.execute(
            "INSERT INTO organizations (id, kind, name, region)"
            " SELECT 'BC' || lpad(i::text, 5, '0'), 'care_office', 'Bench office ' || i, %s"
            " FROM generate_series(0, %s - 1) i ON CONFLICT DO NOTHING",
            (REGION, offices),
        )


async def create_key(conn: HttpConnection, org_id: str, role: str) -> str:
    created = await conn.json("POST", "/v1/api-keys", {"organization_id": org_id, "role": role})
    return str(created["key"])


def _at(t: datetime) -> str:
    return t.astimezone(UTC).isoformat()


@dataclass(frozen=True)
class Step:
    """One event of a stay and which party posts it."""

    poster: str  # "hospital" or "care_office"
    body: dict[str, Any]

    def encoded(self) -> bytes:
        return json.dumps(self.body).encode()


def stay(hospital: str, office: str, ref: str, n: int, now: datetime) -> list[Step]:
    """A whole stay: admission, 入院時情報提供, 退院調整 and discharge, in the past."""
    admitted = now - timedelta(days=30, minutes=n % 600)

    def body(type_: str, at: datetime, **fields: Any) -> dict[str, Any]:
        return {
            "event_id": str(uuid.uuid4()),
            "type": type_,
            "occurred_at": _at(at),
            "hospital_id": hospital,
            "encounter_ref": ref,
            **fields,
        }

    patient = {"insurer_number": insurer(n), "insured_number": f"{n % 10**10:010d}"}
    return [
        Step(
            "hospital",
            body(
                "admission",
                admitted,
                patient=patient,
                care_level="care_2",
                ward_type="general",
                care_office_id=office,
            ),
        ),
        Step(
            "care_office",
            body(
                "admission_info", admitted + timedelta(days=1), care_office_id=office, channel="ict"
            ),
        ),
        Step(
            "hospital",
            body(
                "discharge_coordination",
                admitted + timedelta(days=10),
                to_org_id=office,
                channel="phone",
                planned_discharge_date=(admitted + timedelta(days=20)).date().isoformat(),
            ),
        ),
        Step("hospital", body("discharge", admitted + timedelta(days=20), destination="home")),
    ]


def hospital_batch(hospital: str, prefix: str, size: int, now: datetime) -> list[dict[str, Any]]:
    """``size`` hospital-posted events: stays of admission, plan, 退院調整 and discharge."""
    events: list[dict[str, Any]] = []
    n = 0
    while len(events) < size:
        office = office_id(n % 97)
        steps = stay(hospital, office, f"{prefix}-{n}", n, now)
        plan = dict(steps[0].body, event_id=str(uuid.uuid4()), type="discharge_planned")
        for key in ("patient", "care_level", "ward_type", "care_office_id"):
            plan.pop(key)
        plan["planned_discharge_date"] = (now - timedelta(days=10)).date().isoformat()
        plan["occurred_at"] = _at(now - timedelta(days=25))
        events.extend([steps[0].body, plan, steps[2].body, steps[3].body])
        n += 1
    return events[:size]


def episode_rows(events: list[dict[str, Any]]) -> Iterator[tuple[Any, ...]]:
    """What a raw loader would write per stay (for the COPY baseline)."""
    seen: dict[tuple[str, str], uuid.UUID] = {}
    for e in events:
        key = (e["hospital_id"], e["encounter_ref"])
        if key not in seen:
            seen[key] = uuid.uuid4()
            yield seen[key], e["hospital_id"], e["encounter_ref"]


# The bulk generator: one INSERT ... SELECT per chunk of stays. Every stay has an admission
# (70 % name a care office); 85 % of those get 入院時情報提供 (10 % of them late); 90 % of
# stays are discharged (a plan and, for 85 %, a 退院調整 before it); 10 % are still open.
# Episode columns are written consistent with the events; aggregates come from
# shared.episodes.rebuild.rebuild_aggregates afterwards (the real fold, not SQL).
GENERATE = """
CREATE TEMP TABLE gen ON COMMIT DROP AS
SELECT n,
       md5('ep' || n)::uuid AS id,
       'BH' || lpad((n %% %(hospitals)s::int)::text, 4, '0') AS hospital,
       'E' || n AS ref,
       CASE WHEN random() < 0.7
            THEN 'BC' || lpad(floor(random() * %(offices)s::int)::int::text, 5, '0') END AS office,
       '4620' || lpad((n %% 30)::text, 2, '0') AS insurer,
       date_trunc('second', CASE
            WHEN open THEN %(now)s::timestamptz - random() * interval '25 days'
            ELSE %(now)s::timestamptz - interval '45 days' - random() * interval '700 days'
       END) AS admitted,
       open,
       random() AS r1, random() AS r2, random() AS r3,
       (ARRAY['care_1','care_2','care_3','support_1','none','applying'])[1 + n %% 6] AS care_level,
       (ARRAY['general','recovery_rehab','community_care'])[1 + n %% 3] AS ward
FROM (SELECT n, random() < 0.1 AS open FROM generate_series(%(first)s::int, %(last)s::int) n) s;

CREATE TEMP TABLE gen2 ON COMMIT DROP AS
SELECT g.*,
       CASE WHEN office IS NOT NULL AND r1 < 0.85
            THEN admitted + CASE WHEN r1 < 0.085 THEN interval '15 days' ELSE interval '1 day' END
       END AS info_at,
       date_trunc('second', admitted + interval '5 days' + r2 * interval '35 days')
           AS discharge_at,
       r3 < 0.85 AS coordinated
FROM gen g;

INSERT INTO episodes (id, hospital_id, encounter_ref, party_org_ids, care_office_id,
    admitted_at, discharged_at, planned_discharge_date, admission_info_deadline,
    admission_info_at, first_coordination_at, state, version, computed_version,
    has_admission)
SELECT id, hospital, ref, array_remove(ARRAY[hospital, office], NULL), office,
       admitted, CASE WHEN NOT open THEN discharge_at END,
       (discharge_at AT TIME ZONE 'Asia/Tokyo')::date,
       (admitted AT TIME ZONE 'Asia/Tokyo')::date + 7,
       CASE WHEN info_at < %(now)s::timestamptz THEN info_at END,
       CASE WHEN coordinated AND discharge_at - interval '3 days' < %(now)s::timestamptz
            THEN discharge_at - interval '3 days' END,
       jsonb_build_object(
           'hospital_id', hospital, 'encounter_ref', ref,
           'patient', jsonb_build_object('insurer_number', insurer,
                                         'insured_number', lpad(n::text, 10, '0')),
           'care_level', care_level,
           'rule_set', jsonb_build_object('discharge_notice_lead_days', 7),
           'admitted_at', admitted,
           'discharged_at', CASE WHEN NOT open THEN discharge_at END,
           'discharge_date',
               CASE WHEN NOT open THEN (discharge_at AT TIME ZONE 'Asia/Tokyo')::date END,
           'care_office_id', office, 'care_office_at_discharge', office,
           'has_care_manager_at_admission', office IS NOT NULL,
           'has_care_manager', office IS NOT NULL,
           'care_office_known', office IS NOT NULL
               OR (coordinated AND discharge_at - interval '3 days' < %(now)s::timestamptz),
           'admission_info_at', CASE WHEN info_at < %(now)s::timestamptz THEN info_at END,
           'admission_info_deadline', (admitted AT TIME ZONE 'Asia/Tokyo')::date + 7,
           'planned_discharge_date', (discharge_at AT TIME ZONE 'Asia/Tokyo')::date,
           'first_coordination_at', CASE WHEN coordinated
               AND discharge_at - interval '3 days' < %(now)s::timestamptz
               THEN discharge_at - interval '3 days' END,
           'scope_excluded', false),
       1, 1, true
FROM gen2;

INSERT INTO events (event_id, episode_id, type, occurred_at, hospital_id, poster_org_id, body)
SELECT md5('ev' || n || e.kind)::uuid, id, e.kind, e.at, hospital, e.poster,
       jsonb_strip_nulls(jsonb_build_object(
           'event_id', md5('ev' || n || e.kind)::uuid, 'type', e.kind,
           'occurred_at', to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'),
           'hospital_id', hospital, 'encounter_ref', ref) || e.fields)
FROM gen2
CROSS JOIN LATERAL (VALUES
    ('admission', admitted, hospital, jsonb_build_object(
        'patient', jsonb_build_object('insurer_number', insurer,
                                      'insured_number', lpad(n::text, 10, '0')),
        'care_level', care_level, 'ward_type', ward, 'care_office_id', office)),
    ('admission_info', info_at, office, jsonb_build_object(
        'care_office_id', office, 'channel', 'fax')),
    ('discharge_planned', admitted + interval '1 minute', hospital, jsonb_build_object(
        'planned_discharge_date', (discharge_at AT TIME ZONE 'Asia/Tokyo')::date)),
    ('discharge_coordination', CASE WHEN coordinated AND office IS NOT NULL
        THEN discharge_at - interval '3 days' END, hospital, jsonb_build_object(
        'to_org_id', office, 'channel', 'phone')),
    ('no_cm_referral', CASE WHEN coordinated AND office IS NULL
        THEN discharge_at - interval '3 days' END, hospital, jsonb_build_object(
        'to_org_id', 'BC00000')),
    ('discharge', CASE WHEN NOT open THEN discharge_at END, hospital, jsonb_build_object(
        'destination', CASE WHEN r2 < 0.1 THEN 'other_hospital' ELSE 'home' END))
) AS e(kind, at, poster, fields)
WHERE e.at IS NOT NULL AND e.at < %(now)s::timestamptz
"""


def generate(url: str, first: int, last: int, now: datetime, hospitals: int, offices: int) -> None:
    """Stays ``first``..``last`` (inclusive) with their events, in one transaction."""
    with psycopg.connect(url) as conn:
        conn.execute("SET LOCAL synchronous_commit = off")
        params = {"first": first, "last": last, "now": now, "hospitals": hospitals}
        params["offices"] = offices
        for statement in GENERATE.split(";\n\n"):
            conn.execute(statement, params)
