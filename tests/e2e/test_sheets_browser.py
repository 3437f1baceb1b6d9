"""Sheets in a real headless Chromium against a real uvicorn and PostgreSQL.

A care manager fills the 入院時情報提供書 from the work list and sends it twice (one is stored);
the hospital reads it on the stay's page and downloads the PDF, whose text holds the items; a
care office that is not a party gets 404; the access log names both reads (page and PDF). The
sheet page, the PDF and its first page as PNG (pdftoppm) land in .venv/artifacts/ui/.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pypdf
import pytest

from tests.e2e.test_ui_browser import ARTIFACTS, driver  # noqa: F401 (the module's Chromium)
from tests.privacy import INSURED_NUMBERS
from tests.services import free_port, fresh_database, stop_process_group, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ADMIN_TOKEN = "sheets-e2e-admin-token-0123456789abcdef"
INSURED = "0000246801"
SUBMIT_BY_FETCH = """
const form = document.querySelector('form.sheet');
const done = arguments[arguments.length - 1];
fetch(form.action, {method: 'POST', body: new URLSearchParams(new FormData(form)),
                    credentials: 'same-origin'}).then(r => done(r.status));
"""


@dataclass
class Stack:
    base: str
    client: httpx.Client
    keys: dict[str, str]
    episode_id: str
    database_url: str


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _register(client: httpx.Client, org_id: str, kind: str, role: str) -> str:
    body = {"id": org_id, "kind": kind, "name": f"例 {org_id}", "region": "sheets-e2e"}
    assert client.post("/v1/organizations", json=body, headers=_bearer(ADMIN_TOKEN)).is_success
    r = client.post(
        "/v1/api-keys", json={"organization_id": org_id, "role": role}, headers=_bearer(ADMIN_TOKEN)
    )
    assert r.status_code == 201, r.text
    return str(r.json()["key"])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """uvicorn over a fresh database, its sheet key generated into its own data directory."""
    data_dir = tmp_path_factory.mktemp("sheets-e2e")
    log = data_dir / "api.log"
    port = free_port()
    with fresh_database("handover_sheets") as database_url:
        env = dict(
            os.environ,
            DATABASE_URL=database_url,
            BROKER_URL=database_url,
            HANDOVER_ADMIN_TOKEN=ADMIN_TOKEN,
            HANDOVER_ENV="development",
            HANDOVER_DATA_DIR=str(data_dir),
            HANDOVER_ENQUEUE_ENABLED="false",
        )
        argv = [
            sys.executable,
            "-m",
            "uvicorn",
            "services.api.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        with log.open("ab") as out:
            api = subprocess.Popen(
                argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:

                def up() -> bool:
                    assert api.poll() is None, log.read_text()[-3000:]
                    try:
                        return client.get("/healthz").status_code == 200
                    except httpx.HTTPError:
                        return False

                assert wait_until(up, timeout=30, interval=0.3)
                keys = {
                    "hospital": _register(client, "H-SHEET", "hospital", "hospital"),
                    "office": _register(client, "C-SHEET", "care_office", "care_office"),
                    "stranger": _register(client, "C-OTHER", "care_office", "care_office"),
                }
                INSURED_NUMBERS.add(INSURED)
                admission = {
                    "event_id": str(uuid.uuid4()),
                    "type": "admission",
                    "occurred_at": "2024-06-03T10:15:00+09:00",
                    "hospital_id": "H-SHEET",
                    "encounter_ref": "A-2024-000123",
                    "care_office_id": "C-SHEET",
                    "patient": {"insurer_number": "462010", "insured_number": INSURED},
                    "care_level": "care_2",
                    "ward_type": "general",
                }
                r = client.post("/v1/events", json=admission, headers=_bearer(keys["hospital"]))
                assert r.status_code == 201, r.text
                episode_id = r.json()["episode_id"]
                yield Stack(f"http://127.0.0.1:{port}", client, keys, episode_id, database_url)
        finally:
            stop_process_group(api, timeout=10)


def _login(browser: Any, stack: Stack, key: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.delete_all_cookies()
    browser.get(f"{stack.base}/ui/login")
    # Enter in the key's field submits its own form (the page's first form is a person's sign-in).
    browser.find_element(By.ID, "api_key").send_keys(key, Keys.ENTER)
    assert wait_until(lambda: browser.current_url.rstrip("/").endswith("/ui"), timeout=10)


def _fill(browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    for field_id, text in (
        ("items-person-name", "例 太郎"),
        ("items-person-age", "84"),
        ("items-family_doctor-clinic", "例 内科クリニック"),
        ("items-allergy-details", "ペニシリン系抗菌薬"),
        ("items-wishes-person", "自宅で暮らし続けたい"),
    ):
        browser.find_element(By.ID, field_id).send_keys(text)
    Select(browser.find_element(By.ID, "items-insurance-care_level")).select_by_visible_text(
        "要介護2"
    )
    Select(browser.find_element(By.ID, "items-living-mobility-moving")).select_by_visible_text(
        "見守り"
    )
    browser.find_element(By.NAME, "items.medical_care.procedures.酸素療法").click()


def _sheets(stack: Stack, key: str) -> httpx.Response:
    return stack.client.get(f"/v1/episodes/{stack.episode_id}/sheets", headers=_bearer(key))


def test_a_sheet_goes_from_the_care_manager_to_the_hospital_and_no_one_else(
    stack: Stack,
    driver: Any,  # noqa: F811 (the fixture imported above)
) -> None:
    from selenium.webdriver.common.by import By

    _login(driver, stack, stack.keys["office"])
    driver.get(f"{stack.base}/ui/work")
    driver.find_element(By.LINK_TEXT, "入院時情報提供書を作成").click()
    _fill(driver)
    # A double submit: the filled form is sent once in the background, then by its button.
    assert driver.execute_async_script(SUBMIT_BY_FETCH) == 200
    driver.find_element(By.CSS_SELECTOR, "form.sheet button[type=submit]").click()
    assert "同じ送信は一度だけ記録されます" in driver.find_element(By.ID, "sheet-sent").text
    listed = _sheets(stack, stack.keys["hospital"]).json()["items"]
    assert len(listed) == 1
    sheet_id = listed[0]["id"]

    _login(driver, stack, stack.keys["hospital"])
    driver.get(f"{stack.base}/ui/episodes/{stack.episode_id}")
    driver.find_element(By.LINK_TEXT, "入院時情報提供書").click()
    page = driver.find_element(By.TAG_NAME, "main").text
    assert [
        t for t in ("例 太郎", "要介護2", "ペニシリン系抗菌薬", "酸素療法") if t not in page
    ] == []
    driver.save_screenshot(str(ARTIFACTS / "sheet-admission-info.png"))
    pdf_url = driver.find_element(By.ID, "sheet-pdf").get_attribute("href")
    cookies = {c["name"]: c["value"] for c in driver.get_cookies()}
    pdf = httpx.get(pdf_url, cookies=cookies, timeout=60)
    assert pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
    shown = (
        "入院時情報提供書",
        "例 太郎",
        "■要介護2",
        "ペニシリン系抗菌薬",
        "■酸素療法",
        "例 内科クリニック",
    )
    assert [t for t in shown if t not in text] == []
    _save_pdf_and_png(pdf.content, ARTIFACTS / "sheet-admission-info")

    stranger = _bearer(stack.keys["stranger"])
    assert _sheets(stack, stack.keys["stranger"]).status_code == 404
    pdf_path = f"/v1/episodes/{stack.episode_id}/sheets/{sheet_id}.pdf"
    assert stack.client.get(pdf_path, headers=stranger).status_code == 404
    assert stack.client.get(pdf_path, headers=_bearer(stack.keys["hospital"])).status_code == 200

    with psycopg.connect(stack.database_url) as conn:
        rows = conn.execute(
            "SELECT organization_id, path FROM access_log WHERE episode_id = %s",
            (stack.episode_id,),
        ).fetchall()
    paths = {(org, path) for org, path in rows}
    assert ("H-SHEET", f"/ui/episodes/{stack.episode_id}/sheets/{sheet_id}") in paths
    assert ("H-SHEET", f"/ui/episodes/{stack.episode_id}/sheets/{sheet_id}.pdf") in paths
    assert not [p for p in paths if p[0] == "C-OTHER"]


def _save_pdf_and_png(content: bytes, stem: Path) -> None:
    """The PDF and its first page at 100 dpi (Debian's poppler-utils), for a person to look at."""
    stem.with_suffix(".pdf").write_bytes(content)
    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm missing: apt-get install -y poppler-utils", pytrace=False)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "100",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(stem.with_suffix(".pdf")),
            str(stem),
        ],
        check=True,
    )
    assert stem.with_suffix(".png").stat().st_size > 10_000
