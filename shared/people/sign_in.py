"""Signing a person in: the password step, then a second factor (passkey, TOTP or recovery code).

Every failure, of either step, is a row the throttle counts; an unknown login id, a disabled
person, one not yet enrolled and a wrong password all take one argon2 verification and answer
the same, so the answer tells nothing about which login ids exist.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import Passkey, RecoveryCode, User
from shared.people import passkeys
from shared.people.factors import code_digest, totp_step
from shared.people.passkeys import PasskeyRejected, RelyingParty
from shared.people.passwords import verified
from shared.people.throttle import normalise_login_id, record_failure, retry_after


class Throttled(Exception):
    """Too many failures for this login id or address: try again in ``seconds``."""

    def __init__(self, seconds: int) -> None:
        super().__init__(f"retry in {seconds} s")
        self.seconds = seconds


@dataclass(frozen=True, slots=True)
class Attempt:
    """Where a sign-in comes from, and when."""

    address: str
    now: datetime


async def check_password(
    session: AsyncSession, login_id: str, password: str, attempt: Attempt
) -> User | None:
    """The person when the password is theirs and they may sign in; None otherwise (the failure
    recorded). Throttled before any check when the login id or the address is locked."""
    wait = await retry_after(session, login_id, attempt.address, attempt.now)
    if wait:
        raise Throttled(wait)
    user = await session.scalar(select(User).where(User.login_id == normalise_login_id(login_id)))
    stored = None if user is None or user.disabled else user.password_hash
    matches = await verified(stored, password)  # always: unknown ids take as long as known ones
    if user is not None and matches and await has_second_factor(session, user):
        return user
    await record_failure(session, login_id, attempt.address, attempt.now)
    return None


async def has_second_factor(session: AsyncSession, user: User) -> bool:
    if user.totp_secret is not None:
        return True
    return (
        await session.scalar(select(Passkey.id).where(Passkey.user_id == user.id).limit(1))
        is not None
    )


async def passkey_ids(session: AsyncSession, user_id: uuid.UUID) -> list[bytes]:
    return list(
        await session.scalars(
            select(Passkey.credential_id)
            .where(Passkey.user_id == user_id)
            .order_by(Passkey.created_at)
        )
    )


@dataclass(frozen=True, slots=True)
class SecondFactor:
    """What the second step's form sent: one of a passkey answer, a TOTP code, a recovery code."""

    passkey: str = ""
    totp_code: str = ""
    recovery_code: str = ""

    @property
    def kind(self) -> str:
        """Which factor was offered (the first of passkey, TOTP, recovery code), for the audit."""
        if self.passkey:
            return "passkey"
        return "totp" if self.totp_code else "recovery_code"


async def check_second_factor(
    session: AsyncSession,
    user: User,
    given: SecondFactor,
    attempt: Attempt,
    *,
    rp: RelyingParty,
    challenge: bytes | None,
) -> bool:
    """Whether the factor proves the person (a used code or TOTP step is spent); a failure is
    recorded against the login id and address. Throttled first, as the password step."""
    wait = await retry_after(session, user.login_id, attempt.address, attempt.now)
    if wait:
        raise Throttled(wait)
    if user.disabled:
        ok = False
    elif given.passkey:
        ok = await _passkey_ok(
            session, user, given.passkey, rp=rp, challenge=challenge, now=attempt.now
        )
    elif given.totp_code:
        ok = totp_ok(user, given.totp_code, attempt.now)
    elif given.recovery_code:
        ok = await _recovery_code_ok(session, user, given.recovery_code, attempt.now)
    else:
        ok = False
    if not ok:
        await record_failure(session, user.login_id, attempt.address, attempt.now)
    return ok


def totp_ok(user: User, code: str, now: datetime) -> bool:
    """Whether ``code`` is the person's current TOTP code, not used before (its step is spent)."""
    if user.totp_secret is None:
        return False
    step = totp_step(user.totp_secret, code, last_step=user.totp_last_step, now=now.timestamp())
    if step is None:
        return False
    user.totp_last_step = step
    return True


async def _recovery_code_ok(session: AsyncSession, user: User, code: str, now: datetime) -> bool:
    spent = await session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == code_digest(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
        .returning(RecoveryCode.id)
    )
    return spent.first() is not None


async def _passkey_ok(
    session: AsyncSession,
    user: User,
    credential: str,
    *,
    rp: RelyingParty,
    challenge: bytes | None,
    now: datetime,
) -> bool:
    if challenge is None:
        return False
    try:
        credential_id = passkeys.credential_id_of(credential)
        stored = await session.scalar(
            select(Passkey).where(
                Passkey.user_id == user.id, Passkey.credential_id == credential_id
            )
        )
        if stored is None:
            return False
        stored.sign_count = passkeys.verify_authentication(
            rp, credential, challenge, public_key=stored.public_key, sign_count=stored.sign_count
        )
    except PasskeyRejected:
        return False
    stored.last_used_at = now
    return True
