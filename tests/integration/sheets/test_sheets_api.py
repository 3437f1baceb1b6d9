"""Sheets carried by events: posted once, read by the stay's parties only, never in clear."""

from __future__ import annotations

import copy
import io
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
import pypdf
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.episodes.recompute import recompute_episodes
from shared.sheets.examples import ADMISSION_INFO_EXAMPLE, DISCHARGE_INFO_EXAMPLE
from tests.factories import Api, admin_headers, admission, event
from tests.webhook_receiver import subscribe

pytestmark = pytest.mark.postgres

ADMITTED = "2024-06-03T10:15:00+09:00"
INFO_AT = "2024-06-04T09:00:00+09:00"
CLEAR_TEXTS = ("例 太郎", "レイ タロウ", "ペニシリン", "園芸", "誤嚥性肺炎")


async def _stay(api: Api) -> tuple[str, str, dict[str, str], dict[str, str], str]:
    hospital, office, h_key, o_key = await api.parties()
    r = await api.post(admission(hospital, "A-1", ADMITTED, office), h_key)
    assert r.status_code == 201, r.text
    return hospital, office, h_key, o_key, r.json()["episode_id"]


def _info(hospital: str, office: str, sheet: dict[str, Any] | None) -> dict[str, Any]:
    body = event("admission_info", hospital, "A-1", INFO_AT, care_office_id=office, channel="ict")
    return body if sheet is None else {**body, "sheet": sheet}


async def test_the_same_sheet_twice_is_one_sheet_and_another_sheet_a_conflict(api: Api) -> None:
    hospital, office, h_key, o_key, episode_id = await _stay(api)
    body = _info(hospital, office, ADMISSION_INFO_EXAMPLE)
    first = await api.post(body, o_key)
    again = await api.post(copy.deepcopy(body), o_key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["duplicate"] is True
    other = copy.deepcopy(body)
    other["sheet"]["items"]["allergy"]["details"] = "なし"
    conflict = await api.post(other, o_key)
    assert conflict.status_code == 409
    assert "ペニシリン" not in conflict.text
    sheets = (await api.client.get(f"/v1/episodes/{episode_id}/sheets", headers=h_key)).json()
    assert [s["sheet"] for s in sheets["items"]] == [ADMISSION_INFO_EXAMPLE]
    assert sheets["items"][0]["posted_by"] == office
    assert sheets["items"][0]["cancelled"] is False


async def test_null_items_are_dropped_and_the_episode_says_only_has_sheet(api: Api) -> None:
    hospital, office, h_key, o_key, episode_id = await _stay(api)
    sheet = {
        "kind": "admission_info_sheet",
        "version": 1,
        "items": {"person": {"name": "例 太郎", "phone": None}, "services": None},
    }
    assert (await api.post(_info(hospital, office, sheet), o_key)).status_code == 201
    listed = (await api.client.get(f"/v1/episodes/{episode_id}/sheets", headers=o_key)).json()
    assert listed["items"][0]["sheet"]["items"] == {"person": {"name": "例 太郎"}}
    episode = (await api.client.get(f"/v1/episodes/{episode_id}", headers=h_key)).json()
    info = next(e for e in episode["events"] if e["type"] == "admission_info")
    assert info["has_sheet"] is True
    assert "sheet" not in info["body"]
    assert "例 太郎" not in json.dumps(episode, ensure_ascii=False)
    admitted = next(e for e in episode["events"] if e["type"] == "admission")
    assert admitted["has_sheet"] is False


@pytest.mark.parametrize(
    ("sheet", "loc"),
    [
        ({"kind": "nursing_summary", "version": 1, "items": {}}, ["body", "sheet", "kind"]),
        ({"kind": "discharge_info_sheet", "version": 1, "items": {}}, ["body", "sheet", "kind"]),
        (
            {"kind": "admission_info_sheet", "version": 1, "items": {"favourite_food": "寿司"}},
            ["body", "sheet", "items", "favourite_food"],
        ),
        (
            {"kind": "admission_info_sheet", "version": 1, "items": {"person": {"age": "八十四"}}},
            ["body", "sheet", "items", "person", "age"],
        ),
        ({"kind": "admission_info_sheet", "version": 2, "items": {}}, ["body", "sheet", "version"]),
    ],
)
async def test_a_bad_sheet_is_422_naming_the_item_and_stores_nothing(
    api: Api, sheet: dict[str, Any], loc: list[str]
) -> None:
    hospital, office, h_key, o_key, episode_id = await _stay(api)
    r = await api.post(_info(hospital, office, sheet), o_key)
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["errors"]] == [loc]
    assert not [text for text in ("寿司", "八十四") if text in r.text]
    episode = (await api.client.get(f"/v1/episodes/{episode_id}", headers=h_key)).json()
    assert [e["type"] for e in episode["events"]] == ["admission"]


