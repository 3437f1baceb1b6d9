"""People in a real headless Chromium against a real uvicorn and PostgreSQL: a passkey enrolled
with WebDriver's virtual authenticator signs in after sign-out; TOTP; a recovery code works once;
the throttle after repeated failures; an org_admin disables a person whose open session then
ends on their next request. Passkeys need a host name as relying-party id: ``localhost``."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest

from tests.e2e.test_ui_browser import CHROMEDRIVER, CHROMIUM, axe_violations
from tests.services import free_port, fresh_database, in_ci, stop_process_group, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ADMIN_TOKEN = "people-e2e-admin-token-0123456789abcdef"
PASSWORD = "a long passphrase for the ward 3"
ARTIFACTS = Path(__file__).resolve().parents[2] / ".venv" / "artifacts" / "people"


@dataclass
class Stack:
    base: str
    client: httpx.Client
    org: str

    def person(self, login_id: str, role: str = "member") -> str:
        """A new person of the stack's hospital; their enrolment URL."""
        r = self.client.post("/v1/users", json={"organization_id": self.org, "login_id": login_id,
                             "display_name": f"職員 {login_id}", "role": role},
                             headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})  # fmt: skip
        assert r.status_code == 201, r.text
        return str(r.json()["enrolment_url"])


def _chromium_or_skip() -> None:
    if shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER):
        return
    reason = "chromium/chromedriver missing: apt-get install -y chromium chromium-driver"
    if in_ci():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """uvicorn over a fresh database; people reach it at http://localhost:<port>."""
    _chromium_or_skip()
    log = tmp_path_factory.mktemp("people-e2e") / "api.log"
    port = free_port()
    base = f"http://localhost:{port}"
    with fresh_database("handover_people") as database_url:
        env = dict(os.environ, DATABASE_URL=database_url, BROKER_URL=database_url,
                   HANDOVER_ADMIN_TOKEN=ADMIN_TOKEN, HANDOVER_ENV="development",
                   HANDOVER_PUBLIC_URL=base, HANDOVER_ENQUEUE_ENABLED="false")  # fmt: skip
        argv = [sys.executable, "-m", "uvicorn", "services.api.app:create_app", "--factory",
                "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
        with log.open("ab") as out:
            api = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # fmt: skip
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:

                def up() -> bool:
                    assert api.poll() is None, log.read_text()[-3000:]
                    try:
                        return client.get("/healthz").status_code == 200
                    except httpx.HTTPError:
                        return False

                assert wait_until(up, timeout=30, interval=0.3)
                org = {"id": "H-PEOPLE-E2E", "kind": "hospital", "name": "鹿児島 連携病院",
                       "region": "kagoshima-people", "medical_area": "鹿児島"}  # fmt: skip
                r = client.post("/v1/organizations", json=org,
                                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})  # fmt: skip
                assert r.status_code == 201, r.text
                yield Stack(base, client, org["id"])
        finally:
            stop_process_group(api, timeout=10)


