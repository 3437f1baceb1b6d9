"""What a signed-in person does to their own account: password, passkeys, sessions, codes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.access.audit import audit
from shared.access.principal import Principal
from shared.models import BrowserSession, Passkey, RecoveryCode, User
from shared.people.passwords import hashed, password_problem, verified
from shared.people.service import end_sessions
from shared.people.sign_in import Attempt, Throttled
from shared.people.throttle import record_failure, retry_after

IDLE_LIMIT: Final = timedelta(minutes=30)  # a person's session ends after 30 idle minutes


class AccountRefused(ValueError):
    """What to fix (in Japanese, for the screen); nothing was changed."""


async def change_password(
    session: AsyncSession,
    user: User,
    principal: Principal,
    *,
    current: str,
    new: str,
    confirm: str,
    keep: uuid.UUID,
    attempt: Attempt,
) -> None:
    """Check the current password (a wrong one counts toward the throttle: the caller commits on
    AccountRefused too), set the new one and end the person's other sessions; audited."""
    wait = await retry_after(session, user.login_id, attempt.address, attempt.now)
    if wait:
        raise Throttled(wait)
    if not await verified(user.password_hash, current):
        await record_failure(session, user.login_id, attempt.address, attempt.now)
        raise AccountRefused("現在のパスワードが正しくありません。")
    problem = password_problem(new, login_id=user.login_id)
    if problem is not None:
        raise AccountRefused(problem)
    if new != confirm:
        raise AccountRefused("確認のパスワードが一致しません。")
    user.password_hash = await hashed(new)
    await end_sessions(session, user.id, keep=keep)
    audit(session, principal, "change_password", client_address=attempt.address, via="ui")


async def live_sessions(
    session: AsyncSession, user_id: uuid.UUID, now: datetime
) -> Sequence[BrowserSession]:
    """The person's signed-in sessions (not ended, expired or idle), newest first."""
    return list(
        await session.scalars(
            select(BrowserSession)
            .where(
                BrowserSession.user_id == user_id,
                BrowserSession.ended_at.is_(None),
                BrowserSession.verified_at.is_not(None),
                BrowserSession.expires_at > now,
                BrowserSession.last_seen_at > now - IDLE_LIMIT,
            )
            .order_by(BrowserSession.created_at.desc())
        )
    )


async def end_own_session(
    session: AsyncSession, user_id: uuid.UUID, session_id: uuid.UUID, now: datetime
) -> bool:
    """End one of the person's sessions; False when it is not theirs (or already ended)."""
    result = await session.execute(
        update(BrowserSession)
        .where(
            BrowserSession.id == session_id,
            BrowserSession.user_id == user_id,
            BrowserSession.ended_at.is_(None),
        )
        .values(ended_at=now)
        .returning(BrowserSession.id)
    )
    return result.first() is not None


async def person_passkeys(session: AsyncSession, user_id: uuid.UUID) -> Sequence[Passkey]:
    return list(
        await session.scalars(
            select(Passkey).where(Passkey.user_id == user_id).order_by(Passkey.created_at)
        )
    )


async def remove_passkey(session: AsyncSession, user: User, passkey_id: uuid.UUID) -> None:
    """Remove one of the person's passkeys, unless it is their last second factor."""
    count = await session.scalar(
        select(func.count()).select_from(Passkey).where(Passkey.user_id == user.id)
    )
    stored = await session.scalar(
        select(Passkey).where(Passkey.id == passkey_id, Passkey.user_id == user.id)
    )
    if stored is None:
        raise AccountRefused("そのパスキーは登録されていません。")
    if user.totp_secret is None and (count or 0) <= 1:
        raise AccountRefused(
            "最後の本人確認の方法は削除できません。先に別のパスキーを登録してください。"
        )
    await session.delete(stored)


async def recovery_codes_left(session: AsyncSession, user_id: uuid.UUID) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )
