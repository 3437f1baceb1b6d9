"""Signing in as a person: password, then TOTP, a passkey or a recovery code; the same answer
for an unknown login id and a wrong password; the throttle; sessions that end at once."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.models import BrowserSession, SignInFailure
from shared.people import passwords
from shared.people import sign_in as sign_in_steps
from tests.factories import Api, admin_headers
from tests.integration.people.conftest import (
    PASSWORD,
    add_person,
    code_at,
    csrf_of,
    enrol_with_totp,
    path_of,
    second_step,
    sign_in,
)

pytestmark = pytest.mark.postgres


async def test_enrolled_person_signs_in_with_password_and_totp(
    api: Api, browsers: Callable[..., Any]
) -> None:
    org = await api.org("hospital")
    person = await enrol_with_totp(await browsers(), await add_person(api, org))
    browser = await browsers()
    r = await sign_in(browser, person.login_id)
    assert (r.status_code, r.headers["location"]) == (303, "/ui/login/verify")
    assert (await browser.get("/ui/")).headers.get("location") == "/ui/login"  # not yet in
    r = await second_step(browser, totp_code=code_at(person.secret, 0))
    assert (r.status_code, r.headers["location"]) == (303, "/ui/")
    home = await browser.get("/ui/")
    assert home.status_code == 200
    assert "連携 花子" in home.text


def _without_csrf(html: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]+"', "", html)


async def test_unknown_login_id_and_wrong_password_answer_the_same(
    api: Api, browsers: Callable[..., Any]
) -> None:
    org = await api.org("hospital")
    person = await enrol_with_totp(await browsers(), await add_person(api, org))
    browser = await browsers()
    wrong = await sign_in(browser, person.login_id, "not the password at all")
    unknown = await sign_in(browser, "nobody.here", "not the password at all")
    disabled_like = await sign_in(browser, person.login_id.upper(), "still not the password")
    assert wrong.status_code == unknown.status_code == disabled_like.status_code == 401
    assert "ログインIDまたはパスワードが正しくありません。" in wrong.text
    assert _without_csrf(wrong.text).replace(person.login_id, "X") == _without_csrf(
        unknown.text
    ).replace("nobody.here", "X")


async def test_five_failures_lock_the_login_id_even_for_the_right_password(
    api: Api, browsers: Callable[..., Any]
) -> None:
    org = await api.org("hospital")
    person = await enrol_with_totp(await browsers(), await add_person(api, org))
    for n in range(5):
        other = await browsers(f"192.0.2.{n + 1}")  # five addresses: the login id's own count
        assert (await sign_in(other, person.login_id, f"wrong password {n}")).status_code == 401
    right = await sign_in(await browsers(), person.login_id, PASSWORD)
    assert right.status_code == 429
    assert int(right.headers["retry-after"]) > 0
    assert "一時的に止めています" in right.text


async def test_five_failures_from_one_address_lock_every_login_id_from_it(
    api: Api, browsers: Callable[..., Any]
) -> None:
    org = await api.org("hospital")
    person = await enrol_with_totp(await browsers(), await add_person(api, org))
    attacker = await browsers()
    for n in range(5):
        assert (await sign_in(attacker, f"guess{n}.login", "password123")).status_code == 401
    assert (await sign_in(attacker, person.login_id)).status_code == 429
    assert (await sign_in(await browsers("198.51.100.7"), person.login_id)).status_code == 303


async def test_failed_second_factors_count_toward_the_throttle(
    api: Api, browsers: Callable[..., Any]
) -> None:
    org = await api.org("hospital")
    person = await enrol_with_totp(await browsers(), await add_person(api, org))
    browser = await browsers()
    assert (await sign_in(browser, person.login_id)).status_code == 303
    for _ in range(5):
        r = await second_step(browser, totp_code="000000")
        assert r.status_code == 401
        assert "確認できませんでした" in r.text
    r = await second_step(browser, totp_code=code_at(person.secret, 0))
    assert r.status_code == 429
    assert (await sign_in(await browsers("203.0.113.9"), person.login_id)).status_code == 429


async def test_a_recovery_code_signs_in_once_only(api: Api, browsers: Callable[..., Any]) -> None:
    org = await api.org("care_office")
    person = await enrol_with_totp(await browsers(), await add_person(api, org))
    browser = await browsers()
    await sign_in(browser, person.login_id)
    r = await second_step(browser, recovery_code=person.codes[0].upper())
    assert (r.status_code, r.headers["location"]) == (303, "/ui/")
    await sign_in(browser, person.login_id)
    again = await second_step(browser, recovery_code=person.codes[0])
    assert again.status_code == 401
    assert (await browser.get("/ui/")).headers.get("location") == "/ui/login"


async def test_a_totp_code_is_accepted_once(api: Api, browsers: Callable[..., Any]) -> None:
    org = await api.org("hospital")
    person = await enrol_with_totp(await browsers(), await add_person(api, org))
    first, second = await browsers(), await browsers()
    code = code_at(person.secret, 0)
    await sign_in(first, person.login_id)
    assert (await second_step(first, totp_code=code)).status_code == 303
    await sign_in(second, person.login_id)
    assert (await second_step(second, totp_code=code)).status_code == 401


async def test_disabling_a_person_ends_their_open_session_and_sign_in(
    api: Api, browsers: Callable[..., Any]
) -> None:
    org = await api.org("hospital")
    person = await add_person(api, org)
    browser = await browsers()
    await enrol_with_totp(browser, person)
    assert (await browser.get("/ui/")).status_code == 200  # enrolment signed them in
    r = await api.client.patch(f"/v1/users/{person.id}", json={"disabled": True},
                               headers=admin_headers())  # fmt: skip
    assert (r.status_code, r.json()["disabled"]) == (200, True)
    assert (await browser.get("/ui/")).headers.get("location") == "/ui/login"
    assert (await sign_in(await browsers(), person.login_id)).status_code == 401
    r = await api.client.patch(f"/v1/users/{person.id}", json={"disabled": False},
                               headers=admin_headers())  # fmt: skip
    assert (await sign_in(await browsers(), person.login_id)).status_code == 303


async def test_thirty_idle_minutes_end_a_session(
    api: Api, browsers: Callable[..., Any], sessions: async_sessionmaker[AsyncSession]
) -> None:
    org = await api.org("hospital")
    person = await add_person(api, org)
    browser = await browsers()
    await enrol_with_totp(browser, person)
    assert (await browser.get("/ui/")).status_code == 200
    async with sessions() as db:
        await db.execute(
            update(BrowserSession)
            .where(BrowserSession.user_id == uuid.UUID(person.id))
            .values(last_seen_at=datetime.now(UTC) - timedelta(minutes=31))
        )
        await db.commit()
    assert (await browser.get("/ui/")).headers.get("location") == "/ui/login"


async def test_reset_removes_password_and_factors_and_ends_sessions(
    api: Api, browsers: Callable[..., Any]
) -> None:
    org = await api.org("hospital")
    person = await add_person(api, org)
    browser = await browsers()
    await enrol_with_totp(browser, person)
    r = await api.client.post(f"/v1/users/{person.id}/reset", headers=admin_headers())
    assert r.status_code == 200
    new_url = r.json()["enrolment_url"]
    assert new_url != person.enrolment_url
    assert (await browser.get("/ui/")).headers.get("location") == "/ui/login"
    assert (await sign_in(await browsers(), person.login_id)).status_code == 401
    assert (await (await browsers()).get(path_of(person.enrolment_url))).status_code == 404
    person.enrolment_url = new_url
    await enrol_with_totp(await browsers(), person)
    assert (await sign_in(await browsers(), person.login_id)).status_code == 303


async def test_changing_the_password_ends_the_other_sessions(
    api: Api, browsers: Callable[..., Any]
) -> None:
    org = await api.org("hospital")
    person = await add_person(api, org)
    here, elsewhere = await browsers(), await browsers()
    await enrol_with_totp(here, person)
    await sign_in(elsewhere, person.login_id)
    assert (await second_step(elsewhere, totp_code=code_at(person.secret, 0))).status_code == 303
    page = await here.get("/ui/account")
    assert page.status_code == 200
    new = "a different long passphrase 7"
    r = await here.post("/ui/account/password", data={
        "csrf_token": csrf_of(page.text), "current_password": PASSWORD, "new_password": new,
        "new_password_confirm": new})  # fmt: skip
    assert r.status_code == 200
    assert "パスワードを変更しました" in r.text
    assert (await here.get("/ui/")).status_code == 200
    assert (await elsewhere.get("/ui/")).headers.get("location") == "/ui/login"
    assert (await sign_in(await browsers(), person.login_id, new)).status_code == 303


async def test_sign_in_is_audited_and_failures_keep_no_typed_login_id(
    api: Api, browsers: Callable[..., Any], sessions: async_sessionmaker[AsyncSession]
) -> None:
    org = await api.org("hospital")
    person = await enrol_with_totp(await browsers(), await add_person(api, org))
    browser = await browsers()
    mistyped = f"{PASSWORD} typed as the id"[:60]
    assert (await sign_in(browser, mistyped, "x" * 12)).status_code == 401
    await sign_in(browser, person.login_id)
    assert (await second_step(browser, totp_code=code_at(person.secret, 0))).status_code == 303
    trail = await api.client.get("/v1/audit", params={"organization_id": org, "action": "sign_in"},
                                 headers=admin_headers())  # fmt: skip
    [entry] = trail.json()["items"]
    assert entry["detail"] == {"via": "ui", "factor": "totp", "user_id": person.id}
    async with sessions() as db:
        kept = list(await db.scalars(select(SignInFailure.login_id)))
    assert mistyped.lower() not in kept
    assert all(len(k) == 64 for k in kept)


async def test_an_unknown_login_id_costs_the_same_argon2_verification(
    api: Api, browsers: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Timing: every password step verifies one argon2id hash (a dummy one for unknown ids).
    Measured medians (docs/operations.md, section 11) are within a few percent of each other."""
    org = await api.org("hospital")
    person = await enrol_with_totp(await browsers(), await add_person(api, org))
    hashes_checked: list[bool] = []

    async def counting(stored: str | None, password: str) -> bool:
        hashes_checked.append(stored is not None)
        return await passwords.verified(stored, password)

    monkeypatch.setattr(sign_in_steps, "verified", counting)
    browser = await browsers()
    for login_id in ("nobody.at.all", person.login_id):
        assert (await sign_in(browser, login_id, "wrong password here")).status_code == 401
    assert hashes_checked == [False, True]
