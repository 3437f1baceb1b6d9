"""Throttling failed sign-ins: 5 failures in 15 minutes per login id, and per address, lock
further attempts (even with the right password) until enough of them age out.

Every failure counts: an unknown login id, a wrong password, a wrong second factor. The lock
backs off by itself: each failure made while locked is counted too and keeps it longer.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import SignInFailure

LIMIT: Final = 5
WINDOW: Final = timedelta(minutes=15)
KEEP: Final = timedelta(days=1)  # older rows are purged as failures are written


def normalise_login_id(login_id: str) -> str:
    return login_id.strip().lower()[:64]


def _login_key(login_id: str) -> str:
    """What a failure row keeps of the login id: its SHA-256, since people sometimes type their
    password into the login id field."""
    return hashlib.sha256(normalise_login_id(login_id).encode()).hexdigest()


async def retry_after(session: AsyncSession, login_id: str, address: str, now: datetime) -> int:
    """Seconds until a sign-in may be tried again for this login id and address; 0: now."""
    wait = 0
    for column, value in (
        (SignInFailure.login_id, _login_key(login_id)),
        (SignInFailure.address, address[:64]),
    ):
        recent = (
            select(SignInFailure.at)
            .where(column == value, SignInFailure.at > now - WINDOW)
            .order_by(SignInFailure.at.desc())
            .limit(LIMIT)
        )
        times = list(await session.scalars(recent))
        if len(times) >= LIMIT:  # locked until the 5th newest failure leaves the window
            wait = max(wait, int((times[-1] + WINDOW - now).total_seconds()) + 1)
    return wait


async def record_failure(session: AsyncSession, login_id: str, address: str, now: datetime) -> None:
    """Add one failure (committed by the caller) and purge a batch of day-old ones."""
    session.add(SignInFailure(login_id=_login_key(login_id), address=address[:64], at=now))
    old = select(SignInFailure.id).where(SignInFailure.at < now - KEEP).limit(500)
    await session.execute(delete(SignInFailure).where(SignInFailure.id.in_(old.scalar_subquery())))
