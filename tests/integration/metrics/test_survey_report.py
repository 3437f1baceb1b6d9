"""GET /v1/reports/survey: the monthly survey table as JSON, CSV (BOM) and XLSX, per role."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

import openpyxl  # type: ignore[import-untyped]
import pytest

from tests.factories import ADMIN_TOKEN, Api, admin_headers, unique
from tests.integration.metrics.test_metrics_api import insert_aggregates, insert_episode

pytestmark = pytest.mark.postgres

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
HEADER = [
    "医療機関コード",
    "医療機関名",
    "入院時ケアマネあり",
    "入院時情報提供あり",
    "入院引継ぎ割合(%)",
    "期限内提供",
    "退院(対象)",
    "退院調整あり",
    "退院調整漏れ",
    "退院調整漏れ割合(%)",
]
FORMULA_NAME = '=HYPERLINK("http://evil.example","click")'


@dataclass
class Survey:
    """A region of three hospitals: one ordinary, one with a formula for a name, one idle."""

    api: Api
    first: str
    formula: str
    idle: str
    viewer: dict[str, str]


async def _hospital(api: Api, name: str) -> str:
    org_id = unique("H")
    body = {"id": org_id, "kind": "hospital", "name": name, "region": api.region}
    r = await api.client.post("/v1/organizations", json=body, headers=admin_headers())
    assert r.status_code == 201, r.text
    return org_id


@pytest.fixture
async def survey(api: Api, database_url: str) -> Survey:
    first = await _hospital(api, "鹿児島第一病院")
    formula = await _hospital(api, FORMULA_NAME)
    idle = await _hospital(api, "@idle hospital")
    office = await api.org("care_office")  # not a hospital: never a survey row
    adm = {"side": "admission", "day": "2024-06-03"}
    dis = {"side": "discharge", "day": "2024-06-20"}
    insert_aggregates(
        database_url,
        api.region,
        [
            # 鹿児島第一病院: 95/100 handed over (95.0%), 40/800 missed (5.0%).
            {**adm, "hospital_id": first, "care_office_id": office,
             "admissions_with_care_manager": 100, "admission_info_provided": 95,
             "admission_info_on_time": 90},
            {**dis, "hospital_id": first, "eligible_discharges": 40, "missed_discharges": 40},
            {**dis, "hospital_id": first, "lead_days": 3, "eligible_discharges": 760,
             "coordinated_discharges": 760, "coordination_on_time": 700},
            # Formula-named hospital: 13/16 = 81.25% → 81.3 half-up; 1/82 = 1.219…% → 1.2.
            {**adm, "hospital_id": formula, "admissions_with_care_manager": 16,
             "admission_info_provided": 13, "admission_info_on_time": 10},
            {**dis, "hospital_id": formula, "eligible_discharges": 1, "missed_discharges": 1},
            {**dis, "hospital_id": formula, "lead_days": 8, "eligible_discharges": 81,
             "coordinated_discharges": 81, "coordination_on_time": 81},
            # Outside June: not in the survey.
            {**adm, "day": "2024-07-01", "hospital_id": first,
             "admissions_with_care_manager": 1000},
        ],
    )  # fmt: skip
    viewer = await api.key(await api.org("municipality"), "viewer")
    return Survey(api, first, formula, idle, viewer)


def _row(code: str | None, name: str, *figures: Any) -> list[Any]:
    return [code, name, *figures]


def expected_table(s: Survey) -> list[list[Any]]:
    """Header, hospitals by code, then 合計: 108/116 = 93.10…% and 41/882 = 4.648…%."""
    rows = {
        s.first: _row(s.first, "鹿児島第一病院", 100, 95, 95.0, 90, 800, 760, 40, 5.0),
        s.formula: _row(s.formula, "'" + FORMULA_NAME, 16, 13, 81.3, 10, 82, 81, 1, 1.2),
        s.idle: _row(s.idle, "'@idle hospital", 0, 0, None, 0, 0, 0, 0, None),
    }
    total = _row(None, "合計", 116, 108, 93.1, 100, 882, 841, 41, 4.6)
    return [HEADER, *(rows[k] for k in sorted(rows)), total]


async def test_json_survey_lists_every_hospital_of_the_region_with_a_total(
    survey: Survey, database_url: str
) -> None:
    insert_episode(database_url, survey.first, [survey.first], dirty=True)
    r = await survey.api.client.get("/v1/reports/survey?month=2024-06", headers=survey.viewer)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["month"], body["region"]) == ("2024-06", survey.api.region)
    assert body["stale_episodes"] == 1
    rows = {row["hospital_id"]: row for row in body["rows"]}
    assert [row["hospital_id"] for row in body["rows"]] == sorted(rows)
    assert set(rows) == {survey.first, survey.formula, survey.idle}
    first = rows[survey.first]
    assert first["hospital_name"] == "鹿児島第一病院"
    assert first["admission_handover_pct"] == 95.0
    assert first["discharge_miss_pct"] == 5.0
    assert first["discharge_miss_rate"] == 40 / 800
    assert first["median_coordination_lead_days"] == 3.0
    assert rows[survey.formula]["hospital_name"] == FORMULA_NAME  # JSON is data, not a sheet
    assert rows[survey.formula]["admission_handover_pct"] == 81.3
    idle = rows[survey.idle]
    assert idle["admissions_with_care_manager"] == idle["eligible_discharges"] == 0
    assert idle["admission_handover_pct"] is None
    assert idle["discharge_miss_rate"] is None
    total = body["total"]
    assert total["eligible_discharges"] == 882
    assert total["missed_discharges"] == 41
    assert total["discharge_miss_pct"] == 4.6
    assert total["admission_handover_pct"] == 93.1
    assert total["discharge_miss_rate"] == 41 / 882
    assert total["median_coordination_lead_days"] == 3.0  # 760 at 3 days, 81 at 8


async def test_csv_has_a_bom_the_survey_columns_a_total_row_and_no_formulas(
    survey: Survey,
) -> None:
    r = await survey.api.client.get(
        "/v1/reports/survey?month=2024-06&format=csv", headers=survey.viewer
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith("attachment;")
    assert r.content.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"), newline="")))
    as_text = [["" if c is None else f"{c:.1f}" if isinstance(c, float) else str(c) for c in row]
               for row in expected_table(survey)]  # fmt: skip
    assert lines == as_text
    assert lines[-1][:2] == ["", "合計"]


async def test_xlsx_hospital_sheet_has_the_same_cells(survey: Survey) -> None:
    r = await survey.api.client.get(
        "/v1/reports/survey?month=2024-06&format=xlsx", headers=survey.viewer
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert r.headers["content-disposition"].startswith("attachment;")
    sheet = openpyxl.load_workbook(io.BytesIO(r.content))["医療機関別"]
    # Under the title line; no hospital has a 二次医療圏, so they share one area and its 小計.
    cells = [list(row) for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert {row[0] for row in cells[1:-2]} == {"（二次医療圏なし）"}
    assert cells[-2][2] == "小計"
    assert cells[-2][3:] == cells[-1][3:]
    assert [row[1:] for row in cells if row[2] != "小計"] == expected_table(survey)
    for row in sheet.iter_rows(min_row=3):
        assert row[2].data_type == "s"  # names are text cells, never formulas


async def test_admin_picks_the_region_and_a_viewer_is_held_to_its_own(survey: Survey) -> None:
    client = survey.api.client
    admin = await client.get(
        f"/v1/reports/survey?month=2024-06&region={survey.api.region}", headers=ADMIN
    )
    assert admin.status_code == 200
    assert len(admin.json()["rows"]) == 3
    other = Api(client)
    await other.org("hospital")
    r = await client.get(f"/v1/reports/survey?month=2024-06&region={other.region}",
                         headers=survey.viewer)  # fmt: skip
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/problem+json"
    unknown = await client.get("/v1/reports/survey?month=2024-06&region=nowhere-0", headers=ADMIN)
    assert unknown.status_code == 404


@pytest.mark.parametrize("kind", ["hospital", "care_office", "support_center"])
async def test_party_keys_may_not_read_the_survey(survey: Survey, kind: str) -> None:
    key = await survey.api.key(
        survey.first if kind == "hospital" else await survey.api.org(kind), kind
    )
    r = await survey.api.client.get("/v1/reports/survey?month=2024-06", headers=key)
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("query", "param"),
    [("", "month"), ("month=2024-6", "month"), ("month=2024-06&format=pdf", "format")],
)
async def test_bad_survey_query_is_a_422_problem(survey: Survey, query: str, param: str) -> None:
    r = await survey.api.client.get(f"/v1/reports/survey?{query}", headers=survey.viewer)
    assert r.status_code == 422
    assert ["query", param] in [e["loc"] for e in r.json()["errors"]]