async def test_a_sheet_on_an_event_that_carries_none_is_422(api: Api) -> None:
    hospital, _, h_key, _, _ = await _stay(api)
    body = event(
        "discharge_planned",
        hospital,
        "A-1",
        INFO_AT,
        planned_discharge_date="2024-06-28",
        sheet=DISCHARGE_INFO_EXAMPLE,
    )
    r = await api.post(body, h_key)
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "sheet"]


async def test_only_parties_read_sheets_and_pdfs_viewers_are_refused(api: Api) -> None:
    hospital, office, h_key, o_key, episode_id = await _stay(api)
    conference = event(
        "discharge_conference",
        hospital,
        "A-1",
        INFO_AT,
        participant_org_ids=[office],
        sheet=DISCHARGE_INFO_EXAMPLE,
    )
    assert (await api.post(conference, h_key)).status_code == 201
    listed = (await api.client.get(f"/v1/episodes/{episode_id}/sheets", headers=o_key)).json()
    sheet_id = listed["items"][0]["id"]
    pdf_path = f"/v1/episodes/{episode_id}/sheets/{sheet_id}.pdf"
    pdf = await api.client.get(pdf_path, headers=o_key)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    page = pypdf.PdfReader(io.BytesIO(pdf.content)).pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
    shown = (
        "退院・退所情報記録書",
        "誤嚥性肺炎",
        "訪問看護 週2回",
        "■ポータブルトイレ",
        "禁忌事項",
    )
    assert [t for t in shown if t not in text] == []
    stranger = await api.key(await api.org("care_office"), "care_office")
    viewer = await api.key(await api.org("municipality"), "viewer")
    for path in (f"/v1/episodes/{episode_id}/sheets", pdf_path):
        assert (await api.client.get(path, headers=stranger)).status_code == 404
        assert (await api.client.get(path, headers=viewer)).status_code == 403
    assert (await api.client.get(pdf_path, headers=admin_headers())).status_code == 200


async def test_the_tables_hold_no_sheet_text_in_clear(api: Api, database_url: str) -> None:
    hospital, office, _, o_key, episode_id = await _stay(api)
    assert (
        await api.post(_info(hospital, office, ADMISSION_INFO_EXAMPLE), o_key)
    ).status_code == 201
    with psycopg.connect(database_url) as conn:
        sheets = conn.execute(
            "SELECT kind, sealed FROM event_sheets WHERE episode_id = %s", (episode_id,)
        ).fetchall()
        bodies = conn.execute(
            "SELECT body::text FROM events WHERE episode_id = %s", (episode_id,)
        ).fetchall()
    assert [kind for kind, _ in sheets] == ["admission_info_sheet"]
    stored = json.dumps([list(r) for r in [*sheets, *bodies]], ensure_ascii=False)
    assert not [text for text in CLEAR_TEXTS if text in stored]
    assert "例" not in sheets[0][1]


async def test_a_webhook_says_has_sheet_and_nothing_of_the_sheet(
    api: Api, database_url: str
) -> None:
    hospital, office, h_key, o_key, _ = await _stay(api)
    hook = await subscribe(api, h_key, "https://hooks.example.com/h", ["episode.admission_info"])
    body = _info(hospital, office, ADMISSION_INFO_EXAMPLE)
    assert (await api.post(body, o_key)).status_code == 201
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT payload FROM webhook_deliveries WHERE webhook_id = %s", (hook["id"],)
        ).fetchall()
    payloads = [row[0] for row in rows]
    assert [p["data"]["has_sheet"] for p in payloads] == [True]
    assert not [t for t in CLEAR_TEXTS if t in json.dumps(payloads, ensure_ascii=False)]


