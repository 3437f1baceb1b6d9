"""Completing a one-time enrolment link: a password and a second factor (a passkey or TOTP),
then ten recovery codes. The link is used up by completing it, not by opening it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import Enrolment, Passkey, User
from shared.people import passkeys
from shared.people.factors import new_totp_secret, token_digest, totp_step
from shared.people.passkeys import NewPasskey, PasskeyRejected, RelyingParty
from shared.people.passwords import hashed, password_problem
from shared.people.service import end_sessions, replace_recovery_codes
from shared.people.sign_in import passkey_ids


class EnrolmentRefused(ValueError):
    """What to fix (in Japanese, for the screen); nothing was changed."""


@dataclass(frozen=True, slots=True)
class Offer:
    """What the enrolment page offers: a TOTP secret (for the QR code) and passkey options."""

    totp_secret: str
    passkey_options: str


async def open_enrolment(
    session: AsyncSession, token: str, now: datetime
) -> tuple[Enrolment, User] | None:
    """The link's enrolment and person while it is unused, unexpired and the person enabled."""
    row = (
        await session.execute(
            select(Enrolment, User)
            .join(User, User.id == Enrolment.user_id)
            .where(
                Enrolment.token_hash == token_digest(token[:200]),
                Enrolment.used_at.is_(None),
                Enrolment.expires_at > now,
                User.disabled.is_(False),
            )
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def offer(session: AsyncSession, enrolment: Enrolment, user: User, rp: RelyingParty) -> Offer:
    """The TOTP secret (kept across visits) and a fresh passkey challenge; the caller commits."""
    if enrolment.totp_secret is None:
        enrolment.totp_secret = new_totp_secret()
    options, enrolment.challenge = passkeys.registration_options(
        rp, user_id=user.id.bytes, login_id=user.login_id, display_name=user.display_name,
        existing=await passkey_ids(session, user.id),
    )  # fmt: skip
    return Offer(enrolment.totp_secret, options)


@dataclass(frozen=True, slots=True)
class Enrolling:
    """What the enrolment form sent."""

    password: str
    password_confirm: str
    passkey: str = ""
    totp_code: str = ""


async def complete(
    session: AsyncSession,
    enrolment: Enrolment,
    user: User,
    given: Enrolling,
    *,
    rp: RelyingParty,
    now: datetime,
) -> list[str]:
    """Set the password and the factor, use the link up, end the person's other sessions; the
    new recovery codes (shown once). EnrolmentRefused says what to fix."""
    problem = password_problem(given.password, login_id=user.login_id)
    if problem is not None:
        raise EnrolmentRefused(problem)
    if given.password != given.password_confirm:
        raise EnrolmentRefused("確認のパスワードが一致しません。")
    if given.passkey:
        if enrolment.challenge is None:
            raise EnrolmentRefused("パスキーを登録できませんでした。もう一度お試しください。")
        try:
            new = passkeys.verify_registration(rp, given.passkey, enrolment.challenge)
        except PasskeyRejected as exc:
            raise EnrolmentRefused(
                "パスキーを登録できませんでした。もう一度お試しください。"
            ) from exc
        add_passkey(session, user, new, "パスキー", now)
    elif given.totp_code and enrolment.totp_secret is not None:
        step = totp_step(
            enrolment.totp_secret, given.totp_code, last_step=None, now=now.timestamp()
        )
        if step is None:
            raise EnrolmentRefused("認証アプリのコードが正しくありません。時刻を確かめてください。")
        user.totp_secret, user.totp_last_step = enrolment.totp_secret, step
    else:
        raise EnrolmentRefused("パスキーを登録するか、認証アプリの6桁のコードを入力してください。")
    user.password_hash = await hashed(given.password)
    enrolment.used_at = now
    enrolment.challenge = None
    await end_sessions(session, user.id)
    return await replace_recovery_codes(session, user.id)


def add_passkey(
    session: AsyncSession, user: User, new: NewPasskey, name: str, now: datetime
) -> None:
    session.add(Passkey(user_id=user.id, credential_id=new.credential_id, public_key=new.public_key,
                        sign_count=new.sign_count, name=name[:64], created_at=now))  # fmt: skip
