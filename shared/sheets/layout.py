"""The layout of a sheet, read off its pydantic model: sections, sub-headings, items.

The PDF and the screens both walk this one description, so a label, an item's order and its
kind of input come from one place: the model (``title`` on every field).
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, StringConstraints
from pydantic.fields import FieldInfo

from shared.sheets.admission_sheet import AdmissionInfoItems
from shared.sheets.discharge_sheet import DischargeInfoItems
from shared.sheets.items import Part

ItemKind = Literal["text", "long", "choice", "multi", "bool", "date", "int"]
ITEMS_MODEL: dict[str, type[Part]] = {
    "admission_info_sheet": AdmissionInfoItems,
    "discharge_info_sheet": DischargeInfoItems,
}
LONG_TEXT = 500  # a text item allowing more than this many characters is printed full width


@dataclass(frozen=True, slots=True)
class Item:
    """One item: its path under ``items``, its label, its kind and (for choices) the choices."""

    path: tuple[str, ...]
    label: str
    kind: ItemKind
    choices: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The form field's name: the path joined with dots."""
        return ".".join(self.path)


@dataclass(frozen=True, slots=True)
class Heading:
    """A group inside a section (主介護者, 食事・栄養 …)."""

    label: str


@dataclass(frozen=True, slots=True)
class Section:
    """A framed block of the form: its title and its rows in order."""

    title: str
    rows: list[Item | Heading] = field(default_factory=list)


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """The type inside ``X | None`` and ``Annotated[X, ...]``, with the Annotated metadata."""
    metadata: list[Any] = []
    while True:
        origin = get_origin(annotation)
        if origin in (Union, types.UnionType):
            annotation = next(a for a in get_args(annotation) if a is not type(None))
        elif origin is Annotated:
            annotation, *extra = get_args(annotation)
            metadata.extend(extra)
        else:
            return annotation, metadata


def _kind(info: FieldInfo) -> tuple[ItemKind, tuple[str, ...]]:
    inner, metadata = _unwrap(info.annotation)
    if get_origin(inner) is Literal:
        return "choice", tuple(get_args(inner))
    if get_origin(inner) is list:
        return "multi", tuple(get_args(_unwrap(get_args(inner)[0])[0]))
    if inner is bool:
        return "bool", ()
    if inner is int:
        return "int", ()
    if inner is date:
        return "date", ()
    longest = max(
        (m.max_length or 0 for m in metadata if isinstance(m, StringConstraints)), default=0
    )
    return ("long" if longest > LONG_TEXT else "text"), ()


def _part(info: FieldInfo) -> type[BaseModel] | None:
    inner, _ = _unwrap(info.annotation)
    return inner if isinstance(inner, type) and issubclass(inner, Part) else None


def _rows(model: type[BaseModel], prefix: tuple[str, ...]) -> list[Item | Heading]:
    rows: list[Item | Heading] = []
    for name, info in model.model_fields.items():
        part = _part(info)
        if part is not None:
            rows.append(Heading(info.title or name))
            rows.extend(_rows(part, (*prefix, name)))
        else:
            kind, choices = _kind(info)
            rows.append(Item((*prefix, name), info.title or name, kind, choices))
    return rows


@cache
def sections(kind: str) -> tuple[Section, ...]:
    """The sections of a sheet kind: the leading loose items first, then one per group."""
    model = ITEMS_MODEL[kind]
    out: list[Section] = [Section("")]
    for name, info in model.model_fields.items():
        part = _part(info)
        title = info.title or name
        if part is not None:
            out.append(Section(title, _rows(part, (name,))))
        elif len(out) == 1:
            out[0].rows.extend(_rows_of_field(name, info))
        else:
            out.append(Section(title, _rows_of_field(name, info)))
    return tuple(s for s in out if s.rows)


def _rows_of_field(name: str, info: FieldInfo) -> list[Item | Heading]:
    kind, choices = _kind(info)
    return [Item((name,), info.title or name, kind, choices)]


def value_at(items: dict[str, Any], path: tuple[str, ...]) -> Any:
    """The posted value of an item (None when not given)."""
    value: Any = items
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def shown(item: Item, value: Any) -> str:
    """A value as the form prints it ('' when not given)."""
    if value is None:
        return ""
    if item.kind == "bool":
        return "あり" if value else "なし"
    if item.kind == "multi":
        return "、".join(str(v) for v in value)
    if item.kind == "date":
        d = date.fromisoformat(str(value))
        return f"{d.year}年{d.month}月{d.day}日"
    return str(value)
