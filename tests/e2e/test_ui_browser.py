"""The screens in a real headless Chromium against a real uvicorn, worker and PostgreSQL.

Every number the dashboard shows is compared with GET /v1/metrics for the same period and key;
the survey links, the admission-info form, flag acknowledgement, the timeline and logout are
used as a person would; axe-core checks each page; screenshots land in .venv/artifacts/ui/.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.cli.demo.post import post_events, register
from services.cli.demo.scenario import Params, Scenario, generate
from shared.metrics.query import RATE_PARTS
from shared.rules.metrics import round_half_up_pct
from shared.rules.zone import TOKYO
from tests.privacy import INSURED_NUMBERS
from tests.services import (
    free_port,
    fresh_database,
    in_ci,
    stop_process_group,
    wait_until,
    worker_process,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ADMIN_TOKEN = "ui-e2e-admin-token-0123456789abcdef"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / ".venv" / "artifacts" / "ui"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
REGION = "kagoshima-ui"
PARAMS = Params(
    hospitals=3, care_offices=8, support_centers=2, months=2, episodes_per_hospital_month=12,
    start=date(2024, 5, 1), region=REGION,
)  # fmt: skip
PERIODS: list[dict[str, str]] = [
    {"fiscal_year": "2024"},
    {"month": "2024-06"},
    {"from": "2024-05-15", "to": "2024-06-20"},
]
COUNT_FIELDS = (
    "admissions_with_care_manager", "admission_info_provided", "admission_info_on_time",
    "eligible_discharges", "coordinated_discharges", "missed_discharges", "coordination_on_time",
)  # fmt: skip
SIZES = {"desktop": (1280, 800), "tablet": (820, 1180)}
PHONE = (390, 844)
# The survey's columns, as the dashboard's survey tables show them (percentages, then counts).
SURVEY_FIELDS = (
    "admissions_with_care_manager", "admission_info_provided", "admission_handover_rate",
    "admission_info_on_time", "eligible_discharges", "coordinated_discharges",
    "missed_discharges", "discharge_miss_rate",
)  # fmt: skip


@dataclass
class Stack:
    base: str
    client: httpx.Client
    scenario: Scenario
    keys: dict[str, str]
    viewer_key: str


def _chromium_or_skip() -> None:
    if shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER):
        return
    reason = "chromium/chromedriver missing: apt-get install -y chromium chromium-driver"
    if in_ci():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """uvicorn and a dramatiq worker (Postgres broker) over a fresh database, fed a scenario."""
    _chromium_or_skip()
    log = tmp_path_factory.mktemp("ui-e2e") / "api.log"
    port = free_port()
    with fresh_database("handover_ui") as database_url:
        env = dict(os.environ, DATABASE_URL=database_url, BROKER_URL=database_url,
                   HANDOVER_ADMIN_TOKEN=ADMIN_TOKEN, HANDOVER_ENV="development")  # fmt: skip
        argv = [sys.executable, "-m", "uvicorn", "services.api.app:create_app", "--factory",
                "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
        with log.open("ab") as out:
            api = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # fmt: skip
        try:
            with (
                worker_process(database_url, database_url),
                httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client,
            ):

                def up() -> bool:
                    assert api.poll() is None, log.read_text()[-3000:]
                    try:
                        return client.get("/healthz").status_code == 200
                    except httpx.HTTPError:
                        return False

                assert wait_until(up, timeout=30, interval=0.3)
                scenario = generate(PARAMS, seed=15)
                INSURED_NUMBERS.update(
                    p.body["patient"]["insured_number"]
                    for p in scenario.posts
                    if "patient" in p.body
                )
                keys = register(client, scenario, ADMIN_TOKEN)
                summary = post_events(client, scenario.posts, keys)
                assert not summary.errors, summary.errors
                viewer_key = _viewer_key(client)

                def settled() -> bool:
                    r = client.get("/v1/metrics", params={"fiscal_year": 2024},
                                   headers=_bearer(ADMIN_TOKEN))  # fmt: skip
                    return r.status_code == 200 and r.json()["stale_episodes"] == 0

                assert wait_until(settled, timeout=120, interval=1.0), "worker did not settle"
                yield Stack(f"http://127.0.0.1:{port}", client, scenario, keys, viewer_key)
        finally:
            stop_process_group(api, timeout=10)


def _viewer_key(client: httpx.Client) -> str:
    body = {"id": "R-UI-VIEW", "kind": "region", "name": "鹿児島県 地域振興局", "region": REGION}
    assert client.post("/v1/organizations", json=body, headers=_bearer(ADMIN_TOKEN)).is_success
    r = client.post("/v1/api-keys", json={"organization_id": "R-UI-VIEW", "role": "viewer"},
                    headers=_bearer(ADMIN_TOKEN))  # fmt: skip
    assert r.status_code == 201, r.text
    return str(r.json()["key"])


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    """Headless Chromium from Debian, its own profile, no network but loopback."""
    _chromium_or_skip()
    from selenium import webdriver

    # Selenium logs every page it reads back at DEBUG; a party's page rightly shows its patient,
    # and the suite's privacy scan is for the service's logs and error bodies, not the browser's.
    logging.getLogger("selenium").setLevel(logging.INFO)
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="ui-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 f"--user-data-dir={profile}", "--window-size=1280,800", "--lang=ja"):  # fmt: skip
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    browser.set_page_load_timeout(60)
    browser.implicitly_wait(10)  # a click returns before the next page; find_element waits for it
    browser.set_script_timeout(60)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


# --- helpers -----------------------------------------------------------------------------


def login(driver: Any, stack: Stack, key: str, *, keyboard: bool = False) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver.delete_all_cookies()
    driver.get(f"{stack.base}/ui/login")
    if keyboard:
        body = driver.find_element(By.TAG_NAME, "body")
        body.send_keys(Keys.TAB)  # the skip link comes first
        assert driver.switch_to.active_element.text == "本文へ移動"
        driver.switch_to.active_element.send_keys(Keys.ENTER)  # to the main content
        for _ in range(4):  # past a person's login id, password and 次へ, to the key's field
            driver.switch_to.active_element.send_keys(Keys.TAB)
        assert driver.switch_to.active_element.get_attribute("id") == "api_key"
        driver.switch_to.active_element.send_keys(key, Keys.ENTER)
    else:
        driver.find_element(By.ID, "api_key").send_keys(key, Keys.ENTER)
    assert wait_until(lambda: driver.current_url.rstrip("/").endswith("/ui"), timeout=10)


def shoot(driver: Any, name: str) -> None:
    """A full-page PNG at desktop and tablet widths (test artifacts, not committed)."""
    for size, (width, height) in SIZES.items():
        driver.set_window_size(width, height)
        full = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(width, max(height, min(int(full) + 120, 6000)))
        driver.save_screenshot(str(ARTIFACTS / f"{name}-{size}.png"))
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"{name} scrolls sideways at {width}px"
    driver.set_window_size(*SIZES["desktop"])


def axe_violations(driver: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the current page (WCAG 2 A/AA rules)."""
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    result: list[dict[str, Any]] = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa',"
        " 'best-practice']}}).then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact,"
        " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))));"
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]


