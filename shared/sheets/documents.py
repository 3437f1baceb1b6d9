"""A sheet as an event carries it: ``{"kind", "version", "items"}``, checked against its event.

``admission_info`` carries the 入院時情報提供書 (``admission_info_sheet``);
``discharge_coordination`` and ``discharge_conference`` carry the 退院・退所情報記録書
(``discharge_info_sheet``). Items are optional; an unknown kind, a kind on the wrong event type,
an unknown item or a wrong type is refused with the path of each item to fix, never with its value.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, TypeAdapter, ValidationError

from shared.sheets.admission_sheet import AdmissionInfoItems
from shared.sheets.discharge_sheet import DischargeInfoItems
from shared.sheets.examples import ADMISSION_INFO_EXAMPLE, DISCHARGE_INFO_EXAMPLE

SheetKind = Literal["admission_info_sheet", "discharge_info_sheet"]
KIND_OF_EVENT: Final[dict[str, SheetKind]] = {
    "admission_info": "admission_info_sheet",
    "discharge_coordination": "discharge_info_sheet",
    "discharge_conference": "discharge_info_sheet",
}
# The OpenAPI schema of each event type that may carry a sheet, and the sheet's schema.
SHEET_CARRIERS: Final[dict[str, str]] = {
    "AdmissionInfoEvent": "AdmissionInfoSheet",
    "DischargeCoordinationEvent": "DischargeInfoSheet",
    "DischargeConferenceEvent": "DischargeInfoSheet",
}
TITLES: Final[dict[str, str]] = {
    "admission_info_sheet": "入院時情報提供書",
    "discharge_info_sheet": "退院・退所情報記録書",
}


class _Sheet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: StrictInt = Field(ge=1, le=1, description="The version of the items (1 today)")


class AdmissionInfoSheet(_Sheet):
    """入院時情報提供書: what the care manager tells the hospital at admission."""

    model_config = ConfigDict(json_schema_extra={"examples": [ADMISSION_INFO_EXAMPLE]})

    kind: Literal["admission_info_sheet"] = Field(description="入院時情報提供書")
    items: AdmissionInfoItems = Field(description="The sheet's items, each optional")


class DischargeInfoSheet(_Sheet):
    """退院・退所情報記録書: what the hospital tells the care manager before discharge."""

    model_config = ConfigDict(json_schema_extra={"examples": [DISCHARGE_INFO_EXAMPLE]})

    kind: Literal["discharge_info_sheet"] = Field(description="退院・退所情報記録書")
    items: DischargeInfoItems = Field(description="The sheet's items, each optional")


Sheet = Annotated[AdmissionInfoSheet | DischargeInfoSheet, Field(discriminator="kind")]
SHEET_ADAPTER: TypeAdapter[Sheet] = TypeAdapter(Sheet)


class SheetInvalid(Exception):
    """A sheet refused; ``errors`` name each item to fix (``loc`` from the event's body)."""

    def __init__(self, errors: list[dict[str, Any]]):
        super().__init__("The sheet is invalid; see errors.")
        self.errors = errors


def parse_sheet(raw: Any, event_type: str) -> Sheet:
    """The sheet an event of ``event_type`` carries, or ``SheetInvalid``."""
    expected = KIND_OF_EVENT.get(event_type)
    if expected is None:
        raise SheetInvalid([_error([], f"a {event_type} event carries no sheet")])
    try:
        sheet = SHEET_ADAPTER.validate_python(raw)
    except ValidationError as exc:
        raise SheetInvalid(
            [
                _error(_path(e["loc"], e["type"]), e["msg"])
                for e in exc.errors(include_input=False, include_url=False)
            ]
        ) from None
    if sheet.kind != expected:
        raise SheetInvalid([_error(["kind"], f"the sheet of a {event_type} event is {expected}")])
    return sheet


def _path(loc: tuple[int | str, ...], error_type: str) -> list[int | str]:
    """The item's path as the client wrote it: the union's tag is not part of it."""
    if error_type in ("union_tag_invalid", "union_tag_not_found"):
        return ["kind"]
    return list(loc[1:]) if loc and loc[0] in TITLES else list(loc)


def _error(loc: list[int | str], msg: str) -> dict[str, Any]:
    return {"loc": ["body", "sheet", *loc], "msg": msg}


def as_posted(sheet: Sheet) -> dict[str, Any]:
    """The sheet as JSON with null and empty items dropped: what is stored, compared, shown."""
    items = _pruned(sheet.items.model_dump(mode="json", exclude_none=True))
    return {"kind": sheet.kind, "version": sheet.version, "items": items}


def _pruned(value: Any) -> Any:
    if isinstance(value, dict):
        kept = {k: _pruned(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in ({}, [], "")}
    return value
