"""The sheet screens over ASGI: fill (pre-filled from the office's last sheet), read, print."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import AsyncIterator

import httpx
import psycopg
import pypdf
import pytest

from shared.sheets.examples import ADMISSION_INFO_EXAMPLE
from tests.factories import Api, admission, event, patient
from tests.integration.ui.test_ui_screens import bare, csrf_of, log_in

pytestmark = pytest.mark.postgres
ADMITTED = "2024-06-03T10:15:00+09:00"


@pytest.fixture
async def browser(client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """Its own cookie jar over the same app, as one person's browser."""
    transport = httpx.ASGITransport(app=client.app)  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


def field_value(html: str, name: str) -> str | None:
    match = re.search(rf'name="{re.escape(name)}"[^>]*value="([^"]*)"', html)
    return None if match is None else match.group(1)


async def _stay(
    api: Api, hospital: str, office: str, h_key: dict[str, str], ref: str, insured: str
) -> str:
    body = admission(hospital, ref, ADMITTED, office) | {"patient": patient(insured)}
    r = await api.post(body, h_key)
    assert r.status_code == 201, r.text
    episode_id: str = r.json()["episode_id"]
    return episode_id


async def test_the_form_is_prefilled_from_the_offices_last_sheet_for_the_same_person(
    api: Api, browser: httpx.AsyncClient, database_url: str
) -> None:
    hospital, office, h_key, o_key = await api.parties()
    insured = f"{uuid.uuid4().int % 10**10:010d}"
    first = await _stay(api, hospital, office, h_key, "A-1", insured)
    earlier = event(
        "admission_info",
        hospital,
        "A-1",
        ADMITTED,
        care_office_id=office,
        channel="fax",
        sheet=ADMISSION_INFO_EXAMPLE,
    )
    assert (await api.post(earlier, o_key)).status_code == 201
    second = await _stay(api, hospital, office, h_key, "A-2", insured)
    await log_in(browser, bare(o_key))
    form = await browser.get(f"/ui/episodes/{second}/sheets/new")
    assert form.status_code == 200
    assert "前回送った入院時情報提供書の内容を入れてあります" in form.text
    assert field_value(form.text, "items.person.name") == "例 太郎"
    assert 'name="items.allergy.details" rows="3">ペニシリン系抗菌薬</textarea>' in form.text
    with psycopg.connect(database_url) as conn:
        read = conn.execute(
            "SELECT organization_id, path FROM access_log WHERE episode_id = %s", (first,)
        ).fetchall()
    assert read == [(office, f"/ui/episodes/{second}/sheets/new")]  # the earlier stay's sheet

    other_office = await api.org("care_office")
    other_key = await api.key(other_office, "care_office")
    assignment = event("care_assignment", hospital, "A-2", ADMITTED, care_office_id=other_office)
    assert (await api.post(assignment, h_key)).status_code == 201
    await log_in(browser, bare(other_key))
    theirs = await browser.get(f"/ui/episodes/{second}/sheets/new")
    assert theirs.status_code == 200
    assert field_value(theirs.text, "items.person.name") == ""
    assert "例 太郎" not in theirs.text


