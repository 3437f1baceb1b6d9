"""The sheets' items: the examples are complete and valid, the layout names every item."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from shared.sheets.documents import SheetInvalid, as_posted, parse_sheet
from shared.sheets.examples import ADMISSION_INFO_EXAMPLE, DISCHARGE_INFO_EXAMPLE
from shared.sheets.layout import ITEMS_MODEL, Item, sections, value_at

EXAMPLES = {
    "admission_info_sheet": ADMISSION_INFO_EXAMPLE,
    "discharge_info_sheet": DISCHARGE_INFO_EXAMPLE,
}


def _missing(model: type[BaseModel], given: dict[str, Any], prefix: str = "") -> list[str]:
    missing = []
    for name, info in model.model_fields.items():
        if name not in given:
            missing.append(prefix + name)
            continue
        inner = [a for a in getattr(info.annotation, "__args__", ()) if isinstance(a, type)]
        part = next((a for a in inner if issubclass(a, BaseModel)), None)
        if part is not None:
            missing += _missing(part, given[name], f"{prefix}{name}.")
    return missing


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_each_example_gives_every_item_and_is_stored_as_given(kind: str) -> None:
    example = EXAMPLES[kind]
    assert _missing(ITEMS_MODEL[kind], example["items"]) == []
    event_type = "admission_info" if kind == "admission_info_sheet" else "discharge_conference"
    assert as_posted(parse_sheet(example, event_type)) == example


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_the_layout_lists_every_item_once_with_a_japanese_label(kind: str) -> None:
    items = [row for s in sections(kind) for row in s.rows if isinstance(row, Item)]
    assert len({i.path for i in items}) == len(items)
    assert all(value_at(EXAMPLES[kind]["items"], i.path) is not None for i in items)
    assert all(not i.label.isascii() or i.label.startswith("FAX") for i in items)


def test_a_discharge_sheet_goes_on_a_coordination_too_but_not_on_an_admission_info() -> None:
    assert parse_sheet(DISCHARGE_INFO_EXAMPLE, "discharge_coordination").kind == (
        "discharge_info_sheet"
    )
    with pytest.raises(SheetInvalid) as refused:
        parse_sheet(DISCHARGE_INFO_EXAMPLE, "admission_info")
    assert refused.value.errors[0]["loc"] == ["body", "sheet", "kind"]


def test_a_boolean_item_refuses_a_string_and_a_choice_refuses_another_word() -> None:
    sheet = {
        "kind": "admission_info_sheet",
        "version": 1,
        "items": {"home": {"elevator": "yes"}, "insurance": {"care_level": "care_2"}},
    }
    with pytest.raises(SheetInvalid) as refused:
        parse_sheet(sheet, "admission_info")
    locs = [e["loc"][3:] for e in refused.value.errors]
    assert locs == [["home", "elevator"], ["insurance", "care_level"]]


@pytest.mark.parametrize("version", [True, "1", 2, 1.5])
def test_the_version_is_the_integer_one(version: object) -> None:
    sheet = {"kind": "admission_info_sheet", "version": version, "items": {}}
    with pytest.raises(SheetInvalid) as refused:
        parse_sheet(sheet, "admission_info")
    assert refused.value.errors[0]["loc"] == ["body", "sheet", "version"]
