"""Passwords, TOTP steps, recovery codes and the passkeys' relying party, without a database."""

from __future__ import annotations

import time
import uuid

import pyotp
import pytest

from services.api.limits import rate_limit_key
from shared.access.principal import Principal
from shared.people.factors import code_digest, new_recovery_codes, totp_step
from shared.people.passkeys import RelyingParty
from shared.people.passwords import (
    common_passwords,
    hash_password,
    password_matches,
    password_problem,
)


def test_the_common_list_is_djangos_twenty_thousand() -> None:
    common = common_passwords()
    assert len(common) == 19640  # Django 5.2.17's list, deduplicated
    assert {"123456", "password", "qwerty", "iloveyou"} <= common


@pytest.mark.parametrize(
    ("password", "refused"),
    [("short", True), ("1234567890", True), ("qwertyuiop", True), ("PassWord123", True),
     ("nurse.sato", True), ("x" * 257, True), ("tsubaki 3F east ward", False),
     ("ながいパスワードです", False), ("aaaaaaaaaaaaaaaa1", False)],
)  # fmt: skip
def test_passwords_need_length_and_to_be_uncommon_not_composition(
    password: str, refused: bool
) -> None:
    assert (password_problem(password, login_id="Nurse.Sato") is not None) is refused


def test_a_missing_hash_takes_a_verification_and_never_matches() -> None:
    stored = hash_password("tsubaki 3F east ward")
    assert stored.startswith("$argon2id$")
    assert password_matches(stored, "tsubaki 3F east ward")
    assert not password_matches(stored, "tsubaki 3F east war")
    assert not password_matches(None, "tsubaki 3F east ward")
    assert not password_matches("not a hash", "anything")


def test_a_totp_code_is_accepted_in_its_window_and_once() -> None:
    secret = pyotp.random_base32()
    now = time.time()
    totp = pyotp.TOTP(secret)
    step = int(now // 30)
    assert totp_step(secret, totp.at(now), last_step=None, now=now) == step
    assert totp_step(secret, totp.at(now - 30), last_step=None, now=now) == step - 1
    assert totp_step(secret, totp.at(now + 30), last_step=None, now=now) == step + 1
    assert totp_step(secret, totp.at(now - 90), last_step=None, now=now) is None
    assert totp_step(secret, totp.at(now), last_step=step, now=now) is None  # spent
    assert totp_step(secret, totp.at(now + 30), last_step=step, now=now) == step + 1
    assert totp_step(secret, "１２３４５６", last_step=None, now=now) is None  # ASCII only


def test_recovery_codes_are_distinct_and_typed_any_way() -> None:
    codes = new_recovery_codes()
    assert len(set(codes)) == 10
    code = codes[0]
    assert code_digest(code) == code_digest(code.upper().replace("-", " "))
    assert code_digest(code) != code_digest(codes[1])


def test_the_relying_party_is_the_public_urls_host_and_origin() -> None:
    rp = RelyingParty.of("https://handover.example.jp")
    assert (rp.rp_id, rp.origin) == ("handover.example.jp", "https://handover.example.jp")
    local = RelyingParty.of("http://localhost:8000")
    assert (local.rp_id, local.origin) == ("localhost", "http://localhost:8000")


def test_each_person_has_a_rate_limit_bucket_of_their_own() -> None:
    admin = Principal(key_id=None, organization_id=None, role="admin")
    people = [Principal(key_id=None, organization_id="H1", role="hospital", user_id=uuid.uuid4())
              for _ in range(2)]  # fmt: skip
    keys = {rate_limit_key(p) for p in (admin, *people)}
    assert len(keys) == 3