def _chrome() -> tuple[Any, str]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    logging.getLogger("selenium").setLevel(logging.INFO)
    profile = tempfile.mkdtemp(prefix="people-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                 "--window-size=1280,900", "--lang=ja"):  # fmt: skip
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    browser.set_page_load_timeout(60)
    browser.implicitly_wait(10)
    return browser, profile


@pytest.fixture(scope="module")
def browsers() -> Iterator[Callable[[], Any]]:
    """``browsers()``: a new headless Chromium, each with a virtual platform authenticator."""
    _chromium_or_skip()
    from selenium.webdriver.common.virtual_authenticator import VirtualAuthenticatorOptions

    made: list[tuple[Any, str]] = []

    def make() -> Any:
        browser, profile = _chrome()
        made.append((browser, profile))
        browser.add_virtual_authenticator(VirtualAuthenticatorOptions(
            protocol="ctap2", transport="internal", has_resident_key=True,
            has_user_verification=True, is_user_verified=True))  # fmt: skip
        return browser

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        yield make
    finally:
        for browser, profile in made:
            browser.quit()
            shutil.rmtree(profile, ignore_errors=True)


# --- what a person does -----------------------------------------------------------------


def by(kind: str) -> Any:
    from selenium.webdriver.common.by import By

    return getattr(By, kind)


def fill(driver: Any, field_id: str, text: str) -> None:
    element = driver.find_element(by("ID"), field_id)
    element.clear()
    element.send_keys(text)


def at(driver: Any, path: str) -> bool:
    return wait_until(lambda: driver.current_url.split("?")[0].endswith(path), timeout=15)


def enrol_passwords(driver: Any, url: str) -> None:
    driver.get(url)
    assert "アカウントの登録" in driver.title
    fill(driver, "password", PASSWORD)
    fill(driver, "password_confirm", PASSWORD)


def recovery_codes(driver: Any) -> list[str]:
    """The ten codes the enrolment shows once."""
    selector = (by("CSS_SELECTOR"), "#recovery-codes li")
    assert wait_until(lambda: len(driver.find_elements(*selector)) == 10, timeout=15)
    return [c.text for c in driver.find_elements(*selector)]


def sign_out(driver: Any) -> None:
    driver.find_element(by("CSS_SELECTOR"), "form[action='/ui/logout'] button").click()
    assert at(driver, "/ui/login")


def password_step(driver: Any, base: str, login_id: str, password: str = PASSWORD) -> None:
    driver.get(f"{base}/ui/login")
    fill(driver, "login_id", login_id)
    fill(driver, "password", password)
    driver.find_element(by("CSS_SELECTOR"), "form[action='/ui/login'] button").click()


def code(secret: str, steps_from_now: int) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_from_now)


def shows(driver: Any, text: str) -> bool:
    return wait_until(lambda: text in driver.page_source, timeout=15)


# --- tests --------------------------------------------------------------------------------


def test_enrol_a_passkey_sign_out_and_sign_in_with_it(
    stack: Stack, browsers: Callable[[], Any]
) -> None:
    from selenium.webdriver.common.virtual_authenticator import VirtualAuthenticatorOptions

    driver = browsers()
    enrol_passwords(driver, stack.person("passkey.nurse"))
    assert axe_violations(driver) == []
    driver.find_element(by("ID"), "enrol-passkey").click()
    assert len(recovery_codes(driver)) == 10
    driver.get(f"{stack.base}/ui/account")
    deletes = (by("CSS_SELECTOR"), "form[action$='/delete'] button")
    assert len(driver.find_elements(*deletes)) == 1
    assert axe_violations(driver) == []
    register = (by("CSS_SELECTOR"), "#add-passkey button[data-passkey]")
    driver.find_element(*register).click()  # this authenticator holds a passkey already
    assert wait_until(lambda: driver.find_element(by("ID"), "passkey-error").is_displayed())
    driver.remove_virtual_authenticator()  # a second device: a USB security key
    driver.add_virtual_authenticator(VirtualAuthenticatorOptions(
        protocol="ctap2", transport="usb", has_resident_key=True, has_user_verification=True,
        is_user_verified=True))  # fmt: skip
    driver.get(f"{stack.base}/ui/account")
    fill(driver, "passkey-name", "病棟の端末")
    driver.find_element(*register).click()
    assert shows(driver, "パスキー「病棟の端末」を登録しました。")
    assert len(driver.find_elements(*deletes)) == 2
    driver.find_elements(*deletes)[0].click()  # the first device's, made at enrolment
    assert shows(driver, "パスキーを削除しました。")
    driver.find_elements(*deletes)[0].click()  # the last factor stays
    assert shows(driver, "最後の本人確認の方法は削除できません。")
    assert len(driver.find_elements(*deletes)) == 1
    sign_out(driver)  # and back in with the security key's passkey
    password_step(driver, stack.base, "passkey.nurse")
    assert at(driver, "/ui/login/verify")
    assert axe_violations(driver) == []
    driver.find_element(by("ID"), "use-passkey").click()
    assert at(driver, "/ui/")
    assert "職員 passkey.nurse" in driver.page_source
    driver.save_screenshot(str(ARTIFACTS / "signed-in-with-passkey.png"))