def check_page(driver: Any, name: str) -> None:
    assert axe_violations(driver) == [], name
    shoot(driver, name)


def shown_numbers(driver: Any) -> dict[tuple[str, str, str], str]:
    rows = driver.execute_script(
        "return [...document.querySelectorAll('[data-metric]')].map(e =>"
        " [e.dataset.scope, e.dataset.key, e.dataset.metric, e.textContent.trim()]);"
    )
    return {(scope, key, field): text for scope, key, field, text in rows}


def expected_text(figures: dict[str, Any], field: str) -> str:
    """What the dashboard must print for one field of a /v1/metrics body."""
    if field in COUNT_FIELDS or field == "stale_episodes":
        return f"{figures[field]:,}"
    if field in RATE_PARTS:
        numerator, denominator = (figures[n] for n in RATE_PARTS[field])
        if denominator == 0:
            assert figures[field] is None
            return "—"
        exact = Fraction(numerator, denominator)
        assert figures[field] == pytest.approx(float(exact))
        return f"{round_half_up_pct(exact)}%"
    if field == "median_coordination_lead_days":
        value = figures[field]
        return "—" if value is None else f"{value:.1f}日"
    raise AssertionError(field)


def expected_numbers(
    stack: Stack, key: str, period: dict[str, str]
) -> dict[tuple[str, str, str], str]:
    """Every number the dashboard should show, read from the JSON API with the same key."""

    def get(**params: str) -> dict[str, Any]:
        body: dict[str, Any] = stack.client.get(
            "/v1/metrics", params=params, headers=_bearer(key)
        ).json()
        return body

    expected: dict[tuple[str, str, str], str] = {}
    if not period:  # the screen's default: this fiscal year (年度), Asia/Tokyo
        today = datetime.now(TOKYO).date()
        period = {"fiscal_year": str(today.year if today.month >= 4 else today.year - 1)}
    total = get(**period)
    expected[("total", "", "stale_episodes")] = f"{total['stale_episodes']:,}"
    expected[("total", "", "admissions_within_deadline")] = (
        f"{total['admissions_within_deadline']:,}"
    )
    for field in (*COUNT_FIELDS, *RATE_PARTS, "median_coordination_lead_days"):
        expected[("total", "", field)] = expected_text(total["total"], field)
    if key == stack.viewer_key:  # a region's dashboard: the survey's tables
        expected |= survey_numbers(stack, key, period)
    else:
        table_fields = [
            f for f in (*COUNT_FIELDS, *RATE_PARTS) if f != "discharge_coordination_rate"
        ]
        for scope, group in (("hospital", "hospital_id"), ("medical_area", "medical_area")):
            body = get(**period, group_by=scope)
            for g in body["groups"]:
                for field in table_fields:
                    expected[(scope, g["key"][group] or "", field)] = expected_text(g, field)
    to = date.fromisoformat(total["to"])
    fiscal = to.year if to.month >= 4 else to.year - 1
    for i in range(12):
        month = f"{fiscal + (3 + i) // 12}-{(3 + i) % 12 + 1:02d}"
        figures = get(month=month)["total"]
        for field in ("admissions_with_care_manager", "admission_info_provided",
                      "admission_handover_rate", "eligible_discharges", "missed_discharges",
                      "discharge_miss_rate"):  # fmt: skip
            expected[("month", month, field)] = expected_text(figures, field)
    return expected


