"""Who is calling: an API key's (or a person's) organization and role (the admin token has no
organization)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Final, Literal

from shared.rules.events import ADMIN_POSTER

Role = Literal["hospital", "care_office", "support_center", "viewer", "admin"]
ROLES: Final[tuple[Role, ...]] = ("hospital", "care_office", "support_center", "viewer", "admin")
CARE_OFFICE_ROLES: Final[frozenset[str]] = frozenset({"care_office", "support_center"})
POSTING_ROLES: Final[frozenset[str]] = frozenset(
    {"hospital", "care_office", "support_center", "admin"}
)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: an API key (``key_id``; None for the bootstrap admin token) or a
    signed-in person (``user_id``, with the role of their organization's kind)."""

    key_id: uuid.UUID | None
    organization_id: str | None
    role: Role
    user_id: uuid.UUID | None = None
    # A person who manages their organization's people and reads its access log (api.md).
    org_admin: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_care_office(self) -> bool:
        return self.role in CARE_OFFICE_ROLES

    @property
    def label(self) -> str:
        """The poster recorded on an event: the organization, or ``admin`` for any admin key."""
        if self.is_admin or self.organization_id is None:
            return ADMIN_POSTER
        return self.organization_id