async def test_a_sheet_sent_twice_from_the_form_is_stored_once_and_printed_for_the_hospital(
    api: Api, browser: httpx.AsyncClient
) -> None:
    hospital, office, h_key, o_key = await api.parties()
    episode_id = await _stay(api, hospital, office, h_key, "A-1", "0000123456")
    await log_in(browser, bare(o_key))
    form = await browser.get(f"/ui/episodes/{episode_id}/sheets/new")
    data = {
        "csrf_token": csrf_of(form.text),
        "event_id": field_value(form.text, "event_id") or "",
        "occurred_at": "2024-06-04T09:00",
        "channel": "ict",
        "items.person.name": "例 次郎",
        "items.person.age": "79",
        "items.insurance.care_level": "要介護3",
        "items.home.elevator": "true",
        "items.medical_care.procedures.胃ろう": "on",
        "items.wishes.person": "自宅に帰りたい",
    }
    path = f"/ui/episodes/{episode_id}/sheets/new"
    first, second = await browser.post(path, data=data), await browser.post(path, data=data)
    assert (first.status_code, second.status_code) == (200, 200)
    assert "同じ送信は一度だけ記録されます" in second.text
    listed = (await api.client.get(f"/v1/episodes/{episode_id}/sheets", headers=h_key)).json()
    assert [s["sheet"]["items"] for s in listed["items"]] == [
        {
            "person": {"name": "例 次郎", "age": 79},
            "insurance": {"care_level": "要介護3"},
            "home": {"elevator": True},
            "medical_care": {"procedures": ["胃ろう"]},
            "wishes": {"person": "自宅に帰りたい"},
        }
    ]

    await log_in(browser, bare(h_key))
    stay = await browser.get(f"/ui/episodes/{episode_id}")
    sheet_id = listed["items"][0]["id"]
    assert f"/ui/episodes/{episode_id}/sheets/{sheet_id}.pdf" in stay.text
    page = await browser.get(f"/ui/episodes/{episode_id}/sheets/{sheet_id}")
    assert "例 次郎" in page.text
    assert "自宅に帰りたい" in page.text
    pdf = await browser.get(f"/ui/episodes/{episode_id}/sheets/{sheet_id}.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
    assert [
        t for t in ("入院時情報提供書", "例 次郎", "■要介護3", "■胃ろう") if t not in text
    ] == []

    stranger = await api.key(await api.org("care_office"), "care_office")
    await log_in(browser, bare(stranger))
    for path in (
        f"/ui/episodes/{episode_id}/sheets/{sheet_id}",
        f"/ui/episodes/{episode_id}/sheets/{sheet_id}.pdf",
        f"/ui/episodes/{episode_id}/sheets/new",
    ):
        refused = await browser.get(path)
        assert refused.status_code == 404
        assert "例 次郎" not in refused.text


async def test_a_wrong_item_is_shown_at_its_field_and_nothing_is_stored(
    api: Api, browser: httpx.AsyncClient
) -> None:
    hospital, office, h_key, o_key = await api.parties()
    episode_id = await _stay(api, hospital, office, h_key, "A-1", "0000123456")
    await log_in(browser, bare(o_key))
    form = await browser.get(f"/ui/episodes/{episode_id}/sheets/new")
    data = {
        "csrf_token": csrf_of(form.text),
        "event_id": field_value(form.text, "event_id") or "",
        "occurred_at": "2024-06-04T09:00",
        "channel": "ict",
        "items.person.age": "八十",
    }
    r = await browser.post(f"/ui/episodes/{episode_id}/sheets/new", data=data)
    assert r.status_code == 422
    assert 'id="items-person-age-error"' in r.text
    assert 'value="八十"' in r.text
    listed = (await api.client.get(f"/v1/episodes/{episode_id}/sheets", headers=h_key)).json()
    assert listed["items"] == []


async def test_the_hospital_sends_its_discharge_sheet_from_the_stay_page(
    api: Api, browser: httpx.AsyncClient
) -> None:
    hospital, office, h_key, o_key = await api.parties()
    episode_id = await _stay(api, hospital, office, h_key, "A-1", "0000123456")
    await log_in(browser, bare(h_key))
    stay = await browser.get(f"/ui/episodes/{episode_id}")
    assert "退院・退所情報記録書を作成する" in stay.text
    form = await browser.get(f"/ui/episodes/{episode_id}/sheets/new")
    assert field_value(form.text, "to_org_id") == office
    data = {
        "csrf_token": csrf_of(form.text),
        "event_id": field_value(form.text, "event_id") or "",
        "occurred_at": "2024-06-20T10:00",
        "channel": "ict",
        "to_org_id": office,
        "items.course.course": "抗菌薬で改善",
        "items.adl.moving": "一部介助",
    }
    sent = await browser.post(f"/ui/episodes/{episode_id}/sheets/new", data=data)
    assert sent.status_code == 200, sent.text[:2000]
    listed = (await api.client.get(f"/v1/episodes/{episode_id}/sheets", headers=o_key)).json()
    assert [s["kind"] for s in listed["items"]] == ["discharge_info_sheet"]
    assert listed["items"][0]["sheet"]["items"]["course"] == {"course": "抗菌薬で改善"}