def with_rates(counts: dict[str, int]) -> dict[str, Any]:
    """Counts and the rates they give (null without a base), as /v1/metrics writes them."""
    rates = {
        name: None if counts[d] == 0 else counts[n] / counts[d]
        for name, (n, d) in RATE_PARTS.items()
    }
    return {**counts, **rates}


def survey_numbers(
    stack: Stack, key: str, period: dict[str, str]
) -> dict[tuple[str, str, str], str]:
    """The survey tables of a region's dashboard: every hospital of /v1/reports/survey (zeros
    too), each 二次医療圏's 小計 as the sum of its hospitals, each insurer as /v1/metrics has it."""
    survey = stack.client.get("/v1/reports/survey", params=period, headers=_bearer(key)).json()
    expected: dict[tuple[str, str, str], str] = {}
    areas: dict[str, dict[str, int]] = {}
    for row in survey["rows"]:
        for field in SURVEY_FIELDS:
            expected[("hospital", row["hospital_id"], field)] = expected_text(row, field)
        area = areas.setdefault(row["medical_area"] or "", dict.fromkeys(COUNT_FIELDS, 0))
        for field in COUNT_FIELDS:
            area[field] += row[field]
    for name, counts in areas.items():
        for field in SURVEY_FIELDS:
            expected[("medical_area", name, field)] = expected_text(with_rates(counts), field)
    insurers = stack.client.get("/v1/metrics", params={**period, "group_by": "municipality"},
                                headers=_bearer(key)).json()["groups"]  # fmt: skip
    for g in insurers:
        if g["admissions_with_care_manager"] or g["admission_info_provided"]:
            number = g["key"]["insurer_number"] or ""
            for field in SURVEY_FIELDS[:3]:
                expected[("insurer", number, field)] = expected_text(g, field)
    return expected


def cookies_of(driver: Any) -> dict[str, str]:
    return {c["name"]: c["value"] for c in driver.get_cookies()}


# --- tests -------------------------------------------------------------------------------


