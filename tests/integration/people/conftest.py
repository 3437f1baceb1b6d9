"""People over ASGI: each test's browsers come from an address of their own, so the per-address
throttle of one test never locks another out (they all share one database)."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pyotp
import pytest

from tests.factories import Api, admin_headers, unique

PASSWORD = "correct horse battery staple 24"


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


def totp_secret_of(html: str) -> str:
    match = re.search(r'id="totp-secret">([A-Z2-7]+)<', html)
    assert match, html[:500]
    return match.group(1)


def recovery_codes_of(html: str) -> list[str]:
    return re.findall(r'<li class="code">([a-z0-9-]+)</li>', html)


def code_at(secret: str, steps_from_now: int) -> str:
    """The TOTP code of a neighbouring step: each step is accepted once, the window is ±1."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_from_now)


@dataclass
class Person:
    id: str
    login_id: str
    organization_id: str
    enrolment_url: str
    secret: str = ""
    codes: tuple[str, ...] = ()


BrowserFactory = Callable[[], Any]


@pytest.fixture
async def browsers(client: httpx.AsyncClient) -> AsyncIterator[Callable[..., Any]]:
    """``await browsers()``: a new browser (own cookies) from this test's own address."""
    address = f"10.{int(unique('')[:2], 16)}.{int(unique('')[:2], 16)}.{int(unique('')[:2], 16)}"
    async with AsyncExitStack() as stack:

        async def make(from_address: str = address) -> httpx.AsyncClient:
            transport = httpx.ASGITransport(
                app=client.app,  # type: ignore[attr-defined]
                client=(from_address, 40000),
            )
            return await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url="http://localhost:8000")
            )

        yield make


async def add_person(api: Api, org_id: str, *, role: str = "member") -> Person:
    login_id = unique("p.")
    body = {"organization_id": org_id, "login_id": login_id, "display_name": "連携 花子",
            "role": role}  # fmt: skip
    r = await api.client.post("/v1/users", json=body, headers=admin_headers())
    assert r.status_code == 201, r.text
    out = r.json()
    return Person(out["id"], login_id, org_id, out["enrolment_url"])


def path_of(url: str) -> str:
    return urlsplit(url).path


async def enrol_with_totp(browser: httpx.AsyncClient, person: Person) -> Person:
    """Complete the enrolment link with a password and a TOTP code; signed in afterwards."""
    page = await browser.get(path_of(person.enrolment_url))
    assert page.status_code == 200, page.text
    person.secret = totp_secret_of(page.text)
    done = await browser.post(path_of(person.enrolment_url), data={
        "csrf_token": csrf_of(page.text), "password": PASSWORD, "password_confirm": PASSWORD,
        "totp_code": code_at(person.secret, -1)})  # fmt: skip
    assert done.status_code == 200, done.text
    person.codes = tuple(recovery_codes_of(done.text))
    assert len(person.codes) == 10
    return person


async def sign_in(
    browser: httpx.AsyncClient, login_id: str, password: str = PASSWORD
) -> httpx.Response:
    """The password step from a fresh cookie jar; a success redirects to /ui/login/verify."""
    browser.cookies.clear()
    form = await browser.get("/ui/login")
    return await browser.post("/ui/login", data={
        "csrf_token": csrf_of(form.text), "login_id": login_id, "password": password})  # fmt: skip


async def second_step(browser: httpx.AsyncClient, **fields: str) -> httpx.Response:
    page = await browser.get("/ui/login/verify")
    assert page.status_code == 200, page.text
    return await browser.post("/ui/login/verify", data={"csrf_token": csrf_of(page.text), **fields})
