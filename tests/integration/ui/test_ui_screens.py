"""The screens over ASGI: sessions, CSRF, CSP, escaping and the form's idempotent recording."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api.app import create_app
from services.api.ui.session import COOKIE, MAX_AGE_S, Signer, UiSession
from shared.core.settings import Settings
from shared.models import BrowserSession, Flag
from shared.rules.zone import TOKYO
from tests.factories import ADMIN_TOKEN, Api, admin_headers, admission, unique

pytestmark = pytest.mark.postgres

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
HANDLER_ATTR = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


@pytest.fixture
async def browser(client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """Its own cookie jar over the same app, as one person's browser."""
    transport = httpx.ASGITransport(app=client.app)  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


async def log_in(browser: httpx.AsyncClient, key: str) -> httpx.Response:
    browser.cookies.clear()  # a new person at the same browser
    form = await browser.get("/ui/login")
    return await browser.post("/ui/login", data={"api_key": key, "csrf_token": csrf_of(form.text)})


def bare(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def assert_safe_page(response: httpx.Response) -> None:
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert not INLINE_SCRIPT.search(response.text), "inline <script> on the page"
    assert not HANDLER_ATTR.search(response.text), "an on* handler on the page"


async def test_root_redirects_to_the_screens(browser: httpx.AsyncClient) -> None:
    r = await browser.get("/")
    assert r.status_code == 307
    assert r.headers["location"] == "/ui/"


async def test_screens_without_a_session_redirect_to_login(browser: httpx.AsyncClient) -> None:
    for path in ("/ui/", "/ui/work", "/ui/flags", "/ui/record", "/ui/survey/2024-06.csv"):
        r = await browser.get(path)
        assert (r.status_code, r.headers["location"]) == (303, "/ui/login"), path


async def test_login_page_has_a_labelled_key_field_and_no_inline_script(
    browser: httpx.AsyncClient,
) -> None:
    r = await browser.get("/ui/login")
    assert r.status_code == 200
    assert_safe_page(r)
    assert '<label for="api_key">APIキー</label>' in r.text
    assert 'name="api_key"' in r.text
    assert 'lang="ja"' in r.text


async def test_login_sets_an_httponly_samesite_cookie_for_eight_hours(
    api: Api, browser: httpx.AsyncClient
) -> None:
    viewer = await api.org("region")
    r = await log_in(browser, bare(await api.key(viewer, "viewer")))
    assert r.status_code == 303
    assert r.headers["location"] == "/ui/"
    cookie = r.headers["set-cookie"]
    assert f"{COOKIE}=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert f"Max-Age={MAX_AGE_S}" in cookie
    assert "Path=/ui" in cookie
    assert "Secure" not in cookie  # development; production below
    page = await browser.get("/ui/")
    assert page.status_code == 200
    assert "地域ダッシュボード" in page.text
    assert_safe_page(page)


async def test_a_wrong_key_is_refused_in_japanese(browser: httpx.AsyncClient) -> None:
    r = await log_in(browser, "hov_000000000000_not-a-key")
    assert r.status_code == 401
    assert "APIキーが正しくないか、失効しています。" in r.text
    assert (await browser.get("/ui/")).status_code == 303


async def test_login_without_the_csrf_token_is_refused(
    api: Api, browser: httpx.AsyncClient
) -> None:
    viewer = await api.org("region")
    await browser.get("/ui/login")
    r = await browser.post("/ui/login", data={"api_key": bare(await api.key(viewer, "viewer"))})
    assert r.status_code == 403
    assert (await browser.get("/ui/")).status_code == 303


async def test_logout_ends_the_session(api: Api, browser: httpx.AsyncClient) -> None:
    viewer = await api.org("region")
    await log_in(browser, bare(await api.key(viewer, "viewer")))
    page = await browser.get("/ui/")
    r = await browser.post("/ui/logout", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 303
    assert r.headers["location"] == "/ui/login"
    assert (await browser.get("/ui/")).status_code == 303


async def test_logout_ends_the_session_on_the_server_so_a_copied_cookie_is_refused(
    api: Api, browser: httpx.AsyncClient
) -> None:
    viewer = await api.org("region")
    await log_in(browser, bare(await api.key(viewer, "viewer")))
    copied = browser.cookies[COOKIE]
    page = await browser.get("/ui/")
    assert page.status_code == 200
    await browser.post("/ui/logout", data={"csrf_token": csrf_of(page.text)})
    browser.cookies.clear()
    replayed = await browser.get("/ui/", headers={"Cookie": f"{COOKIE}={copied}"})
    assert (replayed.status_code, replayed.headers["location"]) == (303, "/ui/login")
    form = await browser.get("/ui/login", headers={"Cookie": f"{COOKIE}={copied}"})
    assert form.status_code == 200  # the login form again, not a redirect into the screens


async def test_logging_in_again_ends_the_previous_session(
    api: Api, browser: httpx.AsyncClient
) -> None:
    viewer = await api.org("region")
    key = bare(await api.key(viewer, "viewer"))
    await log_in(browser, key)
    first = browser.cookies[COOKIE]
    page = await browser.get("/ui/")
    again = await browser.post("/ui/login", data={"api_key": key, "csrf_token": csrf_of(page.text)})
    assert again.status_code == 303
    assert browser.cookies[COOKIE] != first
    assert (await browser.get("/ui/")).status_code == 200
    browser.cookies.clear()
    replayed = await browser.get("/ui/", headers={"Cookie": f"{COOKIE}={first}"})
    assert replayed.status_code == 303


async def test_a_session_past_its_eight_hours_on_the_server_is_refused_and_purged(
    api: Api,
    browser: httpx.AsyncClient,
    client: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    viewer = await api.org("region")
    key = bare(await api.key(viewer, "viewer"))
    await log_in(browser, key)
    assert (await browser.get("/ui/")).status_code == 200
    signer: Signer = client.app.state.ui_signer  # type: ignore[attr-defined]
    live = signer.loads(browser.cookies[COOKIE], time.time())
    assert live is not None
    assert live.id is not None
    past = datetime.now(UTC) - timedelta(seconds=1)
    async with sessions() as db, db.begin():
        await db.execute(
            update(BrowserSession).where(BrowserSession.id == live.id).values(expires_at=past)
        )
    r = await browser.get("/ui/")
    assert (r.status_code, r.headers["location"]) == (303, "/ui/login")
    await log_in(browser, key)  # a login purges the rows past their 8 hours
    async with sessions() as db:
        assert await db.get(BrowserSession, live.id) is None


async def test_revoking_the_key_ends_its_sessions_at_once(
    api: Api, browser: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    viewer = await api.org("region")
    created = await client.post(
        "/v1/api-keys", json={"organization_id": viewer, "role": "viewer"}, headers=admin_headers()
    )
    await log_in(browser, created.json()["key"])
    assert (await browser.get("/ui/")).status_code == 200
    revoked = await client.delete(f"/v1/api-keys/{created.json()['id']}", headers=admin_headers())
    assert revoked.status_code == 204
    r = await browser.get("/ui/")
    assert r.status_code == 303
    assert r.headers["location"] == "/ui/login"


async def test_a_session_older_than_eight_hours_or_tampered_is_refused(
    api: Api, browser: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    viewer = await api.org("region")
    await log_in(browser, bare(await api.key(viewer, "viewer")))
    signer: Signer = client.app.state.ui_signer  # type: ignore[attr-defined]
    live = signer.loads(browser.cookies[COOKIE], time.time())
    assert live is not None
    browser.cookies.clear()

    async def status_with(value: str) -> int:
        return (await browser.get("/ui/", headers={"Cookie": f"{COOKIE}={value}"})).status_code

    old = replace(live, issued_at=int(time.time()) - MAX_AGE_S - 1)
    assert await status_with(signer.dumps(old)) == 303
    assert await status_with(signer.dumps(live)[:-2] + "AA") == 303
    assert await status_with(signer.dumps(live)) == 200


async def test_the_cookie_is_secure_in_production(settings: Settings) -> None:
    secrets = {"session_secret": SecretStr("s" * 32), "webhook_key": SecretStr("w" * 32)}
    production = {"env": "production", **secrets}
    app = create_app(settings.model_copy(update=production))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://test") as c:
            r = await c.get("/ui/login")
    assert "Secure" in r.headers["set-cookie"]


async def test_pages_escape_what_they_show(api: Api, browser: httpx.AsyncClient) -> None:
    office = unique("C")
    r = await api.client.post(
        "/v1/organizations",
        json={
            "id": office,
            "kind": "care_office",
            "name": '<img src=x onerror="alert(1)">',
            "region": api.region,
        },
        headers=admin_headers(),
    )
    assert r.status_code == 201, r.text
    await log_in(browser, bare(await api.key(office, "care_office")))
    page = await browser.get("/ui/record", params={"encounter_ref": '"><script>x</script>'})
    assert page.status_code == 200
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page.text
    assert "&#34;&gt;&lt;script&gt;x&lt;/script&gt;" in page.text
    assert_safe_page(page)


async def test_forms_without_the_csrf_token_are_refused(
    api: Api, browser: httpx.AsyncClient
) -> None:
    hospital, _office, _, office_key = await api.parties()
    await log_in(browser, bare(office_key))
    r = await browser.post(
        "/ui/record/admission_info",
        data={
            "event_id": str(uuid.uuid4()),
            "hospital_id": hospital,
            "encounter_ref": "X",
            "occurred_at": "2024-06-03T10:00",
            "channel": "fax",
        },
    )
    assert r.status_code == 403
    assert "画面を開き直してください" in r.text


async def test_admission_info_form_records_once_on_double_submit(
    api: Api, browser: httpx.AsyncClient
) -> None:
    hospital, office, hospital_key, office_key = await api.parties()
    ref = unique("A-")
    assert (await api.post(admission(hospital, ref, "2024-06-03T10:00:00+09:00", office),
                           hospital_key)).status_code == 201  # fmt: skip
    await log_in(browser, bare(office_key))
    page = await browser.get("/ui/record", params={"hospital_id": hospital, "encounter_ref": ref})
    event_id = re.search(r'name="event_id" value="([^"]+)"', page.text)
    assert event_id is not None
    form = {"csrf_token": csrf_of(page.text), "event_id": event_id.group(1),
            "hospital_id": hospital, "encounter_ref": ref, "occurred_at": "2024-06-04T09:30",
            "channel": "fax", "care_office_id": office}  # fmt: skip
    first = await browser.post("/ui/record/admission_info", data=form)
    second = await browser.post("/ui/record/admission_info", data=form)
    assert first.status_code == 200
    assert "記録しました" in first.text
    assert second.status_code == 200
    assert "一度だけ記録されます" in second.text
    episode = await api.client.get(
        "/v1/episodes", params={"hospital_id": hospital, "encounter_ref": ref}, headers=office_key
    )
    infos = [e for e in episode.json()["events"] if e["type"] == "admission_info"]
    assert [e["event_id"] for e in infos] == [event_id.group(1)]
    stored = datetime.fromisoformat(infos[0]["occurred_at"].replace("Z", "+00:00"))
    assert stored == datetime(2024, 6, 4, 9, 30, tzinfo=TOKYO)  # the form's time is Tokyo time
    trail = await api.client.get(
        "/v1/audit", params={"organization_id": office, "action": "post_event"},
        headers=admin_headers(),
    )  # fmt: skip
    assert [(e["detail"]["outcome"], e["detail"]["via"]) for e in trail.json()["items"]] == [
        ("duplicate", "ui"), ("created", "ui"),
    ]  # newest first; both submits audited as the screen's  # fmt: skip


async def test_form_errors_are_shown_next_to_the_field_in_japanese(
    api: Api, browser: httpx.AsyncClient
) -> None:
    _, _, _, office_key = await api.parties()
    await log_in(browser, bare(office_key))
    page = await browser.get("/ui/record")
    r = await browser.post(
        "/ui/record/admission_info",
        data={
            "csrf_token": csrf_of(page.text),
            "event_id": str(uuid.uuid4()),
            "hospital_id": "NOPE-unknown",
            "encounter_ref": "A-1",
            "occurred_at": "2024-06-04T09:30",
            "channel": "fax",
        },
    )
    assert r.status_code == 422
    assert 'id="admission_info-hospital_id-error"' in r.text
    assert "医療機関コードを確認してください" in r.text
    assert 'value="NOPE-unknown"' in r.text


async def test_a_viewer_cannot_open_the_care_office_forms(
    api: Api, browser: httpx.AsyncClient
) -> None:
    viewer = await api.org("region")
    await log_in(browser, bare(await api.key(viewer, "viewer")))
    r = await browser.get("/ui/record")
    assert r.status_code == 403
    assert "開けません" in r.text


async def test_admin_token_logs_in(browser: httpx.AsyncClient) -> None:
    r = await log_in(browser, ADMIN_TOKEN)
    assert r.status_code == 303
    page = await browser.get("/ui/", params={"month": "2024-06"})
    assert page.status_code == 200
    assert "2024年6月" in page.text
    bad = await browser.get("/ui/", params={"month": "2024-13"})
    assert bad.status_code == 422
    assert "月の指定が正しくありません" in bad.text


async def test_anonymous_session_is_not_a_login(browser: httpx.AsyncClient) -> None:
    await browser.get("/ui/login")
    signer_session = UiSession.anonymous()
    assert signer_session.id is None
    assert (await browser.get("/ui/")).status_code == 303


async def test_acknowledging_a_flag_needs_a_note_and_only_its_party_may(
    api: Api, browser: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    hospital, office, hospital_key, _ = await api.parties()
    ref = unique("A-")
    posted = await api.post(
        admission(hospital, ref, "2024-06-03T10:00:00+09:00", office), hospital_key
    )
    now = datetime.now(UTC)
    async with sessions() as db, db.begin():
        flag = Flag(
            episode_id=uuid.UUID(posted.json()["episode_id"]),
            kind="missed_discharge_coordination",
            hospital_id=hospital,
            party_org_id=hospital,
            since=now,
            raised_at=now,
            detail={},
        )
        db.add(flag)
    await log_in(browser, bare(hospital_key))
    page = await browser.get("/ui/flags")
    assert f'action="/ui/flags/{flag.id}/acknowledge"' in page.text
    url = f"/ui/flags/{flag.id}/acknowledge"
    empty = await browser.post(url, data={"csrf_token": csrf_of(page.text), "note": "  "})
    assert empty.status_code == 422
    assert f'id="note-{flag.id}-error"' in empty.text
    assert "確認メモを入力してください" in empty.text
    done = await browser.post(url, data={"csrf_token": csrf_of(page.text), "note": "<i>電話済</i>"})
    assert done.headers["location"] == "/ui/flags?done=1"
    shown = await browser.get("/ui/flags?done=1")
    assert "&lt;i&gt;電話済&lt;/i&gt;" in shown.text
    trail = await api.client.get(
        "/v1/audit", params={"organization_id": hospital, "action": "acknowledge_flag"},
        headers=admin_headers(),
    )  # fmt: skip
    assert [e["detail"] for e in trail.json()["items"]] == [{"flag_id": str(flag.id), "via": "ui"}]
    other = await api.org("hospital")
    await log_in(browser, bare(await api.key(other, "hospital")))
    page = await browser.get("/ui/flags")
    stranger = await browser.post(url, data={"csrf_token": csrf_of(page.text), "note": "x"})
    assert stranger.status_code == 404


async def test_flags_beyond_one_page_are_reached_with_next(
    api: Api,
    browser: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from services.api.ui import flag_pages

    monkeypatch.setattr(flag_pages, "FLAG_PAGE", 2)
    hospital, office, hospital_key, _ = await api.parties()
    posted = await api.post(
        admission(hospital, unique("A-"), "2024-06-03T10:00:00+09:00", office), hospital_key
    )
    episode_id = uuid.UUID(posted.json()["episode_id"])
    now = datetime.now(UTC)
    kinds = ("missed_discharge_coordination", "admission_info_overdue",
             "discharge_coordination_due")  # fmt: skip
    flags = [
        Flag(episode_id=episode_id, kind=kind, hospital_id=hospital, party_org_id=hospital,
             since=now, raised_at=now - timedelta(minutes=i), detail={})
        for i, kind in enumerate(kinds)
    ]  # fmt: skip
    async with sessions() as db, db.begin():
        db.add_all(flags)
    await log_in(browser, bare(hospital_key))
    first = await browser.get("/ui/flags")
    assert [f.id for f in flags[:2]] == [f.id for f in flags if str(f.id) in first.text]
    link = re.search(r'href="(/ui/flags\?cursor=[^"]+)" rel="next">次へ</a>', first.text)
    assert link, first.text[-800:]
    second = await browser.get(link.group(1).replace("&amp;", "&"))
    assert second.status_code == 200
    assert [f.id for f in flags if str(f.id) in second.text] == [flags[2].id]
    assert "次へ" not in second.text
    assert '<a href="/ui/flags">最初のページへ</a>' in second.text
    # A note left empty on the second page is shown there again, next to the flag.
    action = re.search(rf'action="(/ui/flags/{flags[2].id}/acknowledge[^"]*)"', second.text)
    assert action
    empty = await browser.post(
        action.group(1).replace("&amp;", "&"), data={"csrf_token": csrf_of(second.text), "note": ""}
    )
    assert empty.status_code == 422
    assert f'id="note-{flags[2].id}-error"' in empty.text
    bad = await browser.get("/ui/flags", params={"cursor": "not-a-cursor"})
    assert (bad.status_code, bad.headers["location"]) == (303, "/ui/flags")
