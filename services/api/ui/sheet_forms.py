"""A sheet's form fields: the items' paths as names, the posted text back into items.

Pure functions over the layout (``shared.sheets.layout``): one field per item, named by its
path (``items.person.name``); a multiple choice is one check box per choice
(``items.medical_care.procedures.点滴``). Empty fields are left out, as the API drops nulls.
"""

from __future__ import annotations

from typing import Any, Final

from shared.sheets.layout import Item, sections, value_at

PREFIX: Final = "items."
BOOLEANS: Final = {"true": True, "false": False}
ITEM_MESSAGE: Final = "この項目を確認してください（選択肢・数値・日付・文字数）。"


def form_values(kind: str, items: dict[str, Any]) -> dict[str, str]:
    """A sheet's items as the form's field values (pre-filling from an earlier sheet)."""
    values: dict[str, str] = {}
    for item in _items(kind):
        value = value_at(items, item.path)
        if value is None:
            continue
        if item.kind == "multi":
            values |= {f"{PREFIX}{item.name}.{choice}": "on" for choice in value}
        elif item.kind == "bool":
            values[PREFIX + item.name] = "true" if value else "false"
        else:
            values[PREFIX + item.name] = str(value)
    return values


def posted_items(kind: str, fields: dict[str, str]) -> dict[str, Any]:
    """The items of a submitted form: only the fields filled in, nested by their paths."""
    items: dict[str, Any] = {}
    for item in _items(kind):
        value = _parsed(item, fields)
        if value is None:
            continue
        target = items
        for key in item.path[:-1]:
            target = target.setdefault(key, {})
        target[item.path[-1]] = value
    return items


def _parsed(item: Item, fields: dict[str, str]) -> Any:
    if item.kind == "multi":
        chosen = [c for c in item.choices if fields.get(f"{PREFIX}{item.name}.{c}")]
        return chosen or None
    text = fields.get(PREFIX + item.name, "").strip()
    if not text:
        return None
    if item.kind == "bool":
        return BOOLEANS.get(text, text)  # anything else is refused by the sheet's check
    if item.kind == "int":
        return int(text) if text.isascii() and text.isdigit() else text
    return text


def item_errors(errors: list[dict[str, Any]]) -> dict[str, str]:
    """Japanese messages keyed by form field, from the refused sheet's ``loc`` paths."""
    found: dict[str, str] = {}
    for error in errors:
        loc = [str(part) for part in error.get("loc", [])]
        path = [part for part in loc[3:] if not part.isdigit()]  # a list's index: its item
        if loc[:3] == ["body", "sheet", "items"] and path:
            found[PREFIX + ".".join(path)] = ITEM_MESSAGE
    return found


def _items(kind: str) -> list[Item]:
    return [row for s in sections(kind) for row in s.rows if isinstance(row, Item)]
