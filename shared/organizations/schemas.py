"""Administration bodies: organizations, API keys and rule sets (api.md, Administration)."""

from __future__ import annotations

import uuid
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from shared.access.principal import Role
from shared.rules.bounds import BoundedDate
from shared.rules.events import (
    NO_CONTROL_SCHEMA,
    RESERVED_ORG_IDS,
    OrgId,
    _no_control_chars,
    reserved_org_id,
)
from shared.rules.rule_set import RuleSet
from shared.rules.timestamps import TokyoDatetime


def _not_reserved(value: str) -> str:
    if reserved_org_id(value):
        raise ValueError(f"{value!r} is reserved for the operator; choose another id")
    return value


# The id a new organization may take: never one of the service's own labels (the poster label
# ``admin`` would make it the operator). The schema says so too, so clients never send one.
NewOrgId = Annotated[
    OrgId,
    AfterValidator(_not_reserved),
    WithJsonSchema(
        {"type": "string", "minLength": 1, "maxLength": 32, "pattern": "^[A-Za-z0-9_-]+$",
         "not": {"pattern": "^(" + "|".join(
             "".join(f"[{c.upper()}{c}]" if c.isalpha() else c for c in word)
             for word in sorted(RESERVED_ORG_IDS)) + ")$"}}
    ),
]  # fmt: skip
OrgKind = Literal["hospital", "care_office", "support_center", "municipality", "region"]
RegionCode = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")]
HL7_DELIMITERS = "|^~\\&"


def _sending_facility(value: str) -> str:
    """MSH-4.1 as real feeds send it (`GOOD HEALTH HOSPITAL`, a 医療機関コード): printable, no
    HL7 delimiter, no space at either end."""
    if not value.isprintable():
        raise ValueError("must be printable characters (no control characters)")
    found = sorted({c for c in value if c in HL7_DELIMITERS})
    if found:
        raise ValueError(
            f"must not contain the HL7 delimiters | ^ ~ \\ & (found {' '.join(found)})"
        )
    if value != value.strip():
        raise ValueError("must not start or end with a space")
    return value


# MSH-4's first component as hospitals' HL7 v2 feeds send it (api.md, Administration).
SendingFacility = Annotated[
    str, StringConstraints(min_length=1, max_length=20), AfterValidator(_sending_facility)
]
Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, strip_whitespace=True),
    AfterValidator(_no_control_chars),  # PostgreSQL refuses NUL: it was a 500
    NO_CONTROL_SCHEMA,
]
MunicipalityCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
MedicalArea = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100),
    AfterValidator(_no_control_chars),
    NO_CONTROL_SCHEMA,
]


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
                    "hl7_sending_facility": "CHUO_HOSP",
                }
            ]
        },
    )

    id: NewOrgId = Field(
        description="The organization's code (医療機関コード, 事業所番号, …); not `admin`, in any"
        " letter case (the operator's label)"
    )
    kind: OrgKind = Field(
        description="hospital, care_office (居宅介護支援事業所), "
        "support_center (地域包括支援センター), municipality or region"
    )
    name: Name = Field(
        description="The registered name, as shown beside the id in lists and reports"
    )
    municipality_code: MunicipalityCode | None = Field(
        default=None, description="全国地方公共団体コード, 6 digits"
    )
    medical_area: MedicalArea | None = Field(
        default=None, description="二次医療圏 (medical area) name; hospitals should have it"
    )
    region: RegionCode = Field(description="The region whose rule set the organization follows")
    hl7_sending_facility: SendingFacility | None = Field(
        default=None,
        description="Hospitals only: the MSH-4 value (first component) of their HL7 v2 messages,"
        " which identifies them on the MLLP listener; unique across organizations; 1-20"
        " printable characters without | ^ ~ \\ & or a space at either end",
    )

    @field_validator("hl7_sending_facility")
    @classmethod
    def _hospitals_only(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Only a hospital's information system sends ADT messages; elsewhere it is a mistake."""
        kind = info.data.get("kind")
        if value is not None and kind is not None and kind != "hospital":
            raise ValueError(f"only a hospital has an HL7 sending facility, not a {kind}")
        return value


FIXED_FIELDS = ("id", "kind", "region")


class OrganizationPatch(BaseModel):
    """The fields of an organization an admin may change; a field left out stays as it is, an
    optional one sent as null is cleared."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"hl7_sending_facility": "GOOD HEALTH HOSPITAL"}]},
    )

    name: Name | None = Field(default=None, description="The registered name")
    municipality_code: MunicipalityCode | None = Field(
        default=None, description="全国地方公共団体コード, 6 digits; null clears it"
    )
    medical_area: MedicalArea | None = Field(
        default=None, description="二次医療圏 (medical area) name; null clears it"
    )
    hl7_sending_facility: SendingFacility | None = Field(
        default=None,
        description="Hospitals only: MSH-4.1 of their HL7 v2 feed (as in POST); null clears it",
    )

    @model_validator(mode="before")
    @classmethod
    def _fixed_fields(cls, data: object) -> object:
        """id, kind and region name what the organization is: they are never changed."""
        if isinstance(data, dict):
            sent = [k for k in FIXED_FIELDS if k in data]
            if sent:
                raise ValueError(
                    f"{', '.join(sent)} cannot be changed; register a new organization instead"
                )
        return data

    @field_validator("name")
    @classmethod
    def _name_not_null(cls, value: str | None) -> str | None:
        if value is None:
            raise ValueError("an organization keeps a name: send the new one")
        return value

    def changes(self) -> dict[str, object]:
        """The fields sent, with their new values (None: cleared)."""
        return {k: getattr(self, k) for k in sorted(self.model_fields_set)}


class OrganizationOut(OrganizationIn):
    """A registered organization: public facts every key may read."""

    model_config = ConfigDict(extra="ignore", from_attributes=True)

    id: OrgId = Field(description="The organization's code (医療機関コード, 事業所番号, …)")


class ApiKeyIn(BaseModel):
    """A key for one organization, with one role."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"organization_id": "4610000001", "role": "hospital"}]},
    )

    organization_id: OrgId = Field(description="The organization the key acts for")
    role: Role = Field(
        description="hospital, care_office, support_center (their own organization's), "
        "viewer (aggregates only) or admin. The role must fit the organization's kind, else "
        "422: a hospital holds hospital, viewer or admin keys; a care_office care_office, "
        "viewer or admin; a support_center support_center, viewer or admin; a municipality or "
        "region viewer or admin. An organization registered under a reserved id (`admin`) "
        "holds admin keys only."
    )


