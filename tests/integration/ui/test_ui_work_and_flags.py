"""対応リスト and フラグ on the screens: the API's items with an action each; flags paged,
sorted and filtered; never the text ``None``."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.episodes.recompute import recompute_episode
from shared.models import Flag
from shared.rules.zone import TOKYO
from tests.factories import Api, admission, event, unique
from tests.integration.ui.test_ui_screens import bare, browser, csrf_of, log_in

__all__ = ["browser"]  # the fixture, shared with the other screen tests
pytestmark = pytest.mark.postgres


def _at(days: int) -> str:
    today = datetime.now(UTC).astimezone(TOKYO).replace(hour=10, minute=0, second=0)
    return (today + timedelta(days=days)).replace(microsecond=0).isoformat()


def _date(days: int) -> str:
    return (datetime.now(UTC).astimezone(TOKYO) + timedelta(days=days)).date().isoformat()


def _kinds(html: str) -> list[str]:
    return re.findall(r'<tr class="pending-item" data-kind="([a-z_]+)">', html)


async def test_each_work_item_is_on_the_screen_with_its_action_and_no_none(
    api: Api, browser: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    hospital, office, h_key, c_key = await api.parties()
    owed, missed = unique("OWED-"), unique("MISSED-")
    only_id = {"hospital_patient_id": "P-77"}  # no name, no insured number
    await api.post(
        admission(hospital, owed, _at(-10), office, planned_discharge_date=_date(20))
        | {"patient": only_id},
        h_key,
    )
    posted = await api.post(admission(hospital, missed, _at(-10), office), h_key)
    info = event("admission_info", hospital, missed, _at(-9), care_office_id=office, channel="fax")
    await api.post(info, c_key)
    await api.post(event("discharge", hospital, missed, _at(-1), destination="home"), h_key)
    async with sessions() as session, session.begin():
        await recompute_episode(session, uuid.UUID(posted.json()["episode_id"]), datetime.now(UTC))
    for key, expected in (
        (c_key, ["admission_info", "open_flag", "discharge_planned"]),
        (h_key, ["open_flag", "discharge_coordination"]),
    ):
        api_items = (await api.client.get("/v1/handovers/pending", headers=key)).json()["items"]
        assert [i["kind"] for i in api_items] == expected
        await log_in(browser, bare(key))
        page = await browser.get("/ui/work")
        assert page.status_code == 200
        assert _kinds(page.text) == expected
        assert "None" not in page.text
        flag_id = next(i["flag_id"] for i in api_items if i["kind"] == "open_flag")
        assert f'action="/ui/flags/{flag_id}/acknowledge?from=work"' in page.text
    assert "P-77" in page.text
    assert "入院の詳細を開く" in page.text
    await log_in(browser, bare(c_key))
    page = await browser.get("/ui/work")
    record = f"/ui/record?hospital_id={hospital}&amp;encounter_ref={owed}"
    assert f'href="{record}">入院時情報提供を記録</a>' in page.text
    only_flags = await browser.get("/ui/work", params={"kind": "open_flag"})
    assert _kinds(only_flags.text) == ["open_flag"]
    overdue = await browser.get("/ui/work", params={"overdue": "true"})
    assert _kinds(overdue.text) == ["admission_info", "open_flag"]
    # the hospital acknowledges from its own list: the item leaves both lists
    await log_in(browser, bare(h_key))
    page = await browser.get("/ui/work")
    url = f"/ui/flags/{flag_id}/acknowledge?from=work"
    empty = await browser.post(url, data={"csrf_token": csrf_of(page.text), "note": " "})
    assert empty.status_code == 422
    assert "確認メモを入力してください" in empty.text
    assert _kinds(empty.text)
    done = await browser.post(url, data={"csrf_token": csrf_of(page.text), "note": "電話済"})
    assert done.headers["location"] == "/ui/work?done=1"
    assert _kinds((await browser.get("/ui/work")).text) == ["discharge_coordination"]
    await log_in(browser, bare(c_key))
    assert _kinds((await browser.get("/ui/work")).text) == ["admission_info", "discharge_planned"]


async def test_the_flags_page_is_paged_sorted_and_filtered_by_kind_and_status(
    api: Api,
    browser: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from services.api.ui import flag_pages

    monkeypatch.setattr(flag_pages, "FLAG_PAGE", 2)
    hospital, office, h_key, _ = await api.parties()
    posted = await api.post(admission(hospital, unique("F-"), _at(-10), office), h_key)
    episode_id = uuid.UUID(posted.json()["episode_id"])
    now = datetime.now(UTC)
    kinds = ("missed_discharge_coordination", "admission_info_overdue",
             "discharge_coordination_due", "missed_discharge_coordination")  # fmt: skip
    flags = [
        Flag(episode_id=episode_id, kind=kind, hospital_id=hospital, party_org_id=hospital,
             since=now, raised_at=now - timedelta(minutes=i), detail={})
        for i, kind in enumerate(kinds)
    ]  # fmt: skip
    flags[3].cleared_at, flags[3].cleared_reason = now, "coordination arrived"
    async with sessions() as db, db.begin():
        db.add_all(flags)
    ids = [str(f.id) for f in flags]
    await log_in(browser, bare(h_key))

    def shown(html: str) -> list[str]:
        return re.findall(r'data-flag="([0-9a-f-]{36})"', html)

    first = await browser.get("/ui/flags")
    assert shown(first.text) == ids[:2]
    assert all(f'action="/ui/flags/{i}/acknowledge"' in first.text for i in ids[:2])
    assert first.text.count("入院の詳細を開く") == 2
    assert "None" not in first.text
    link = re.search(r'href="(/ui/flags\?cursor=[^"]+)" rel="next">次へ</a>', first.text)
    assert link
    second = await browser.get(link.group(1).replace("&amp;", "&"))
    assert shown(second.text) == [ids[2]]
    oldest = await browser.get("/ui/flags", params={"order": "oldest", "status": "all"})
    assert shown(oldest.text) == [ids[3], ids[2]]
    link = re.search(r'href="(/ui/flags\?[^"]+)" rel="next">次へ</a>', oldest.text)
    assert link
    assert "order=oldest" in link.group(1)
    assert "status=all" in link.group(1)
    rest = await browser.get(link.group(1).replace("&amp;", "&"))
    assert shown(rest.text) == [ids[1], ids[0]]
    cleared = await browser.get("/ui/flags", params={"status": "cleared"})
    assert shown(cleared.text) == [ids[3]]
    assert "/acknowledge" not in cleared.text
    assert "解消" in cleared.text
    missed = await browser.get(
        "/ui/flags", params={"status": "all", "kind": "missed_discharge_coordination"}
    )
    assert shown(missed.text) == [ids[0], ids[3]]
    # acknowledging on a filtered page returns to that page
    form = re.search(rf'action="(/ui/flags/{ids[0]}/acknowledge[^"]*)"', missed.text)
    assert form
    assert "kind=missed_discharge_coordination" in form.group(1)
    done = await browser.post(
        form.group(1).replace("&amp;", "&"), data={"csrf_token": csrf_of(missed.text), "note": "済"}
    )
    assert done.headers["location"].startswith("/ui/flags?done=1&")
    assert "kind=missed_discharge_coordination" in done.headers["location"]


async def test_the_stays_open_flags_have_an_action_and_absent_fields_no_none(
    api: Api, browser: httpx.AsyncClient
) -> None:
    hospital, office, h_key, c_key = await api.parties()
    ref = unique("EP-")
    body = admission(hospital, ref, _at(-10), office) | {"patient": {"hospital_patient_id": "P-9"}}
    episode_id = (await api.post(body, h_key)).json()["episode_id"]
    await log_in(browser, bare(c_key))
    page = await browser.get(f"/ui/episodes/{episode_id}")
    assert page.status_code == 200
    assert '<li class="open-flag" data-kind="admission_info_overdue">' in page.text
    record = f"/ui/record?hospital_id={hospital}&amp;encounter_ref={ref}"
    assert f'href="{record}">入院時情報提供を記録</a>' in page.text
    assert "P-9" in page.text
    assert "None" not in page.text
    await log_in(browser, bare(h_key))
    page = await browser.get(f"/ui/episodes/{episode_id}")
    assert 'href="/ui/flags?kind=admission_info_overdue">フラグを確認する</a>' in page.text
    assert "None" not in page.text
