"""GET /v1/metrics and /v1/metrics/series over daily_aggregates rows written straight to the table.

(The monthly rollups of those rows are then summed from them, as the worker would keep them.)

Each test owns a fresh region (``api``) and inserts its own aggregate rows, so expected numbers
are computed by hand here, independently of the worker that normally writes them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from shared.models.aggregates import KEY_COLUMNS
from shared.rules.metrics import COUNT_FIELDS
from shared.rules.zone import TOKYO
from tests.factories import ADMIN_TOKEN, Api
from tests.integration.metrics.test_metric_rollups import sync_rollups
from tests.integration.metrics.test_query_plans import captured

pytestmark = pytest.mark.postgres

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
COUNTS = COUNT_FIELDS


def insert_aggregates(database_url: str, region: str, rows: list[dict[str, Any]]) -> None:
    """Write daily_aggregates rows (and their rollups) as the worker would.

    Unset keys are '' ("none"), counts 0.
    """
    columns = (*KEY_COLUMNS, "episodes", *COUNT_FIELDS)
    defaults: dict[str, Any] = {
        "care_office_id": "",
        "insurer_number": "",
        "medical_area": "kagoshima",
        "region": region,
        "ward_type": "general",
        "care_level_band": "care",
        "lead_days": -1,
        "episodes": 1,
        **dict.fromkeys(COUNTS, 0),
    }
    values = [tuple({**defaults, **row}[c] for c in columns) for row in rows]
    sql = (
        f"INSERT INTO daily_aggregates ({', '.join(columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    with psycopg.connect(database_url) as conn:
        conn.cursor().executemany(sql, values)
    sync_rollups(database_url, {region, *(str(row["region"]) for row in rows if "region" in row)})


def insert_episode(database_url: str, hospital: str, parties: list[str], *, dirty: bool) -> None:
    """An episode row carrying only what the stale count reads."""
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO episodes (id, hospital_id, encounter_ref, party_org_ids, state, version,"
            " computed_version, dirty_since, has_admission)"
            " VALUES (%s, %s, %s, %s, '{}', 1, 0, CASE WHEN %s THEN now() END, true)",
            (uuid.uuid4(), hospital, uuid.uuid4().hex[:12], parties, dirty),
        )


@dataclass
class June:
    """A region with two hospitals and two care offices, and June 2024 data for them."""

    api: Api
    h1: str
    h2: str
    c1: str
    c2: str
    viewer: dict[str, str]
    h1_key: dict[str, str]
    c1_key: dict[str, str]
    c2_key: dict[str, str]

    async def get(self, headers: dict[str, str], path: str = "/v1/metrics", **q: Any) -> Any:
        r = await self.api.client.get(path, params=q, headers=headers)
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture
async def june(api: Api, database_url: str) -> June:
    h1, h2 = await api.org("hospital"), await api.org("hospital", medical_area="aira")
    c1, c2 = await api.org("care_office"), await api.org("support_center")
    viewer_org = await api.org("municipality")
    adm, dis = "admission", "discharge"
    h1_dis = {"side": dis, "hospital_id": h1, "care_office_id": c1, "insurer_number": "462010"}
    h2_dis = {"side": dis, "hospital_id": h2, "insurer_number": "462011", "medical_area": "aira"}
    insert_aggregates(
        database_url,
        api.region,
        [
            # Admission side: 19 with a care manager in June, 16 provided, 13 on time.
            {"day": "2024-06-03", "side": adm, "hospital_id": h1, "care_office_id": c1,
             "insurer_number": "462010", "admissions_with_care_manager": 10,
             "admission_info_provided": 9, "admission_info_on_time": 8},
            {"day": "2024-06-20", "side": adm, "hospital_id": h1, "care_office_id": c2,
             "insurer_number": "462011", "ward_type": "recovery_rehab",
             "care_level_band": "support", "admissions_with_care_manager": 5,
             "admission_info_provided": 3, "admission_info_on_time": 1},
            {"day": "2024-06-30", "side": adm, "hospital_id": h2, "insurer_number": "462010",
             "medical_area": "aira", "care_level_band": "other",
             "admissions_with_care_manager": 4, "admission_info_provided": 4,
             "admission_info_on_time": 4},
            # Just outside June on both ends.
            {"day": "2024-05-31", "side": adm, "hospital_id": h1, "care_office_id": c1,
             "admissions_with_care_manager": 50, "admission_info_provided": 50},
            {"day": "2024-07-01", "side": adm, "hospital_id": h1, "care_office_id": c1,
             "admissions_with_care_manager": 100},
            # Discharge side: 8 eligible, 4 coordinated (leads 2, 2, 7, 5), 4 missed, 2 on time.
            {**h1_dis, "day": "2024-06-10", "eligible_discharges": 3, "missed_discharges": 3},
            {**h1_dis, "day": "2024-06-10", "lead_days": 2, "eligible_discharges": 2,
             "coordinated_discharges": 2},
            {**h1_dis, "day": "2024-06-12", "lead_days": 7, "eligible_discharges": 1,
             "coordinated_discharges": 1, "coordination_on_time": 1},
            {**h2_dis, "day": "2024-06-15", "care_office_id": c2, "lead_days": 5,
             "eligible_discharges": 1, "coordinated_discharges": 1, "coordination_on_time": 1,
             "care_level_band": "other"},
            {**h2_dis, "day": "2024-06-15", "eligible_discharges": 1, "missed_discharges": 1,
             "care_level_band": "other"},
            {**h1_dis, "day": "2024-07-02", "eligible_discharges": 1, "missed_discharges": 1},
        ],
    )  # fmt: skip
    return June(
        api=api,
        h1=h1,
        h2=h2,
        c1=c1,
        c2=c2,
        viewer=await api.key(viewer_org, "viewer"),
        h1_key=await api.key(h1, "hospital"),
        c1_key=await api.key(c1, "care_office"),
        c2_key=await api.key(c2, "support_center"),
    )


def figures(
    admission: tuple[int, int, int], discharge: tuple[int, int, int, int], median: float | None
) -> dict[str, Any]:
    """Expected fields from hand-counted numbers; rates are exact quotients, null over 0."""
    with_cm, provided, on_time = admission
    eligible, coordinated, missed, coord_on_time = discharge
    return {
        "admissions_with_care_manager": with_cm,
        "admission_info_provided": provided,
        "admission_info_on_time": on_time,
        "admission_handover_rate": provided / with_cm if with_cm else None,
        "admission_handover_on_time_rate": on_time / with_cm if with_cm else None,
        "eligible_discharges": eligible,
        "coordinated_discharges": coordinated,
        "missed_discharges": missed,
        "coordination_on_time": coord_on_time,
        "discharge_miss_rate": missed / eligible if eligible else None,
        "discharge_coordination_rate": coordinated / eligible if eligible else None,
        "coordination_on_time_rate": coord_on_time / eligible if eligible else None,
        "median_coordination_lead_days": median,
    }


JUNE_TOTAL = figures((19, 16, 13), (8, 4, 4, 2), 3.5)
H1_JUNE = figures((15, 12, 9), (6, 3, 3, 1), 2.0)
H2_JUNE = figures((4, 4, 4), (2, 1, 1, 1), 5.0)


async def test_month_totals_count_each_side_on_its_own_date_with_exact_rates(june: June) -> None:
    body = await june.get(june.viewer, month="2024-06")
    assert body["from"] == "2024-06-01"
    assert body["to"] == "2024-06-30"
    assert body["total"] == JUNE_TOTAL
    assert body["total"]["admission_handover_rate"] == 16 / 19  # not rounded to decimals
    assert body["total"]["median_coordination_lead_days"] == 3.5  # mean of the middle two
    assert body["groups"] == []
    assert body["stale_episodes"] == 0


async def test_from_to_and_rolling_window_give_the_same_june(june: June) -> None:
    ranged = await june.get(june.viewer, **{"from": "2024-06-01", "to": "2024-06-30"})
    rolling = await june.get(june.viewer, window="30d", as_of="2024-06-30")
    assert ranged["total"] == rolling["total"] == JUNE_TOTAL
    assert (rolling["from"], rolling["to"]) == ("2024-06-01", "2024-06-30")
    wider = await june.get(june.viewer, window="90d", as_of="2024-07-02")
    assert wider["from"] == "2024-04-04"
    assert wider["total"]["admissions_with_care_manager"] == 19 + 50 + 100
    assert wider["total"]["eligible_discharges"] == 9


async def test_rolling_window_defaults_to_today_in_tokyo(june: June) -> None:
    body = await june.get(june.viewer, window="365d")
    today = datetime.now(TOKYO).date()
    assert body["to"] == today.isoformat()
    assert body["from"] == (today - timedelta(days=364)).isoformat()


async def test_fiscal_year_runs_from_april_first_to_march_thirty_first(
    api: Api, database_url: str
) -> None:
    h = await api.org("hospital")
    insert_aggregates(
        database_url,
        api.region,
        [
            {"day": day, "side": "admission", "hospital_id": h,
             "admissions_with_care_manager": n}
            for day, n in (("2024-03-31", 1), ("2024-04-01", 2), ("2025-03-31", 4),
                           ("2025-04-01", 8))
        ],
    )  # fmt: skip
    key = await api.key(await api.org("municipality"), "viewer")
    fy2023 = (await api.client.get("/v1/metrics?fiscal_year=2023", headers=key)).json()
    fy2024 = (await api.client.get("/v1/metrics?fiscal_year=2024", headers=key)).json()
    assert (fy2023["from"], fy2023["to"]) == ("2023-04-01", "2024-03-31")
    assert fy2023["total"]["admissions_with_care_manager"] == 1
    assert (fy2024["from"], fy2024["to"]) == ("2024-04-01", "2025-03-31")
    assert fy2024["total"]["admissions_with_care_manager"] == 2 + 4


async def test_group_by_hospital_gives_one_group_per_hospital(june: June) -> None:
    body = await june.get(june.viewer, month="2024-06", group_by="hospital")
    assert body["total"] == JUNE_TOTAL
    expected = sorted([(june.h1, H1_JUNE), (june.h2, H2_JUNE)])
    assert body["groups"] == [
        {"key": {"hospital_id": h}, "hospital_name": f"hospital {h}", **f} for h, f in expected
    ]


async def test_group_by_two_keys_uses_the_response_key_names(june: June) -> None:
    body = await june.get(june.viewer, month="2024-06", group_by="hospital,ward_type")
    groups = {(g["key"]["hospital_id"], g["key"]["ward_type"]): g for g in body["groups"]}
    assert set(groups) == {(june.h1, "general"), (june.h1, "recovery_rehab"), (june.h2, "general")}
    rehab = groups[(june.h1, "recovery_rehab")]
    assert rehab == {
        "key": {"hospital_id": june.h1, "ward_type": "recovery_rehab"},
        "hospital_name": f"hospital {june.h1}",
        **figures((5, 3, 1), (0, 0, 0, 0), None),
    }
    assert rehab["discharge_miss_rate"] is None  # no eligible discharge: null, not 0


async def test_group_by_municipality_and_band_names_insurer_number(june: June) -> None:
    body = await june.get(june.viewer, month="2024-06", group_by="municipality,care_level_band")
    keys = [g["key"] for g in body["groups"]]
    assert keys == [
        {"insurer_number": "462010", "care_level_band": "care"},
        {"insurer_number": "462010", "care_level_band": "other"},
        {"insurer_number": "462011", "care_level_band": "other"},
        {"insurer_number": "462011", "care_level_band": "support"},
    ]
    by_key = {
        (k["insurer_number"], k["care_level_band"]): g
        for k, g in zip(keys, body["groups"], strict=True)
    }
    assert by_key[("462010", "care")]["admissions_with_care_manager"] == 10
    assert by_key[("462010", "care")]["eligible_discharges"] == 6
    assert by_key[("462011", "other")]["eligible_discharges"] == 2


async def test_no_care_office_recorded_is_a_null_key(june: June) -> None:
    body = await june.get(june.viewer, month="2024-06", group_by="care_office")
    groups = {g["key"]["care_office_id"]: g for g in body["groups"]}
    assert set(groups) == {june.c1, june.c2, None}
    assert body["groups"][-1]["key"] == {"care_office_id": None}  # none sorts last
    assert groups[None]["admissions_with_care_manager"] == 4
    assert groups[None]["missed_discharges"] == 1
    assert groups[june.c2]["median_coordination_lead_days"] == 5.0
    names = [(g["key"]["care_office_id"], g["care_office_name"]) for g in body["groups"]]
    assert names == [
        *sorted([(june.c1, f"care_office {june.c1}"), (june.c2, f"support_center {june.c2}")]),
        (None, None),
    ]


async def test_group_by_medical_area(june: June) -> None:
    body = await june.get(june.viewer, month="2024-06", group_by="medical_area")
    assert all("hospital_name" not in g and "care_office_name" not in g for g in body["groups"])
    assert [g["key"] for g in body["groups"]] == [
        {"medical_area": "aira"},
        {"medical_area": "kagoshima"},
    ]
    assert body["groups"][0] == {"key": {"medical_area": "aira"}, **H2_JUNE}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"care_office_id": "c1"}, figures((10, 9, 8), (6, 3, 3, 1), 2.0)),
        ({"insurer_number": "462010"}, figures((14, 13, 12), (6, 3, 3, 1), 2.0)),
        ({"medical_area": "aira"}, H2_JUNE),
        ({"hospital_id": "h1", "care_office_id": "c2"}, figures((5, 3, 1), (0, 0, 0, 0), None)),
    ],
)
async def test_filters_narrow_the_window(
    june: June, query: dict[str, str], expected: dict[str, Any]
) -> None:
    ids = {"c1": june.c1, "c2": june.c2, "h1": june.h1}
    params = {k: ids.get(v, v) for k, v in query.items()}
    body = await june.get(june.viewer, month="2024-06", **params)
    assert body["total"] == expected


async def test_region_filter_lets_an_admin_see_one_region(june: June) -> None:
    body = await june.get(ADMIN, month="2024-06", region=june.api.region)
    assert body["total"] == JUNE_TOTAL


async def test_hospital_key_sees_only_its_own_rows(june: June) -> None:
    body = await june.get(june.h1_key, month="2024-06", group_by="hospital")
    assert body["total"] == H1_JUNE
    assert body["groups"] == [
        {"key": {"hospital_id": june.h1}, "hospital_name": f"hospital {june.h1}", **H1_JUNE}
    ]
    other = await june.get(june.h1_key, month="2024-06", hospital_id=june.h2)
    assert other["total"] == figures((0, 0, 0), (0, 0, 0, 0), None)  # filters never widen


async def test_care_office_keys_see_only_rows_where_they_are_the_office(june: June) -> None:
    c1 = await june.get(june.c1_key, month="2024-06")
    assert c1["total"] == figures((10, 9, 8), (6, 3, 3, 1), 2.0)
    c2 = await june.get(june.c2_key, month="2024-06", group_by="hospital")
    assert c2["total"] == figures((5, 3, 1), (1, 1, 0, 1), 5.0)
    assert {g["key"]["hospital_id"] for g in c2["groups"]} == {june.h1, june.h2}


async def test_viewer_sees_only_its_own_region(june: June, database_url: str) -> None:
    other = Api(june.api.client)
    h = await other.org("hospital")
    insert_aggregates(
        database_url,
        other.region,
        [{"day": "2024-06-05", "side": "admission", "hospital_id": h,
          "admissions_with_care_manager": 1000}],
    )  # fmt: skip
    mine = await june.get(june.viewer, month="2024-06")
    assert mine["total"] == JUNE_TOTAL
    assert await june.get(june.viewer, month="2024-06", region=june.api.region) == mine
    other_viewer = await other.key(await other.org("municipality"), "viewer")
    assert (await june.get(other_viewer, month="2024-06"))["total"][
        "admissions_with_care_manager"
    ] == 1000


async def test_a_viewer_asking_for_another_region_is_refused_like_the_survey(june: June) -> None:
    other = Api(june.api.client)
    await other.org("hospital")
    answers = []
    for path, extra in (
        ("/v1/metrics", {}),
        ("/v1/metrics/series", {"metric": "discharge_miss_rate"}),
        ("/v1/reports/survey", {}),
    ):
        r = await june.api.client.get(
            path,
            params={"month": "2024-06", "region": other.region, **extra},
            headers=june.viewer,
        )
        assert r.headers["content-type"] == "application/problem+json"
        answers.append((r.status_code, r.json()["detail"]))
    assert answers == [(403, "A viewer key may see only its own region's figures.")] * 3


async def test_empty_window_has_zero_counts_and_null_rates(june: June) -> None:
    body = await june.get(june.viewer, month="2024-08")
    assert body["total"] == figures((0, 0, 0), (0, 0, 0, 0), None)


async def test_admission_only_day_has_null_discharge_rates(june: June) -> None:
    body = await june.get(june.viewer, **{"from": "2024-06-03", "to": "2024-06-03"})
    assert body["total"] == figures((10, 9, 8), (0, 0, 0, 0), None)
    assert body["total"]["admission_handover_rate"] == 0.9


async def test_stale_episodes_count_what_each_key_may_see(june: June, database_url: str) -> None:
    insert_episode(database_url, june.h1, [june.h1, june.c1], dirty=True)
    insert_episode(database_url, june.h1, [june.h1, june.c1], dirty=False)
    insert_episode(database_url, june.h2, [june.h2], dirty=True)
    assert (await june.get(june.viewer, month="2024-06"))["stale_episodes"] == 2
    assert (await june.get(june.h1_key, month="2024-06"))["stale_episodes"] == 1
    assert (await june.get(june.c1_key, month="2024-06"))["stale_episodes"] == 1
    assert (await june.get(june.c2_key, month="2024-06"))["stale_episodes"] == 0
    assert (await june.get(ADMIN, month="2024-06"))["stale_episodes"] >= 2


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("", "from"),
        ("from=2024-06-01", "to"),
        ("from=2024-06-30&to=2024-06-01", "to"),
        ("month=2024-06&fiscal_year=2024", "fiscal_year"),
        ("month=2024-06&as_of=2024-06-30", "as_of"),
        ("window=7d", "window"),
        ("month=2024-13", "month"),
        ("from=2024-06-01&to=20240630", "to"),
        ("from=2010-01-01&to=2024-06-30", "to"),
        ("month=2024-06&group_by=hospital,patient", "group_by"),
        ("month=2024-06&insurer_number=46201", "insurer_number"),
        ("month=2024-06&hospital_id=bad%20id", "hospital_id"),
    ],
)
async def test_bad_query_is_a_422_problem_naming_the_parameter(
    june: June, query: str, param: str
) -> None:
    r = await june.api.client.get(f"/v1/metrics?{query}", headers=june.viewer)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert ["query", param] in [e["loc"] for e in body["errors"]]
    assert all(e["msg"] for e in body["errors"])


async def test_metrics_need_a_key(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/metrics?month=2024-06")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"


async def test_month_series_lists_every_month_with_numerator_and_denominator(june: June) -> None:
    body = await june.get(
        june.viewer,
        "/v1/metrics/series",
        metric="discharge_miss_rate",
        granularity="month",
        **{"from": "2024-05-01", "to": "2024-07-31"},
    )
    assert body["points"] == [
        {"period": "2024-05", "value": None, "numerator": 0, "denominator": 0},
        {"period": "2024-06", "value": 0.5, "numerator": 4, "denominator": 8},
        {"period": "2024-07", "value": 1.0, "numerator": 1, "denominator": 1},
    ]


async def test_week_series_uses_iso_weeks_clipped_to_the_window(june: June) -> None:
    body = await june.get(
        june.viewer,
        "/v1/metrics/series",
        metric="admissions_with_care_manager",
        granularity="week",
        month="2024-06",
    )
    # June 1 2024 is a Saturday: week 22 holds only June 1-2, so May 31 (50) is not counted.
    assert [
        (p["period"], p["value"], p["numerator"], p["denominator"]) for p in body["points"]
    ] == [
        ("2024-W22", 0, 0, None),
        ("2024-W23", 10, 10, None),
        ("2024-W24", 0, 0, None),
        ("2024-W25", 5, 5, None),
        ("2024-W26", 4, 4, None),
    ]


async def test_day_series_of_the_median_lead(june: June) -> None:
    body = await june.get(
        june.viewer,
        "/v1/metrics/series",
        metric="median_coordination_lead_days",
        granularity="day",
        **{"from": "2024-06-10", "to": "2024-06-12"},
    )
    assert [(p["period"], p["value"]) for p in body["points"]] == [
        ("2024-06-10", 2.0),
        ("2024-06-11", None),
        ("2024-06-12", 7.0),
    ]


async def test_grouped_series_gives_each_key_its_own_run(june: June) -> None:
    body = await june.get(
        june.viewer,
        "/v1/metrics/series",
        metric="eligible_discharges",
        month="2024-06",
        group_by="hospital",
    )
    expected = sorted([(june.h1, 6), (june.h2, 2)])
    assert body["points"] == [
        {"period": "2024-06", "value": n, "numerator": n, "denominator": None,
         "key": {"hospital_id": h}, "hospital_name": f"hospital {h}"}
        for h, n in expected
    ]  # fmt: skip


async def test_series_is_scoped_like_metrics(june: June) -> None:
    body = await june.get(
        june.c1_key, "/v1/metrics/series", metric="admission_handover_rate", month="2024-06"
    )
    assert body["points"] == [
        {"period": "2024-06", "value": 0.9, "numerator": 9, "denominator": 10}
    ]


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("metric=patients&month=2024-06", "metric"),
        ("metric=discharge_miss_rate&granularity=year&month=2024-06", "granularity"),
        ("month=2024-06", "metric"),
        ("metric=discharge_miss_rate", "from"),
    ],
)
async def test_bad_series_query_is_a_422_problem(june: June, query: str, param: str) -> None:
    r = await june.api.client.get(f"/v1/metrics/series?{query}", headers=june.viewer)
    assert r.status_code == 422, r.text
    assert ["query", param] in [e["loc"] for e in r.json()["errors"]]


async def test_group_names_come_from_one_lookup_per_response(june: June) -> None:
    with captured(june.api.client) as seen:
        body = await june.get(june.viewer, month="2024-06", group_by="hospital,care_office")
    lookups = [s for s, _ in seen if "organizations.name" in s]
    assert len(lookups) == 1, lookups
    assert {(g["key"]["hospital_id"], g["hospital_name"]) for g in body["groups"]} == {
        (june.h1, f"hospital {june.h1}"),
        (june.h2, f"hospital {june.h2}"),
    }
