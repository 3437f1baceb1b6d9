"""Administration bodies: organizations, API keys and rule sets (api.md, Administration)."""

from __future__ import annotations

import uuid
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from shared.principal import Role
from shared.rules.rule_set import RuleSet
from shared.schemas.bounds import BoundedDate
from shared.schemas.events import OrgId, _no_control_chars
from shared.schemas.timestamps import TokyoDatetime

OrgKind = Literal["hospital", "care_office", "support_center", "municipality", "region"]
RegionCode = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")]


class OrganizationIn(BaseModel):
    """A party of the rule: hospital, care office (居宅介護支援事業所), centre, municipality."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": "4610000001",
                    "kind": "hospital",
                    "name": "中央病院",
                    "municipality_code": "462012",
                    "medical_area": "鹿児島",
                    "region": "kagoshima",
                }
            ]
        },
    )

    id: OrgId = Field(description="The organization's code (医療機関コード, 事業所番号, …)")
    kind: OrgKind
    name: Annotated[
        str,
        StringConstraints(min_length=1, max_length=200, strip_whitespace=True),
        AfterValidator(_no_control_chars),  # PostgreSQL refuses NUL: it was a 500
    ]
    municipality_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")] | None = None
    medical_area: (
        Annotated[
            str,
            StringConstraints(min_length=1, max_length=100),
            AfterValidator(_no_control_chars),
        ]
        | None
    ) = None
    region: RegionCode


class OrganizationOut(OrganizationIn):
    model_config = ConfigDict(extra="ignore", from_attributes=True)


class ApiKeyIn(BaseModel):
    """A key for one organization, with one role."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"organization_id": "4610000001", "role": "hospital"}]},
    )

    organization_id: OrgId
    role: Role


class ApiKeyOut(BaseModel):
    """The key itself is shown only in this response; the service keeps only its hash."""

    id: uuid.UUID
    key: str
    organization_id: str
    role: Role
    created_at: TokyoDatetime


class ApiKeyListed(BaseModel):
    """A key as `GET /v1/api-keys` lists it: never the key or its hash."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    organization_id: str
    role: Role
    created_at: TokyoDatetime
    last_used_at: TokyoDatetime | None = Field(
        description="Last authenticated request, to the minute (null: not used yet)"
    )
    revoked_at: TokyoDatetime | None


class RuleSetIn(RuleSet):
    """A rule-set version as an admin sends it: ``effective_from`` within the date bounds."""

    effective_from: BoundedDate


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """Cursor pagination: ``next_cursor`` is null at the end."""

    items: list[T]
    next_cursor: str | None


class SetAsideEpisodeOut(BaseModel):
    """An episode the worker set aside because its fold raised; no personal data."""

    model_config = ConfigDict(from_attributes=True)

    episode_id: uuid.UUID
    hospital_id: str
    error_type: str
    error_where: str | None
    failed_at: TokyoDatetime
    failed_version: int
    version: int


class SetAsideRetried(BaseModel):
    """Episodes whose marks were cleared and which were sent to the worker again."""

    released: int
    episode_ids: list[uuid.UUID]