def test_viewer_dashboard_shows_exactly_the_metrics_api(driver: Any, stack: Stack) -> None:
    login(driver, stack, stack.viewer_key, keyboard=True)
    assert "地域ダッシュボード" in driver.title
    check_page(driver, "dashboard-default")
    assert shown_numbers(driver) == expected_numbers(stack, stack.viewer_key, {})
    for period in PERIODS:
        query = "&".join(f"{k}={v}" for k, v in period.items())
        driver.get(f"{stack.base}/ui/?{query}")
        shown = shown_numbers(driver)
        assert shown == expected_numbers(stack, stack.viewer_key, period), period
        assert any(k[0] == "hospital" for k in shown), "the hospital table is empty"
    driver.get(f"{stack.base}/ui/?month=2024-06")
    assert wait_until(
        lambda: driver.execute_script(
            "return [...document.querySelectorAll('canvas.trend')].every(c => c.width > 0 &&"
            " window.Chart && Chart.getChart(c))"
        ),
        timeout=10,
    ), "the trend charts did not draw"
    check_page(driver, "dashboard-june")


def test_survey_links_download_the_survey_report(driver: Any, stack: Stack) -> None:
    from selenium.webdriver.common.by import By

    login(driver, stack, stack.viewer_key)
    driver.get(f"{stack.base}/ui/?month=2024-06")
    links = [a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, "a.survey")]
    assert len(links) == 24  # CSV and Excel for each month of the fiscal year
    cookies = cookies_of(driver)
    for href in (h for h in links if "2024-06" in h):
        r = httpx.get(href, cookies=cookies)
        assert r.status_code == 200, href
        fmt = "csv" if href.endswith(".csv") else "xlsx"
        api = stack.client.get("/v1/reports/survey", params={"month": "2024-06", "format": fmt},
                               headers=_bearer(stack.viewer_key))  # fmt: skip
        assert r.headers["content-type"] == api.headers["content-type"]
        if fmt == "csv":
            assert r.content == api.content  # the very same table
            assert r.content.startswith("\ufeff医療機関コード".encode())


def _hospital(stack: Stack) -> str:
    return next(o.id for o in stack.scenario.organizations if o.kind == "hospital")


def test_hospital_sees_its_own_figures_work_list_flags_and_timeline(
    driver: Any, stack: Stack
) -> None:
    from selenium.webdriver.common.by import By

    hospital = _hospital(stack)
    key = stack.keys[hospital]
    ref = f"UI-{uuid.uuid4().hex[:8]}"
    planned = {"event_id": str(uuid.uuid4()), "type": "discharge_planned",
               "occurred_at": "2024-06-10T10:00:00+09:00", "hospital_id": hospital,
               "encounter_ref": ref, "planned_discharge_date": "2024-06-20"}  # fmt: skip
    events = [
        {"event_id": str(uuid.uuid4()), "type": "admission", "hospital_id": hospital,
         "occurred_at": "2024-06-03T10:00:00+09:00", "encounter_ref": ref,
         "patient": {"insurer_number": "462010", "insured_number": "0000999001",
                     "display_name": "鹿児島 花子"}, "care_level": "care_2",
         "ward_type": "general", "care_office_id": None},
        planned,
        {"event_id": str(uuid.uuid4()), "type": "cancel", "hospital_id": hospital,
         "occurred_at": "2024-06-11T10:00:00+09:00", "encounter_ref": ref,
         "cancels_event_id": planned["event_id"]},
    ]  # fmt: skip
    INSURED_NUMBERS.add("0000999001")
    for e in events:
        r = stack.client.post("/v1/events", json=e, headers=_bearer(key))
        assert r.status_code == 201, r.text
    login(driver, stack, key)
    assert shown_numbers(driver) == expected_numbers(stack, key, {})
    driver.get(f"{stack.base}/ui/?month=2024-06")
    assert shown_numbers(driver) == expected_numbers(stack, key, {"month": "2024-06"})
    assert {k[1] for k in shown_numbers(driver) if k[0] == "hospital"} <= {hospital}
    check_page(driver, "hospital-figures")

    driver.find_element(By.LINK_TEXT, "対応リスト").click()
    assert "対応リスト" in driver.title
    check_page(driver, "hospital-work")

    driver.get(f"{stack.base}/ui/flags")
    check_page(driver, "hospital-flags")
    forms = driver.find_elements(By.CSS_SELECTOR, "form[action$='/acknowledge']")
    assert forms, "the scenario (seed 15) raises flags for this hospital"
    flag_id = forms[0].get_attribute("action").split("/")[-2]
    forms[0].find_element(By.TAG_NAME, "textarea").send_keys("MSWが電話で確認 <b>済</b>")
    forms[0].find_element(By.TAG_NAME, "button").click()  # returns before the next page
    assert wait_until(lambda: "確認を記録しました" in driver.page_source, timeout=10)
    flags = stack.client.get("/v1/flags", params={"status": "all", "limit": 1000},
                             headers=_bearer(key)).json()["items"]  # fmt: skip
    acked = next(f for f in flags if f["id"] == flag_id)
    assert acked["acknowledgement_note"] == "MSWが電話で確認 <b>済</b>"
    assert "&lt;b&gt;済&lt;/b&gt;" in driver.page_source

    episode = stack.client.get("/v1/episodes", params={"hospital_id": hospital,
                               "encounter_ref": ref}, headers=_bearer(key)).json()  # fmt: skip
    driver.get(f"{stack.base}/ui/episodes/{episode['episode_id']}")
    cancelled = driver.find_elements(By.CSS_SELECTOR, "ol.timeline li.cancelled")
    assert len(cancelled) == 1
    assert "取消済み" in cancelled[0].text
    assert "退院予定日の設定" in cancelled[0].text
    assert "鹿児島 花子" in driver.page_source
    check_page(driver, "hospital-episode")


