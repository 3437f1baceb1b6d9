"""The value types the two sheets' items share: bounded text, the paper forms' choices.

A choice's values are the words printed beside the form's check boxes (要介護2, 一部介助 …), so
the JSON, the screens and the PDF say the same thing without a second table of labels.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

_CONTROL: Final = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})


def _no_control(value: str) -> str:
    """Free text may span lines (\\n, \\r, \\t) but holds no other control character."""
    rest = value.replace("\n", "").replace("\r", "").replace("\t", "")
    if any(unicodedata.category(ch) in _CONTROL for ch in rest):
        raise ValueError("must not contain control characters")
    return value


Short = Annotated[str, StringConstraints(max_length=100), AfterValidator(_no_control)]
Text = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_no_control)]
Phone = Annotated[str, StringConstraints(max_length=20, pattern=r"^[0-9+() -]*$")]


def _describe(schema: dict[str, Any]) -> None:
    """Each item's description in OpenAPI: the label the paper form prints for it."""
    for prop in schema.get("properties", {}).values():
        if "title" in prop:
            prop.setdefault("description", f"「{prop['title']}」（様式の欄）")


class Part(BaseModel):
    """A group of items on the form: every item optional, nothing else accepted."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_describe)


Sex = Literal["男", "女"]
CareLevelChoice = Literal[
    "要支援1",
    "要支援2",
    "要介護1",
    "要介護2",
    "要介護3",
    "要介護4",
    "要介護5",
    "申請中",
    "区分変更中",
    "未申請",
]
Assistance = Literal["自立", "見守り", "一部介助", "全介助"]
PhysicalIndependence = Literal["自立", "J1", "J2", "A1", "A2", "B1", "B2", "C1", "C2"]
DementiaIndependence = Literal["自立", "Ⅰ", "Ⅱa", "Ⅱb", "Ⅲa", "Ⅲb", "Ⅳ", "M"]
Consultation = Literal["通院", "訪問診療"]
MealForm = Literal["普通", "きざみ", "嚥下障害食", "ミキサー"]
Difficulty = Literal["問題なし", "やや難あり", "困難"]
Swallowing = Literal["むせない", "時々むせる", "常にむせる"]
Dentures = Literal["なし", "部分", "総"]
WhenUsed = Literal["なし", "夜間", "常時"]
SleepState = Literal["良好", "不良"]
LivesWith = Literal["同居", "別居"]
Procedure = Literal[
    "点滴",
    "酸素療法",
    "喀痰吸引",
    "気管切開",
    "胃ろう",
    "経鼻栄養",
    "経腸栄養",
    "褥瘡",
    "尿道カテーテル",
    "尿路ストーマ",
    "消化管ストーマ",
    "痛みコントロール",
    "排便コントロール",
    "自己注射",
    "その他",
]


class Contact(Part):
    """A person to call: 氏名, 続柄, 電話番号, 同居/別居."""

    name: Short | None = Field(None, title="氏名")
    relationship: Short | None = Field(None, title="続柄")
    phone: Phone | None = Field(None, title="電話番号")
    lives_with: LivesWith | None = Field(None, title="同居・別居")
