"""GET /v1/access-log and /ui/access-log: the operator reads who was shown which episode."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from shared.rules.zone import TOKYO
from tests.factories import ADMIN_TOKEN, Api, admin_headers, admission
from tests.privacy import INSURED_NUMBERS

pytestmark = pytest.mark.postgres
FIELDS = {"at", "actor_type", "actor_id", "organization_id", "episode_id", "path", "address"}
BOM = "\ufeff"


async def _read_twice(api: Api) -> tuple[str, str, list[str], str]:
    """A hospital whose key read two stays (one of them twice): its id, key id and stays."""
    hospital, office = await api.org("hospital"), await api.org("care_office")
    made = await api.client.post(
        "/v1/api-keys", json={"organization_id": hospital, "role": "hospital"},
        headers=admin_headers(),
    )  # fmt: skip
    key = {"Authorization": f"Bearer {made.json()['key']}"}
    episodes = []
    for ref in ("L-1", "L-2"):
        posted = await api.post(admission(hospital, ref, "2024-06-03T10:00:00+09:00", office), key)
        episodes.append(posted.json()["episode_id"])
    for episode_id in (episodes[0], episodes[1], episodes[0]):
        assert (await api.client.get(f"/v1/episodes/{episode_id}", headers=key)).status_code == 200
    return hospital, made.json()["id"], episodes, made.json()["key"]


async def _log(api: Api, **params: str) -> httpx.Response:
    return await api.client.get("/v1/access-log", params=params, headers=admin_headers())


async def test_the_admin_reads_each_episode_shown_to_an_organization_newest_first(
    api: Api,
) -> None:
    hospital, key_id, episodes, _ = await _read_twice(api)
    r = await _log(api, organization_id=hospital)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert r.json()["next_cursor"] is None
    assert [i["episode_id"] for i in items] == [episodes[0], episodes[1], episodes[0]]
    assert all(set(i) == FIELDS for i in items)
    assert {(i["actor_type"], i["actor_id"], i["organization_id"]) for i in items} == {
        ("api_key", key_id, hospital)
    }
    assert [i["path"] for i in items] == [
        f"/v1/episodes/{e}" for e in (episodes[0], episodes[1], episodes[0])
    ]
    assert all(i["at"].endswith("+09:00") and i["address"] for i in items)
    assert not any(number in r.text for number in INSURED_NUMBERS)  # ids only


async def test_pages_filters_and_bounds_like_every_list(api: Api) -> None:
    hospital, _, episodes, _ = await _read_twice(api)
    seen, cursor = [], ""  # an empty cursor is the first page
    while cursor is not None:
        page = (await _log(api, organization_id=hospital, limit="2", cursor=cursor)).json()
        assert len(page["items"]) <= 2
        seen += [i["episode_id"] for i in page["items"]]
        cursor = page["next_cursor"]
    assert seen == [episodes[0], episodes[1], episodes[0]]
    one = (await _log(api, episode_id=episodes[1])).json()["items"]
    assert [i["episode_id"] for i in one] == [episodes[1]]
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert (await _log(api, organization_id=hospital, since=later)).json()["items"] == []
    now = (datetime.now(UTC) + timedelta(seconds=5)).isoformat()
    assert len((await _log(api, organization_id=hospital, until=now)).json()["items"]) == 3
    backwards = {"since": "2024-06-02T00:00:00+09:00", "until": "2024-06-01T00:00:00+09:00"}
    for params in ({"since": "2024-06-03T10:00:00"}, {"until": "1999-12-31T23:59:59+09:00"},
                   {"organization_id": "not an id"}, {"episode_id": "x"}, {"limit": "1001"},
                   {"format": "xml"}, backwards):  # fmt: skip
        r = await _log(api, **params)
        assert r.status_code == 422, params
        assert r.headers["content-type"] == "application/problem+json"


async def test_only_the_admin_key_reads_it(api: Api) -> None:
    hospital, _, _, key = await _read_twice(api)
    r = await api.client.get("/v1/access-log", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 403
    assert hospital not in r.text
    assert (await api.client.get("/v1/access-log")).status_code == 401


def _csv_rows(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == 'attachment; filename="access-log.csv"'
    text = response.content.decode("utf-8")
    assert text.startswith(BOM)
    assert "\r\n" in text
    return list(csv.DictReader(io.StringIO(text.removeprefix(BOM))))


async def test_csv_has_every_matching_entry_with_the_json_fields(api: Api) -> None:
    hospital, key_id, episodes, _ = await _read_twice(api)
    by_format = _csv_rows(await _log(api, organization_id=hospital, format="csv", limit="1"))
    by_accept = _csv_rows(
        await api.client.get(
            "/v1/access-log",
            params={"organization_id": hospital},
            headers={**admin_headers(), "Accept": "text/csv"},
        )
    )
    assert by_format == by_accept
    assert [row["episode_id"] for row in by_format] == [episodes[0], episodes[1], episodes[0]]
    assert list(by_format[0]) == ["at", "actor_type", "actor_id", "organization_id",
                                  "episode_id", "path", "address"]  # fmt: skip
    assert {row["actor_id"] for row in by_format} == {key_id}
    json_items = (await _log(api, organization_id=hospital)).json()["items"]
    assert [row["at"] for row in by_format] == [i["at"] for i in json_items]


async def test_the_admin_tokens_reads_are_logged_without_an_id(api: Api) -> None:
    _, _, episodes, _ = await _read_twice(api)
    assert (await api.client.get(f"/v1/episodes/{episodes[1]}", headers=admin_headers())).is_success
    items = (await _log(api, episode_id=episodes[1])).json()["items"]
    newest = items[0]
    assert (newest["actor_type"], newest["actor_id"], newest["organization_id"]) == (
        "api_key", None, None
    )  # fmt: skip


@pytest.fixture
async def browser(client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=client.app)  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def _log_in(browser: httpx.AsyncClient, key: str) -> None:
    form = await browser.get("/ui/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    done = await browser.post("/ui/login", data={"api_key": key, "csrf_token": token.group(1)})
    assert done.status_code == 303


async def test_the_operator_reads_the_log_on_the_screens_and_downloads_it(
    api: Api, browser: httpx.AsyncClient
) -> None:
    hospital, key_id, episodes, _ = await _read_twice(api)
    await _log_in(browser, ADMIN_TOKEN)
    assert 'href="/ui/access-log"' in (await browser.get("/ui/")).text
    page = await browser.get("/ui/access-log", params={"organization_id": hospital})
    assert page.status_code == 200
    assert "<h1>アクセスログ</h1>" in page.text
    cells = re.findall(r'<td><span class="code">([0-9a-f-]{36})</span></td>', page.text)
    assert cells == [episodes[0], episodes[1], episodes[0]]  # one row per episode shown
    assert key_id in page.text
    assert f"/v1/episodes/{episodes[1]}" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    one_day = await browser.get(
        "/ui/access-log", params={"episode_id": episodes[1], "since": "2024-06-01",
                                  "until": datetime.now(TOKYO).date().isoformat()},
    )  # fmt: skip
    assert episodes[1] in one_day.text
    assert episodes[0] not in one_day.text
    download = await browser.get("/ui/access-log.csv", params={"organization_id": hospital})
    assert [row["episode_id"] for row in _csv_rows(download)] == [
        episodes[0],
        episodes[1],
        episodes[0],
    ]


async def test_a_bad_filter_is_a_japanese_message_and_other_roles_are_refused(
    api: Api, browser: httpx.AsyncClient
) -> None:
    _, _, _, key = await _read_twice(api)
    await _log_in(browser, ADMIN_TOKEN)
    bad = await browser.get("/ui/access-log", params={"since": "2024-02-30", "episode_id": "x"})
    assert bad.status_code == 422
    assert "開始日を確認してください" in bad.text
    assert "入院IDを確認してください" in bad.text
    assert 'aria-invalid="true"' in bad.text
    backwards = await browser.get(
        "/ui/access-log", params={"since": "2024-06-02", "until": "2024-06-01"}
    )
    assert backwards.status_code == 422
    assert "終了日は開始日と同じか" in backwards.text
    assert (
        await browser.get("/ui/access-log.csv", params={"until": "1999-01-01"})
    ).status_code == 422
    browser.cookies.clear()
    await _log_in(browser, key)
    for path in ("/ui/access-log", "/ui/access-log.csv"):
        refused = await browser.get(path)
        assert refused.status_code == 403
        assert str(uuid.UUID(int=0)) not in refused.text
    assert 'href="/ui/access-log"' not in (await browser.get("/ui/work")).text