def test_care_office_records_admission_info_through_the_form(driver: Any, stack: Stack) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    hospital = _hospital(stack)
    office = next(o.id for o in stack.scenario.organizations if o.kind == "care_office")
    ref = f"UI-{uuid.uuid4().hex[:8]}"
    admission = {"event_id": str(uuid.uuid4()), "type": "admission", "hospital_id": hospital,
                 "occurred_at": "2024-06-03T10:00:00+09:00", "encounter_ref": ref,
                 "patient": {"insurer_number": "462010", "insured_number": "0000999002"},
                 "care_level": "care_1", "ward_type": "general",
                 "care_office_id": office}  # fmt: skip
    INSURED_NUMBERS.add("0000999002")
    r = stack.client.post("/v1/events", json=admission, headers=_bearer(stack.keys[hospital]))
    assert r.status_code == 201, r.text
    login(driver, stack, stack.keys[office])
    driver.get(f"{stack.base}/ui/?month=2024-06")  # its own figures, as /v1/metrics gives them
    june = {"month": "2024-06"}
    assert shown_numbers(driver) == expected_numbers(stack, stack.keys[office], june)
    driver.get(f"{stack.base}/ui/work")
    check_page(driver, "office-work")
    driver.find_element(By.LINK_TEXT, "記録する").click()
    check_page(driver, "office-record")
    form = driver.find_element(By.CSS_SELECTOR, "form[action='/ui/record/admission_info']")
    event_id = form.find_element(By.NAME, "event_id").get_attribute("value")
    form.find_element(By.ID, "admission_info-hospital_id").send_keys(hospital)
    form.find_element(By.ID, "admission_info-encounter_ref").send_keys(ref)
    Select(form.find_element(By.ID, "admission_info-channel")).select_by_visible_text("電話")
    form.find_element(By.TAG_NAME, "button").click()
    assert driver.find_element(By.ID, "done-event-id").text == event_id
    found = stack.client.get(
        "/v1/episodes",
        params={"hospital_id": hospital, "encounter_ref": ref},
        headers=_bearer(stack.keys[office]),
    )
    assert found.status_code == 200
    infos = [e for e in found.json()["events"] if e["type"] == "admission_info"]
    assert [(e["event_id"], e["body"]["channel"]) for e in infos] == [(event_id, "phone")]
    check_page(driver, "office-recorded")


def test_logout_returns_to_the_login_form(driver: Any, stack: Stack) -> None:
    from selenium.webdriver.common.by import By

    login(driver, stack, stack.viewer_key)
    driver.find_element(By.CSS_SELECTOR, "form[action='/ui/logout'] button").click()
    assert wait_until(lambda: driver.current_url.endswith("/ui/login"), timeout=10)
    check_page(driver, "login")
    driver.get(f"{stack.base}/ui/")
    assert wait_until(lambda: driver.current_url.endswith("/ui/login"), timeout=10)


