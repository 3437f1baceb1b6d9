"""/ui/people and /ui/account on the screens: an org_admin manages its own organization's people
only; a person reads what their organization's kind reads; key sign-in only where allowed."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api.app import create_app
from shared.core.settings import Settings
from shared.models import User
from tests.factories import ADMIN_TOKEN, Api, admission
from tests.integration.people.conftest import (
    Person,
    add_person,
    code_at,
    csrf_of,
    enrol_with_totp,
    path_of,
    second_step,
    sign_in,
    totp_secret_of,
)

pytestmark = pytest.mark.postgres


async def _signed_in_admin(
    api: Api, browsers: Callable[..., Any], kind: str = "hospital"
) -> tuple[httpx.AsyncClient, Person]:
    org = await api.org(kind)
    browser = await browsers()
    admin = await enrol_with_totp(browser, await add_person(api, org, role="org_admin"))
    return browser, admin


def _enrolment_url(html: str) -> str:
    match = re.search(r'id="enrolment-url">([^<]+)<', html)
    assert match, html[:800]
    return match.group(1)


async def test_org_admin_adds_a_person_who_enrols_and_is_then_disabled(
    api: Api, browsers: Callable[..., Any]
) -> None:
    browser, admin = await _signed_in_admin(api, browsers)
    page = await browser.get("/ui/people")
    assert page.status_code == 200
    added = await browser.post("/ui/people", data={
        "csrf_token": csrf_of(page.text), "display_name": "看護 三郎", "login_id": "Nurse.Saburo." +
        admin.login_id[2:], "role": "member"})  # fmt: skip
    assert added.status_code == 200, added.text
    assert "看護 三郎さんを追加しました" in added.text
    nurse = Person("", "nurse.saburo." + admin.login_id[2:], admin.organization_id,
                   _enrolment_url(added.text))  # fmt: skip
    nurse_browser = await browsers()
    await enrol_with_totp(nurse_browser, nurse)
    assert (await nurse_browser.get("/ui/work")).status_code == 200  # a hospital's reads
    assert (await nurse_browser.get("/ui/people")).status_code == 403  # a member manages nobody
    listing = await browser.get("/ui/people")
    row = re.search(rf'data-login-id="{re.escape(nurse.login_id)}".*?</tr>', listing.text, re.S)
    assert row is not None
    disable = re.search(r'action="(/ui/people/[^"]+/disable)"', row.group(0))
    assert disable is not None
    done = await browser.post(disable.group(1), data={"csrf_token": csrf_of(listing.text)})
    assert "停止しました" in done.text
    assert (await nurse_browser.get("/ui/work")).headers.get("location") == "/ui/login"


async def test_another_organizations_person_is_404_to_an_org_admin(
    api: Api, browsers: Callable[..., Any]
) -> None:
    browser, _ = await _signed_in_admin(api, browsers)
    stranger = await add_person(api, await api.org("hospital"))
    page = await browser.get("/ui/people")
    assert stranger.login_id not in page.text
    for target in (f"{stranger.id}/disable", f"{stranger.id}/reset", "not-an-id/disable"):
        r = await browser.post(f"/ui/people/{target}", data={"csrf_token": csrf_of(page.text)})
        assert r.status_code == 404
        assert "見つかりません" in r.text
    r = await api.client.get(path_of(stranger.enrolment_url))  # the stranger's link still works
    assert r.status_code == 200


async def test_org_admin_reset_shows_a_new_link_and_ends_the_persons_sessions(
    api: Api, browsers: Callable[..., Any]
) -> None:
    browser, admin = await _signed_in_admin(api, browsers)
    person = await add_person(api, admin.organization_id)
    theirs = await browsers()
    await enrol_with_totp(theirs, person)
    page = await browser.get("/ui/people")
    r = await browser.post(f"/ui/people/{person.id}/reset", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 200
    person.enrolment_url = _enrolment_url(r.text)
    assert (await theirs.get("/ui/")).headers.get("location") == "/ui/login"
    await enrol_with_totp(await browsers(), person)
    mine = await browser.post(
        f"/ui/people/{admin.id}/reset", data={"csrf_token": csrf_of(page.text)}
    )
    assert mine.status_code == 422  # not oneself


async def test_a_region_person_reads_the_dashboard_only(
    api: Api, browsers: Callable[..., Any]
) -> None:
    browser, _ = await _signed_in_admin(api, browsers, kind="region")
    home = await browser.get("/ui/")
    assert home.status_code == 200
    assert "地域ダッシュボード" in home.text
    assert (await browser.get("/ui/work")).status_code == 403


async def test_account_lists_sessions_and_ends_another_one(
    api: Api, browsers: Callable[..., Any]
) -> None:
    browser, admin = await _signed_in_admin(api, browsers)
    page = await browser.get("/ui/account")
    assert page.status_code == 200
    assert "（この端末）" in page.text
    assert "未使用のリカバリーコード: 10個" in page.text
    ends = re.findall(r'action="(/ui/account/sessions/[^"]+/end)"', page.text)
    assert len(ends) == 1
    r = await browser.post(ends[0], data={"csrf_token": csrf_of(page.text)})
    assert (r.status_code, r.headers["location"]) == (303, "/ui/login")
    assert (await browser.get("/ui/account")).headers.get("location") == "/ui/login"
    del admin


@pytest.fixture
async def production(database_url: str) -> AsyncIterator[Callable[[bool], Any]]:
    """Apps with HANDOVER_ENV=production, with or without HANDOVER_UI_KEY_LOGIN."""
    async with AsyncExitStack() as stack:

        async def make(key_login: bool) -> httpx.AsyncClient:
            settings = Settings(database_url=database_url, broker_url=database_url,
                                admin_token=ADMIN_TOKEN, env="production", ui_key_login=key_login,
                                session_secret=SecretStr("s" * 40), webhook_key=SecretStr("w" * 44),
                                sheet_key=SecretStr("k" * 44),
                                enqueue_enabled=False)  # fmt: skip
            app = create_app(settings)
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app, client=("192.0.2.200", 40000))
            return await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url="https://localhost")
            )

        yield make


async def test_key_sign_in_is_off_in_production_unless_allowed(
    production: Callable[[bool], Any],
) -> None:
    for allowed in (False, True):
        browser = await production(allowed)
        form = await browser.get("/ui/login")
        assert ('name="api_key"' in form.text) is allowed
        r = await browser.post("/ui/login", data={"csrf_token": csrf_of(form.text),
                                                  "api_key": ADMIN_TOKEN})  # fmt: skip
        assert r.status_code == (303 if allowed else 422), r.text


async def test_a_person_without_an_authenticator_app_adds_one_on_the_account_page(
    api: Api, browsers: Callable[..., Any], sessions: async_sessionmaker[AsyncSession]
) -> None:
    browser, person = await _signed_in_admin(api, browsers)
    async with sessions() as db:  # as a person enrolled with a passkey only would be
        await db.execute(update(User).where(User.id == uuid.UUID(person.id))
                         .values(totp_secret=None, totp_last_step=None))  # fmt: skip
        await db.commit()
    page = await browser.get("/ui/account")
    secret = totp_secret_of(page.text)
    assert secret != person.secret
    assert totp_secret_of((await browser.get("/ui/account")).text) == secret  # kept offered
    csrf = csrf_of(page.text)
    wrong = await browser.post("/ui/account/totp", data={"csrf_token": csrf, "totp_code": "12345"})
    assert wrong.status_code == 422
    right = {"csrf_token": csrf, "totp_code": code_at(secret, 0)}
    done = await browser.post("/ui/account/totp", data=right)
    assert "認証アプリを登録しました。" in done.text
    other = await browsers()
    assert (await sign_in(other, person.login_id)).status_code == 303
    assert (await second_step(other, totp_code=code_at(secret, 1))).status_code == 303


async def test_an_org_admin_reads_its_own_organizations_access_log_and_a_member_none(
    api: Api, browsers: Callable[..., Any]
) -> None:
    hospital, office, h_key, o_key = await api.parties()
    stay = await api.post(admission(hospital, "A-LOG", "2024-06-03T10:15:00+09:00", office), h_key)
    episode_id = stay.json()["episode_id"]
    assert (await api.client.get(f"/v1/episodes/{episode_id}", headers=h_key)).status_code == 200
    assert (await api.client.get("/v1/handovers/pending", headers=o_key)).status_code == 200
    browser = await browsers()
    await enrol_with_totp(browser, await add_person(api, hospital, role="org_admin"))
    page = await browser.get("/ui/access-log")
    assert page.status_code == 200, page.text
    assert f"/v1/episodes/{episode_id}" in page.text  # its own key's read
    assert "/v1/handovers/pending" not in page.text  # the care office's read is not its to see
    member = await browsers()
    await enrol_with_totp(member, await add_person(api, hospital))
    assert (await member.get("/ui/access-log")).status_code == 403