async def test_an_admission_info_counts_the_same_with_or_without_a_sheet(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    hospital, office, h_key, o_key = await api.parties()
    folds, ids = [], []
    for ref, sheet in (("A-1", ADMISSION_INFO_EXAMPLE), ("A-2", None)):
        stay = (await api.post(admission(hospital, ref, ADMITTED, office), h_key)).json()
        info = {**_info(hospital, office, sheet), "encounter_ref": ref}
        assert (await api.post(info, o_key)).status_code == 201
        episode = (await api.client.get(f"/v1/episodes/{stay['episode_id']}", headers=h_key)).json()
        folds.append(
            {
                k: episode[k]
                for k in ("admission_info_at", "admission_info_on_time", "eligible", "flags")
            }
        )
        ids.append(uuid.UUID(stay["episode_id"]))
    assert folds[0] == folds[1]
    async with sessions() as session, session.begin():
        assert await recompute_episodes(session, ids, datetime.now(UTC)) == 2
    r = await api.client.get("/v1/metrics", params={"month": "2024-06"}, headers=h_key)
    total = r.json()["total"]
    counted = ("admissions_with_care_manager", "admission_info_provided", "admission_info_on_time")
    assert [total[k] for k in counted] == [2, 2, 2]
    assert "例 太郎" not in r.text


async def test_every_read_of_a_sheet_is_in_the_access_log_and_a_refused_one_is_not(
    api: Api, database_url: str
) -> None:
    hospital, office, h_key, o_key, episode_id = await _stay(api)
    assert (
        await api.post(_info(hospital, office, ADMISSION_INFO_EXAMPLE), o_key)
    ).status_code == 201
    listing = f"/v1/episodes/{episode_id}/sheets"
    sheet_id = (await api.client.get(listing, headers=h_key)).json()["items"][0]["id"]
    pdf_path = f"{listing}/{sheet_id}.pdf"
    assert (await api.client.get(pdf_path, headers=o_key)).status_code == 200
    stranger = await api.org("care_office")
    assert (
        await api.client.get(pdf_path, headers=await api.key(stranger, "care_office"))
    ).status_code == 404
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT organization_id, path, actor_type FROM access_log WHERE episode_id = %s"
            " AND path LIKE %s ORDER BY id",
            (episode_id, "%/sheets%"),
        ).fetchall()
    assert rows == [(hospital, listing, "api_key"), (office, pdf_path, "api_key")]


async def test_a_cancelled_sheet_is_still_listed_marked_cancelled_and_printed_so(api: Api) -> None:
    hospital, office, h_key, o_key, episode_id = await _stay(api)
    info = _info(hospital, office, ADMISSION_INFO_EXAMPLE)
    assert (await api.post(info, o_key)).status_code == 201
    cancel = event("cancel", hospital, "A-1", INFO_AT, cancels_event_id=info["event_id"])
    assert (await api.post(cancel, o_key)).status_code == 201
    listed = (await api.client.get(f"/v1/episodes/{episode_id}/sheets", headers=h_key)).json()
    assert [s["cancelled"] for s in listed["items"]] == [True]
    pdf = await api.client.get(
        f"/v1/episodes/{episode_id}/sheets/{listed['items'][0]['id']}.pdf", headers=h_key
    )
    first_page = pypdf.PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert "入院時情報提供書（取消済み）" in first_page


async def test_two_posters_may_use_one_event_id_each_with_its_own_sheet(api: Api) -> None:
    """An event is (poster, event_id): the hospital's and the office's sheets stay apart."""
    hospital, office, h_key, o_key, episode_id = await _stay(api)
    shared_id = str(uuid.uuid4())
    info = {**_info(hospital, office, ADMISSION_INFO_EXAMPLE), "event_id": shared_id}
    coordination = {
        **event("discharge_coordination", hospital, "A-1", "2024-06-10T10:00:00+09:00",
                to_org_id=office, channel="phone"),
        "event_id": shared_id,
        "sheet": DISCHARGE_INFO_EXAMPLE,
    }  # fmt: skip
    assert (await api.post(info, o_key)).status_code == 201
    assert (await api.post(coordination, h_key)).status_code == 201
    assert (await api.post(copy.deepcopy(coordination), h_key)).json()["duplicate"] is True
    listed = (await api.client.get(f"/v1/episodes/{episode_id}/sheets", headers=h_key)).json()
    assert sorted((s["posted_by"], s["kind"]) for s in listed["items"]) == sorted(
        [(office, "admission_info_sheet"), (hospital, "discharge_info_sheet")]
    )
    episode = (await api.client.get(f"/v1/episodes/{episode_id}", headers=h_key)).json()
    carried = {(e["posted_by"], e["type"]) for e in episode["events"] if e["has_sheet"]}
    assert carried == {(office, "admission_info"), (hospital, "discharge_coordination")}
