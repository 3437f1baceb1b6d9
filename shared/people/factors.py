"""Second factors besides passkeys: TOTP (RFC 6238, pyotp) and single-use recovery codes."""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Final
from urllib.parse import urlsplit

import pyotp
import segno

ISSUER: Final = "入退院支援ルール"
RECOVERY_CODES: Final = 10
TOTP_STEP_S: Final = 30


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_step(
    secret: str, code: str, *, last_step: int | None, now: float | None = None
) -> int | None:
    """The time step a 6-digit code belongs to (this one, or one either side for clock drift),
    or None when it is wrong or was already used (its step is not after ``last_step``)."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int((time.time() if now is None else now) // TOTP_STEP_S)
    for step in (current - 1, current, current + 1):
        if secrets.compare_digest(totp.generate_otp(step), code):
            return step if last_step is None or step > last_step else None
    return None


def totp_qr_svg(secret: str, login_id: str, screens_url: str) -> str:
    """The enrolment QR code (an otpauth:// URI) as an SVG data URI, drawn here (no CDN)."""
    label = f"{login_id}@{urlsplit(screens_url).hostname}"
    uri = pyotp.TOTP(secret).provisioning_uri(name=label, issuer_name=ISSUER)
    return str(segno.make(uri, error="m").svg_data_uri(scale=4, border=2))


def new_recovery_codes() -> list[str]:
    """Ten codes of 10 characters from an alphabet without look-alikes, grouped 5-5."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(alphabet) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def code_digest(code: str) -> str:
    """The stored form of a recovery code (random, so SHA-256 suffices), typed any way."""
    normalised = code.strip().lower().replace(" ", "").replace("-", "")
    return hashlib.sha256(normalised.encode()).hexdigest()


def token_digest(token: str) -> str:
    """The stored form of an enrolment token (random, so SHA-256 suffices)."""
    return hashlib.sha256(token.encode()).hexdigest()