class ApiKeyOut(BaseModel):
    """The key itself is shown only in this response; the service keeps only its hash."""

    id: uuid.UUID = Field(description="The key's id (to list or revoke it)")
    key: str = Field(
        description="The secret to send as `Authorization: Bearer <key>`; shown only here"
    )
    organization_id: str = Field(description="The organization the key acts for")
    role: Role = Field(description="What the key may do")
    created_at: TokyoDatetime = Field(description="When the key was issued")


class ApiKeyListed(BaseModel):
    """A key as `GET /v1/api-keys` lists it: never the key or its hash."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="The key's id (DELETE /v1/api-keys/{id} revokes it)")
    organization_id: str = Field(description="The organization the key acts for")
    role: Role = Field(description="What the key may do")
    created_at: TokyoDatetime = Field(description="When the key was issued")
    last_used_at: TokyoDatetime | None = Field(
        description="Last authenticated request, to the minute (null: not used yet)"
    )
    revoked_at: TokyoDatetime | None = Field(
        description="When the key was revoked (null: still valid)"
    )


class RuleSetIn(RuleSet):
    """A rule-set version as an admin sends it: ``effective_from`` within the date bounds."""

    effective_from: BoundedDate = Field(description="First admission date judged by this version")


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """Cursor pagination: ``next_cursor`` is null at the end."""

    items: list[T] = Field(description="This page's items, in the list's order")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end"
    )


class SetAsideEpisodeOut(BaseModel):
    """An episode the worker set aside because its fold raised; no personal data."""

    model_config = ConfigDict(from_attributes=True)

    episode_id: uuid.UUID = Field(description="The episode whose fold failed")
    hospital_id: str = Field(description="The episode's hospital")
    error_type: str = Field(
        description="The exception's class name (no message: it may hold personal data)"
    )
    error_where: str | None = Field(
        description="The innermost project function that raised (module.function)"
    )
    failed_at: TokyoDatetime = Field(description="When the worker set it aside")
    failed_version: int = Field(description="The episode version that failed to fold")
    version: int = Field(description="The episode's version now (higher: new events arrived since)")


class SetAsideRetried(BaseModel):
    """Episodes whose marks were cleared and which were sent to the worker again."""

    released: int = Field(description="How many episodes were sent to the worker again")
    episode_ids: list[uuid.UUID] = Field(description="Those episodes")
