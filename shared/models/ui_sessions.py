"""Sessions of the screens (/ui): the cookie names a row, so logout ends it on the server too."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, LargeBinary, String, func
from sqlalchemy.orm import Mapped, mapped_column

from shared.core.db import Base


class BrowserSession(Base):
    """One sign-in at the screens; live while not ended and not expired (8 hours after login).

    A person's session (``user_id``) is live only once its second factor is verified
    (``verified_at``), and ends after 30 idle minutes (``last_seen_at``).
    """

    __tablename__ = "ui_sessions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # The API key logged in with; None for the admin token (checked by its fingerprint instead)
    # and for a person.
    key_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(200))
    challenge: Mapped[bytes | None] = mapped_column(LargeBinary)  # the passkey challenge offered
    totp_offer: Mapped[str | None] = mapped_column(String(64))  # a TOTP secret being added