def test_enrol_totp_and_sign_in_with_a_code(stack: Stack, browsers: Callable[[], Any]) -> None:
    driver = browsers()
    enrol_passwords(driver, stack.person("totp.msw"))
    secret = driver.find_element(by("ID"), "totp-secret").text
    fill(driver, "totp_code", code(secret, -1))
    driver.find_element(by("CSS_SELECTOR"), "#enrol-form button[type=submit]").click()
    assert len(recovery_codes(driver)) == 10
    driver.find_element(by("LINK_TEXT"), "はじめる").click()
    sign_out(driver)
    password_step(driver, stack.base, "totp.msw")
    assert at(driver, "/ui/login/verify")
    fill(driver, "totp_code", code(secret, 0))
    driver.find_element(by("CSS_SELECTOR"), "#verify-form button[type=submit]").click()
    assert at(driver, "/ui/")
    assert "職員 totp.msw" in driver.page_source


def test_a_recovery_code_works_once_only(stack: Stack, browsers: Callable[[], Any]) -> None:
    driver = browsers()
    enrol_passwords(driver, stack.person("recovery.cm"))
    fill(driver, "totp_code", code(driver.find_element(by("ID"), "totp-secret").text, -1))
    driver.find_element(by("CSS_SELECTOR"), "#enrol-form button[type=submit]").click()
    first = recovery_codes(driver)[0]
    driver.get(f"{stack.base}/ui/")
    for attempt in range(2):
        sign_out(driver) if attempt == 0 else driver.delete_all_cookies()
        password_step(driver, stack.base, "recovery.cm")
        assert at(driver, "/ui/login/verify")
        driver.find_element(by("TAG_NAME"), "summary").click()
        fill(driver, "recovery_code", first)
        driver.find_element(by("CSS_SELECTOR"), "#verify-form button[type=submit]").click()
        if attempt == 0:
            assert at(driver, "/ui/")
        else:
            assert shows(driver, "確認できませんでした")
            driver.get(f"{stack.base}/ui/")
            assert at(driver, "/ui/login")


def test_an_org_admin_disables_a_person_whose_open_session_ends(
    stack: Stack, browsers: Callable[[], Any]
) -> None:
    admin, person = browsers(), browsers()
    for driver, login_id, role in (
        (admin, "ward.admin", "org_admin"),
        (person, "ward.member", "member"),
    ):
        enrol_passwords(driver, stack.person(login_id, role))
        driver.find_element(by("ID"), "enrol-passkey").click()
        assert len(recovery_codes(driver)) == 10
    person.get(f"{stack.base}/ui/work")
    assert "対応リスト" in person.title
    admin.get(f"{stack.base}/ui/people")
    assert axe_violations(admin) == []
    row = admin.find_element(by("CSS_SELECTOR"), "tr[data-login-id='ward.member']")
    row.find_element(by("CSS_SELECTOR"), "button[data-action=disable]").click()
    assert shows(admin, "停止しました")
    admin.save_screenshot(str(ARTIFACTS / "people-disabled.png"))
    person.get(f"{stack.base}/ui/work")
    assert at(person, "/ui/login")


def test_repeated_failures_are_throttled(stack: Stack, browsers: Callable[[], Any]) -> None:
    """Last in the module: it locks the browsers' address (127.0.0.1) for 15 minutes. The
    recovery-code test's refused second use already counts one failure for this address."""
    driver = browsers()
    answers = []
    for n in range(5):
        password_step(driver, stack.base, "passkey.nurse", f"wrong password {n}")
        assert wait_until(lambda: driver.find_elements(by("ID"), "login-error"), timeout=15)
        answers.append(driver.find_element(by("ID"), "login-error").text)
    assert answers[0] == "ログインIDまたはパスワードが正しくありません。"
    assert "一時的に止めています" in answers[-1]
    password_step(driver, stack.base, "passkey.nurse")  # the right password, still refused
    assert shows(driver, "一時的に止めています")
    assert "/ui/login" in driver.current_url