def _missed_stays(hospital: str, count: int) -> list[dict[str, Any]]:
    """Stays with a care level, discharged home with no coordination: each raises a flag."""
    events: list[dict[str, Any]] = []
    for n in range(count):
        ref = f"UI-MISS-{uuid.uuid4().hex[:8]}"
        common = {"hospital_id": hospital, "encounter_ref": ref}
        events += [
            {"event_id": str(uuid.uuid4()), "type": "admission", **common,
             "occurred_at": f"2024-06-{1 + n % 20:02d}T10:00:00+09:00",
             "patient": {"hospital_patient_id": f"P-{n}"}, "care_level": "care_1"},
            {"event_id": str(uuid.uuid4()), "type": "discharge", **common,
             "occurred_at": f"2024-06-{2 + n % 20:02d}T10:{n % 60:02d}:00+09:00",
             "destination": "home"},
        ]  # fmt: skip
    return events


def test_hospital_pages_sorts_and_filters_its_flags(driver: Any, stack: Stack) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    hospital = [o.id for o in stack.scenario.organizations if o.kind == "hospital"][-1]
    key = _bearer(stack.keys[hospital])
    r = stack.client.post("/v1/events:batch", json={"events": _missed_stays(hospital, 56)},
                          headers=key)  # fmt: skip
    assert r.status_code in (200, 201, 207), r.text
    query = {"status": "open", "kind": "missed_discharge_coordination", "order": "oldest"}

    def api_page(cursor: str | None = None) -> dict[str, Any]:
        params = {**query, "limit": "50", **({"cursor": cursor} if cursor else {})}
        body: dict[str, Any] = stack.client.get("/v1/flags", params=params, headers=key).json()
        return body

    def all_raised() -> bool:
        first = api_page()
        return first["next_cursor"] is not None and len(api_page(first["next_cursor"])["items"]) > 0

    assert wait_until(all_raised, timeout=120, interval=1.0), "the worker raised no flags"
    login(driver, stack, stack.keys[hospital])
    driver.get(f"{stack.base}/ui/flags")
    form = driver.find_element(By.CSS_SELECTOR, "form.filters")
    Select(form.find_element(By.ID, "kind")).select_by_visible_text("退院調整漏れ")
    Select(form.find_element(By.ID, "order")).select_by_visible_text("古い順")
    form.find_element(By.TAG_NAME, "button").click()
    assert wait_until(lambda: "order=oldest" in driver.current_url, timeout=10)
    check_page(driver, "hospital-flags-filtered")

    def shown() -> list[tuple[str, str]]:
        items = driver.find_elements(By.CSS_SELECTOR, "li.flag")
        return [(i.get_attribute("data-flag"), i.get_attribute("data-kind")) for i in items]

    first = api_page()
    assert shown() == [(f["id"], f["kind"]) for f in first["items"]]
    assert "None" not in driver.page_source
    driver.find_element(By.CSS_SELECTOR, "a[rel='next']").click()
    assert wait_until(lambda: "cursor=" in driver.current_url, timeout=10)
    second = api_page(first["next_cursor"])
    assert shown() == [(f["id"], f["kind"]) for f in second["items"]]
    assert {kind for _, kind in shown()} == {"missed_discharge_coordination"}
    assert "kind=missed_discharge_coordination" in driver.current_url
    check_page(driver, "hospital-flags-page-2")


# --- the survey, the first hour's screen fixes ---------------------------------------------


def sideways(driver: Any) -> int:
    overflow: int = driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return overflow


def headers_broken_inside_a_word(driver: Any) -> list[str]:
    """Header texts drawn on more than one line within one word (a word: the text between two
    <wbr>, each its own text node)."""
    broken: list[str] = driver.execute_script(
        "const out = [];"
        "for (const th of document.querySelectorAll('thead th')) {"
        "  const walk = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);"
        "  for (let n = walk.nextNode(); n; n = walk.nextNode()) {"
        "    if (!n.textContent.trim()) continue;"
        "    const r = document.createRange(); r.selectNodeContents(n);"
        "    const tops = new Set([...r.getClientRects()].map(x => Math.round(x.top)));"
        "    if (tops.size > 1) out.push(n.textContent);"
        "  }"
        "}"
        "return out;"
    )
    return broken


