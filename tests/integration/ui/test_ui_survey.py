"""The dashboard's survey tables, its printable page and downloads for any period, over ASGI."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import openpyxl  # type: ignore[import-untyped]
import pytest

from shared.rules.zone import TOKYO
from tests.factories import Api, admin_headers, admission, event
from tests.integration.metrics.test_metrics_api import insert_aggregates
from tests.integration.ui.test_ui_screens import assert_safe_page, bare, log_in

pytestmark = pytest.mark.postgres


@pytest.fixture
async def browser(client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=client.app)  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def _viewer_region(api: Api, database_url: str) -> tuple[str, str, str]:
    """A region with two areas' hospitals and June 2024 figures; its viewer's key."""
    north = await api.org("hospital", medical_area="北薩")
    south = await api.org("hospital", medical_area="南薩")
    insert_aggregates(database_url, api.region, [
        {"side": "admission", "day": "2024-06-03", "hospital_id": north, "medical_area": "北薩",
         "insurer_number": "462012", "admissions_with_care_manager": 20,
         "admission_info_provided": 19, "admission_info_on_time": 18},
        {"side": "admission", "day": "2024-06-04", "hospital_id": south, "medical_area": "南薩",
         "insurer_number": "462039", "admissions_with_care_manager": 10,
         "admission_info_provided": 9, "admission_info_on_time": 9},
    ])  # fmt: skip
    viewer = await api.key(await api.org("region"), "viewer")
    return north, south, bare(viewer)


def _cell(html: str, scope: str, key: str, metric: str) -> str:
    pattern = rf'data-scope="{scope}" data-key="{re.escape(key)}" data-metric="{metric}">([^<]*)<'
    found = re.findall(pattern, html)
    assert found, (scope, key, metric)
    return str(found[0])


async def test_the_dashboard_shows_the_survey_tables_with_subtotals(
    api: Api, database_url: str, browser: httpx.AsyncClient
) -> None:
    north, _, viewer = await _viewer_region(api, database_url)
    await log_in(browser, viewer)
    r = await browser.get("/ui/?fiscal_year=2024")
    assert r.status_code == 200
    assert_safe_page(r)
    html = r.text
    assert html.count("2024-04-01〜2025-03-31") == 1  # the period once, not twice
    assert "2024年度（令和6年度）" in html
    for heading in ("二次医療圏別", "医療機関別", "保険者別（ケアマネジャー側）", "経年推移"):
        assert f">{heading}</h2>" in html
    assert "小計（北薩）" in html
    assert "小計（南薩）" in html
    assert _cell(html, "hospital", north, "admissions_with_care_manager") == "20"
    assert _cell(html, "medical_area", "北薩", "admission_handover_rate") == "95.0%"
    assert _cell(html, "total", "", "admissions_with_care_manager") == "30"
    assert _cell(html, "total", "", "admission_handover_rate") == "93.3%"  # 28/30
    assert _cell(html, "insurer", "462039", "admission_info_provided") == "9"
    assert 'href="/ui/survey/FY2024.xlsx"' in html
    assert 'href="/ui/report?fiscal_year=2024"' in html
    assert '<link rel="icon" href="/ui/static/favicon.svg"' in html
    assert (await browser.get("/ui/static/favicon.svg")).status_code == 200


async def test_the_printable_page_has_the_cover_and_the_tables(
    api: Api, database_url: str, browser: httpx.AsyncClient
) -> None:
    _, _, viewer = await _viewer_region(api, database_url)
    await log_in(browser, viewer)
    r = await browser.get("/ui/report?month=2024-06")
    assert r.status_code == 200
    assert_safe_page(r)
    assert "入退院支援ルール実態調査" in r.text
    assert "2024年6月（令和6年6月）" in r.text
    assert f"（地域コード {api.region}）" in r.text
    assert "既定値（この地域のルールは未登録）" in r.text
    assert ">全体</h2>" in r.text
    assert '<script src="/ui/static/print.js"></script>' in r.text
    ranged = await browser.get("/ui/report?from=2024-06-01&to=2024-06-15")
    assert ranged.status_code == 200
    assert "令和6年6月1日〜令和6年6月15日" in ranged.text


async def test_survey_files_download_for_a_fiscal_year_and_a_range(
    api: Api, database_url: str, browser: httpx.AsyncClient
) -> None:
    _, _, viewer = await _viewer_region(api, database_url)
    await log_in(browser, viewer)
    fy = await browser.get("/ui/survey/FY2024.xlsx")
    assert fy.status_code == 200
    assert f'filename="survey-{api.region}-FY2024.xlsx"' in fy.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(fy.content))
    assert book.sheetnames == ["表紙", "全体", "二次医療圏別", "医療機関別", "保険者別", "経年推移"]
    ranged = await browser.get("/ui/survey/2024-06-01_2024-06-30.csv")
    assert ranged.status_code == 200
    assert ranged.content.decode("utf-8-sig").splitlines()[-1].startswith(",合計,30,28,")
    missing = await browser.get("/ui/survey/FY20x4.csv")
    assert missing.status_code == 404
    assert 'href="/ui/"' in missing.text  # a page with a way back, not a bare status


async def test_a_hospital_opening_the_printable_survey_gets_a_way_back(
    api: Api, browser: httpx.AsyncClient
) -> None:
    hospital = await api.org("hospital")
    await log_in(browser, bare(await api.key(hospital, "hospital")))
    r = await browser.get("/ui/report?month=2024-06")
    assert r.status_code == 403
    assert 'href="/ui/"' in r.text


async def test_metrics_count_admissions_still_within_their_deadline(api: Api) -> None:
    """The month in progress: the rate stays domain.md's, the count says how many are not due."""
    hospital, office, hospital_key, office_key = await api.parties()
    now = datetime.now(TOKYO).replace(microsecond=0)
    recent = (now - timedelta(minutes=5)).isoformat()
    old = (now - timedelta(days=20)).isoformat()
    for ref, at in (("R-1", recent), ("R-2", recent), ("R-OLD", old)):
        posted = await api.post(admission(hospital, ref, at, office), hospital_key)
        assert posted.status_code == 201, posted.text
    info = event("admission_info", hospital, "R-2", (now - timedelta(minutes=1)).isoformat(),
                 care_office_id=office, channel="fax")  # fmt: skip
    assert (await api.post(info, office_key)).status_code == 201
    window = f"from={(now - timedelta(days=30)).date()}&to={now.date()}"
    r = await api.client.get(f"/v1/metrics?{window}&region={api.region}", headers=admin_headers())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["admissions_within_deadline"] == 1  # not given, not due; R-OLD is overdue
    mine = await api.client.get(f"/v1/metrics?{window}", headers=hospital_key)
    assert mine.json()["admissions_within_deadline"] == 1
    stranger = await api.key(await api.org("hospital"), "hospital")
    other = await api.client.get(f"/v1/metrics?{window}", headers=stranger)
    assert other.json()["admissions_within_deadline"] == 0
