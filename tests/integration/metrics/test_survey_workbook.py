"""The survey workbook a 振興局 files: its sheets, subtotals, totals, years and print settings.

Every 小計 must equal the sum of its rows and every 合計 GET /v1/metrics for the same period.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import openpyxl  # type: ignore[import-untyped]
import pytest

from tests.factories import Api, admin_headers, unique
from tests.integration.metrics.test_metrics_api import insert_aggregates

pytestmark = pytest.mark.postgres

SHEETS = ["表紙", "全体", "二次医療圏別", "医療機関別", "保険者別", "経年推移"]
FIGURES = [
    "入院時ケアマネあり",
    "入院時情報提供あり",
    "入院引継ぎ割合(%)",
    "期限内提供",
    "退院(対象)",
    "退院調整あり",
    "退院調整漏れ",
    "退院調整漏れ割合(%)",
]
# The metric fields behind FIGURES, in order (the two percentages are checked apart).
COUNTS = [
    "admissions_with_care_manager",
    "admission_info_provided",
    None,
    "admission_info_on_time",
    "eligible_discharges",
    "coordinated_discharges",
    "missed_discharges",
    None,
]


@dataclass
class Region:
    api: Api
    hospitals: dict[str, str]  # id -> medical area
    viewer: dict[str, str]


@pytest.fixture
async def region(api: Api, database_url: str) -> Region:
    """Two areas (北薩: two hospitals, 南薩: one), two insurers, June of 2022 (none), 2023, 2024."""
    north_a = await api.org("hospital", medical_area="北薩")
    north_b = await api.org("hospital", medical_area="北薩")
    south = await api.org("hospital", medical_area="南薩")
    office = unique("M")
    named = {"id": office, "kind": "region", "name": "北薩地域振興局", "region": api.region}
    created = await api.client.post("/v1/organizations", json=named, headers=admin_headers())
    assert created.status_code == 201, created.text
    rule = {"effective_from": "2024-04-01", "admission_info_deadline_days": 3}
    put = await api.client.put(f"/v1/rule-sets/{api.region}", json=rule, headers=admin_headers())
    assert put.status_code == 200, put.text
    rows: list[dict[str, Any]] = []
    for year, scale in (("2023", 1), ("2024", 2)):
        for hospital, area, insurer, n in (
            (north_a, "北薩", "462012", 10),
            (north_b, "北薩", "462039", 7),
            (south, "南薩", "462012", 5),
        ):
            rows += [
                {"side": "admission", "day": f"{year}-06-05", "hospital_id": hospital,
                 "medical_area": area, "insurer_number": insurer,
                 "admissions_with_care_manager": n * scale,
                 "admission_info_provided": n * scale - 1, "admission_info_on_time": n * scale - 2},
                {"side": "discharge", "day": f"{year}-06-20", "hospital_id": hospital,
                 "medical_area": area, "lead_days": 3, "eligible_discharges": n * scale,
                 "coordinated_discharges": n * scale - 1, "coordination_on_time": n * scale - 1},
                {"side": "discharge", "day": f"{year}-06-21", "hospital_id": hospital,
                 "medical_area": area, "eligible_discharges": 1, "missed_discharges": 1},
            ]  # fmt: skip
    rows.append({"side": "admission", "day": "2024-09-02", "hospital_id": south,
                 "medical_area": "南薩", "admissions_with_care_manager": 4})  # fmt: skip
    insert_aggregates(database_url, api.region, rows)
    viewer = await api.key(office, "viewer")
    return Region(api, {north_a: "北薩", north_b: "北薩", south: "南薩"}, viewer)


async def _workbook(region: Region, query: str) -> tuple[Any, str]:
    r = await region.api.client.get(
        f"/v1/reports/survey?{query}&format=xlsx", headers=region.viewer
    )
    assert r.status_code == 200, r.text
    return openpyxl.load_workbook(io.BytesIO(r.content)), r.headers["content-disposition"]


async def _metrics(region: Region, query: str) -> dict[str, Any]:
    r = await region.api.client.get(f"/v1/metrics?{query}", headers=region.viewer)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _rows(sheet: Any) -> list[list[Any]]:
    """The table under the title line: header first."""
    return [list(row) for row in sheet.iter_rows(min_row=2, values_only=True)]


def _figures(total: dict[str, Any]) -> list[Any]:
    pct = {2: total["admission_handover_rate"], 7: total["discharge_miss_rate"]}
    return [
        total[name] if name else (None if pct[i] is None else pytest.approx(pct[i] * 100, abs=0.05))
        for i, name in enumerate(COUNTS)
    ]


def _sum(rows: list[list[Any]], first: int) -> list[int]:
    return [sum(r[first + i] for r in rows) for i, name in enumerate(COUNTS) if name]


def _counts(line: list[Any], first: int) -> list[int]:
    return [line[first + i] for i, name in enumerate(COUNTS) if name]


async def test_the_workbook_has_the_sheets_and_its_totals_are_the_metrics(region: Region) -> None:
    book, disposition = await _workbook(region, "month=2024-06")
    assert book.sheetnames == SHEETS
    assert f'filename="survey-{region.api.region}-2024-06.xlsx"' in disposition
    total = (await _metrics(region, "month=2024-06"))["total"]

    overall = _rows(book["全体"])
    assert overall[0] == ["地域", *FIGURES]
    assert overall[1][1:] == _figures(total)

    hospitals = _rows(book["医療機関別"])
    assert hospitals[0] == ["二次医療圏", "医療機関コード", "医療機関名", *FIGURES]
    north = [r for r in hospitals[1:] if r[0] == "北薩" and r[1] is not None]
    south = [r for r in hospitals[1:] if r[0] == "南薩" and r[1] is not None]
    assert [r[1] for r in north] == sorted(h for h, a in region.hospitals.items() if a == "北薩")
    labels = [r[2] for r in hospitals[1:]]
    assert labels == [north[0][2], north[1][2], "小計", south[0][2], "小計", "合計"]
    subtotals = [r for r in hospitals if r[2] == "小計"]
    assert _counts(subtotals[0], 3) == _sum(north, 3)
    assert _counts(subtotals[1], 3) == _sum(south, 3)
    assert hospitals[-1][3:] == _figures(total)
    by_hospital = await _metrics(region, "month=2024-06&group_by=hospital")
    for group in by_hospital["groups"]:
        line = next(r for r in hospitals if r[1] == group["key"]["hospital_id"])
        assert line[3:] == _figures(group)

    areas = _rows(book["二次医療圏別"])
    assert areas[0] == ["二次医療圏", *FIGURES]
    assert [r[0] for r in areas[1:]] == ["北薩", "南薩", "合計"]
    assert areas[1][1:] == subtotals[0][3:]
    assert areas[2][1:] == subtotals[1][3:]
    assert _counts(areas[3], 1) == _sum(areas[1:3], 1)
    assert areas[3][1:] == _figures(total)


async def test_insurer_sheet_is_the_care_manager_side_by_municipality(region: Region) -> None:
    book, _ = await _workbook(region, "month=2024-06")
    insurers = _rows(book["保険者別"])
    assert insurers[0] == [
        "保険者番号",
        "入院時ケアマネあり",
        "入院時情報提供あり",
        "入院引継ぎ割合(%)",
    ]
    groups = (await _metrics(region, "month=2024-06&group_by=municipality"))["groups"]
    expected = {
        g["key"]["insurer_number"]: g for g in groups if g["admissions_with_care_manager"]
    }  # the discharge side's rows carry no insurer: they have no line
    assert [r[0] for r in insurers[1:-1]] == sorted(expected)
    for line in insurers[1:-1]:
        assert line[1:3] == [expected[line[0]]["admissions_with_care_manager"],
                             expected[line[0]]["admission_info_provided"]]  # fmt: skip
    assert insurers[-1][0] == "合計"
    assert insurers[-1][1] == sum(r[1] for r in insurers[1:-1]) == 44


async def test_trend_sets_each_year_s_june_side_by_side(region: Region) -> None:
    book, _ = await _workbook(region, "month=2024-06")
    trend = _rows(book["経年推移"])
    assert trend[0][:2] == ["調査時期", "和暦"]
    assert [r[:2] for r in trend[1:]] == [["2023年6月", "令和5年6月"], ["2024年6月", "令和6年6月"]]
    for line, month in zip(trend[1:], ("2023-06", "2024-06"), strict=True):
        total = (await _metrics(region, f"month={month}"))["total"]
        assert line[2:4] == [
            total["admissions_with_care_manager"],
            total["admission_info_provided"],
        ]
        assert line[5:7] == [total["eligible_discharges"], total["missed_discharges"]]
        assert line[4] == pytest.approx(total["admission_handover_rate"] * 100, abs=0.05)


async def test_the_cover_names_region_period_rule_and_time(region: Region) -> None:
    book, _ = await _workbook(region, "month=2024-06")
    text = "\n".join(
        str(c) for row in book["表紙"].iter_rows(values_only=True) for c in row if c is not None
    )
    assert "入退院支援ルール実態調査" in text
    assert f"北薩地域振興局（地域コード {region.api.region}）" in text
    assert "2024年6月（令和6年6月）" in text
    assert "2024-06-01〜2024-06-30" in text
    assert "2024-04-01（令和6年4月1日）施行: 入院時情報提供は入院日から3日以内" in text
    assert "作成日時" in text


async def test_percentages_are_numbers_formatted_and_pages_print_on_a4(region: Region) -> None:
    book, _ = await _workbook(region, "month=2024-06")
    sheet = book["医療機関別"]
    header = [c.value for c in sheet[2]]
    pct_col = header.index("入院引継ぎ割合(%)") + 1
    cell = sheet.cell(row=3, column=pct_col)
    assert isinstance(cell.value, (int, float))  # a number (95.0 is stored as 95), not text
    assert cell.number_format == "0.0"
    for name in SHEETS:
        ws = book[name]
        assert ws.page_setup.paperSize == 9  # A4
    assert sheet.print_title_rows == "$1:$2"
    widths = {  # equal neighbours are stored as one range of columns
        col: dim.width
        for dim in sheet.column_dimensions.values()
        for col in range(dim.min, dim.max + 1)
    }
    for col, title in enumerate(header, start=1):  # each header fits its column
        wide = sum(2 if ord(ch) > 0x2000 else 1 for ch in title)
        assert widths[col] >= wide, title


async def test_a_fiscal_year_and_a_range_are_reports_too(region: Region) -> None:
    book, disposition = await _workbook(region, "fiscal_year=2024")
    assert f'filename="survey-{region.api.region}-FY2024.xlsx"' in disposition
    total = (await _metrics(region, "fiscal_year=2024"))["total"]
    assert _rows(book["全体"])[1][1:] == _figures(total)
    assert total["admissions_with_care_manager"] == 48  # June and September
    assert [r[:2] for r in _rows(book["経年推移"])[1:]] == [
        ["2023年度", "令和5年度"], ["2024年度", "令和6年度"]
    ]  # fmt: skip
    client = region.api.client
    r = await client.get("/v1/reports/survey?fiscal_year=2024", headers=region.viewer)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["from"], body["to"], body["fiscal_year"]) == ("2024-04-01", "2025-03-31", 2024)
    assert "month" not in body
    assert body["total"]["admissions_with_care_manager"] == 48
    ranged = await client.get(
        "/v1/reports/survey?from=2024-06-01&to=2024-09-30&format=csv", headers=region.viewer
    )
    assert ranged.status_code == 200, ranged.text
    assert (
        f"survey-{region.api.region}-2024-06-01_2024-09-30.csv"
        in ranged.headers["content-disposition"]
    )
    last = ranged.content.decode("utf-8-sig").splitlines()[-1].split(",")
    assert last[:3] == ["", "合計", "48"]


@pytest.mark.parametrize(
    ("query", "param"),
    [("fiscal_year=1999", "fiscal_year"), ("from=2024-06-01", "to"),
     ("month=2024-06&fiscal_year=2024", "fiscal_year")],
)  # fmt: skip
async def test_a_bad_period_is_a_422_naming_it(region: Region, query: str, param: str) -> None:
    r = await region.api.client.get(f"/v1/reports/survey?{query}", headers=region.viewer)
    assert r.status_code == 422, r.text
    assert ["query", param] in [e["loc"] for e in r.json()["errors"]]
