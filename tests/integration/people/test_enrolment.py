"""The one-time enrolment link: a password that is long and not common, a second factor, used
up by completing it (not by opening it), and the CLI that makes an organization's first admin."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from tests.factories import Api, unique
from tests.integration.people.conftest import (
    PASSWORD,
    add_person,
    code_at,
    csrf_of,
    enrol_with_totp,
    path_of,
    totp_secret_of,
)

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize(
    ("password", "message"),
    [("short1", "10文字以上"), ("iloveyou12", "よく使われている"),
     ("password1234", "よく使われている")],
)  # fmt: skip
async def test_short_or_common_passwords_are_refused(
    api: Api, browsers: Callable[..., Any], password: str, message: str
) -> None:
    person = await add_person(api, await api.org("hospital"))
    browser = await browsers()
    page = await browser.get(path_of(person.enrolment_url))
    secret = totp_secret_of(page.text)
    r = await browser.post(path_of(person.enrolment_url), data={
        "csrf_token": csrf_of(page.text), "password": password, "password_confirm": password,
        "totp_code": code_at(secret, 0)})  # fmt: skip
    assert r.status_code == 422
    assert message in r.text
    assert totp_secret_of(r.text) == secret  # the same QR code on the next try
    assert (await browser.get(path_of(person.enrolment_url))).status_code == 200  # still usable


async def test_a_password_alone_does_not_enrol(api: Api, browsers: Callable[..., Any]) -> None:
    person = await add_person(api, await api.org("hospital"))
    browser = await browsers()
    page = await browser.get(path_of(person.enrolment_url))
    r = await browser.post(path_of(person.enrolment_url), data={
        "csrf_token": csrf_of(page.text), "password": PASSWORD, "password_confirm": PASSWORD,
        "totp_code": "123456" if code_at(totp_secret_of(page.text), 0) != "123456" else "654321",
    })  # fmt: skip
    assert r.status_code == 422
    assert "コードが正しくありません" in r.text


async def test_the_link_is_used_up_by_completing_it_not_by_opening_it(
    api: Api, browsers: Callable[..., Any]
) -> None:
    person = await add_person(api, await api.org("hospital"))
    opener = await browsers()
    assert (await opener.get(path_of(person.enrolment_url))).status_code == 200
    await enrol_with_totp(await browsers(), person)
    gone = await opener.get(path_of(person.enrolment_url))
    assert gone.status_code == 404
    assert "このリンクは使えません" in gone.text
    assert (await opener.get("/ui/enrol/not-a-real-token")).status_code == 404


def test_the_cli_adds_an_organizations_first_admin(database_url: str) -> None:
    """`handover user add ORG LOGIN --role org_admin --name NAME` prints the enrolment URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HANDOVER_")}
    env.update(DATABASE_URL=database_url, HANDOVER_PUBLIC_URL="https://handover.example.jp")
    org = unique("H")
    cli = [sys.executable, "-m", "services.cli"]
    subprocess.run([*cli, "org", "add", org, "--kind", "hospital", "--name", "CLI病院",
                    "--region", "r-cli"], env=env, check=True, capture_output=True)  # fmt: skip
    login_id = unique("admin.")
    add = [*cli, "user", "add", org, login_id, "--role", "org_admin", "--name", "管理 一郎"]
    done = subprocess.run(add, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("https://handover.example.jp/ui/enrol/")
    again = subprocess.run(add, env=env, capture_output=True, text=True, check=False)
    assert again.returncode == 1
    assert "taken" in again.stderr
