"""People bodies (api.md, Screens → People): POST/GET/PATCH /v1/users, POST /v1/users/{id}/reset."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from shared.rules.events import OrgId, _no_control_chars
from shared.rules.timestamps import TokyoDatetime

PersonRole = Literal["member", "org_admin"]
LoginId = Annotated[
    str, StringConstraints(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")
]
DisplayName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, strip_whitespace=True),
    AfterValidator(_no_control_chars),
]


class UserIn(BaseModel):
    """A person of an organization; they set their password and second factor by the link."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "organization_id": "4610000001",
                    "login_id": "renkei.tanaka",
                    "display_name": "田中 花子",
                    "role": "org_admin",
                }
            ]
        },
    )

    organization_id: OrgId = Field(description="The organization the person works for")
    login_id: LoginId = Field(
        description="What the person signs in with: 3–64 of `A-Z a-z 0-9 . _ @ -`, unique, "
        "compared without case"
    )
    display_name: DisplayName = Field(description="The name shown on the screens")
    role: PersonRole = Field(description="member, or org_admin (also manages its people)")


class UserPatch(BaseModel):
    """Fields to change; absent ones stay."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"disabled": True}, {"role": "member"}]},
    )

    display_name: DisplayName | None = Field(default=None, description="The name shown")
    role: PersonRole | None = Field(default=None, description="member or org_admin")
    disabled: StrictBool | None = Field(
        default=None, description="true ends the person's sessions and refuses sign-in"
    )


class UserOut(BaseModel):
    """A person; never their password, factors or enrolment token."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="The person's id")
    organization_id: str = Field(description="Their organization")
    login_id: str = Field(description="What they sign in with (lower case)")
    display_name: str = Field(description="The name shown on the screens")
    role: PersonRole = Field(description="member or org_admin")
    disabled: bool = Field(description="true: may not sign in")
    created_at: TokyoDatetime = Field(description="When the person was added")


class UserEnrolment(UserOut):
    """A person with a fresh one-time enrolment link (shown only in this answer)."""

    enrolment_url: str = Field(
        description="One-time link (72 hours) where the person sets a password and enrols a "
        "second factor; hand it over in person, it is shown only here"
    )