def test_a_phone_reads_the_dashboard_without_sideways_scroll(driver: Any, stack: Stack) -> None:
    login(driver, stack, stack.viewer_key)
    try:
        driver.set_window_size(*PHONE)
        for page in ("/ui/?month=2024-06", "/ui/?fiscal_year=2024", "/ui/report?month=2024-06"):
            driver.get(f"{stack.base}{page}")
            assert sideways(driver) <= 1, f"{page} scrolls sideways at 390 px"
            assert headers_broken_inside_a_word(driver) == [], page
            driver.save_screenshot(
                str(ARTIFACTS / f"phone-{page.strip('/').replace('/', '_')}.png")
            )
    finally:
        driver.set_window_size(*SIZES["desktop"])
    driver.get(f"{stack.base}/ui/?fiscal_year=2024")
    assert headers_broken_inside_a_word(driver) == []


def test_the_period_reads_once_and_the_printable_survey_matches_the_workbook(
    driver: Any, stack: Stack
) -> None:
    from selenium.webdriver.common.by import By

    login(driver, stack, stack.viewer_key)
    driver.get(f"{stack.base}/ui/?fiscal_year=2024")
    text = driver.find_element(By.TAG_NAME, "main").text
    assert text.count("2024-04-01〜2025-03-31") == 1
    assert "2024年度（令和6年度）" in text
    assert shown_numbers(driver) == expected_numbers(
        stack, stack.viewer_key, {"fiscal_year": "2024"}
    )
    period_links = driver.find_elements(By.CSS_SELECTOR, "a.survey-period")
    assert [a.get_attribute("href").rsplit("/", 1)[1] for a in period_links] == [
        "FY2024.xlsx", "FY2024.csv"
    ]  # fmt: skip
    r = httpx.get(period_links[0].get_attribute("href"), cookies=cookies_of(driver))
    assert r.status_code == 200
    assert f'filename="survey-{REGION}-FY2024.xlsx"' in r.headers["content-disposition"]
    driver.find_element(By.LINK_TEXT, "印刷用ページ").click()
    assert wait_until(lambda: "/ui/report" in driver.current_url, timeout=10)
    page = driver.find_element(By.TAG_NAME, "main").text
    assert "入退院支援ルール実態調査" in page
    office = min((o.id, o.name) for o in stack.scenario.organizations if o.kind == "region")
    assert f"{office[1]}（地域コード {REGION}）" in page  # the region's 振興局, by id
    assert shown_numbers(driver) == {
        k: v for k, v in expected_numbers(stack, stack.viewer_key, {"fiscal_year": "2024"}).items()
        if k[0] != "month" and k[2] not in ("stale_episodes", "admissions_within_deadline")
        and (k[0] != "total" or k[2] in SURVEY_FIELDS)
    }  # fmt: skip
    check_page(driver, "survey-printable")


def test_the_viewer_s_403_page_leads_back_and_every_page_has_an_icon(
    driver: Any, stack: Stack
) -> None:
    from selenium.webdriver.common.by import By

    login(driver, stack, stack.viewer_key)
    icon = driver.find_element(By.CSS_SELECTOR, "link[rel=icon]").get_attribute("href")
    assert httpx.get(icon).status_code == 200
    driver.get(f"{stack.base}/ui/work")
    assert "この操作はできません" in driver.page_source
    driver.find_element(By.LINK_TEXT, "トップへ戻る").click()
    assert wait_until(lambda: driver.current_url.rstrip("/").endswith("/ui"), timeout=10)
    assert "地域ダッシュボード" in driver.title


def test_redoc_renders_with_nothing_from_another_host(driver: Any, stack: Stack) -> None:
    driver.get(f"{stack.base}/redoc")
    assert wait_until(
        lambda: driver.execute_script("return !!document.querySelector('.api-content h1')"),
        timeout=20,
    ), "ReDoc did not render under its policy"
    loaded = driver.execute_script(
        "return performance.getEntriesByType('resource')"
        ".filter(e => e.responseStatus > 0 || e.transferSize > 0).map(e => e.name)"
    )
    assert loaded
    assert all(url.startswith(stack.base) for url in loaded), loaded
