"""退院・退所情報記録書 (hospital → care office), version 1: the items of the sample form.

Groups follow 厚生労働省's sample form (退院・退所情報記録書 様式例): the stay, the illness and its
treatment, medical care and medicines after discharge, ADL, the services needed, what to watch
for; each field's ``title`` is the label printed on the form, the screens and the PDF.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, StrictBool, StrictInt

from shared.sheets.items import (
    Assistance,
    CareLevelChoice,
    Consultation,
    Dentures,
    MealForm,
    Part,
    Procedure,
    Sex,
    Short,
    SleepState,
    Swallowing,
    Text,
)


class DischargePersonPart(Part):
    name: Short | None = Field(None, title="氏名")
    name_kana: Short | None = Field(None, title="フリガナ")
    sex: Sex | None = Field(None, title="性別")
    age: StrictInt | None = Field(None, title="年齢", ge=0, le=130)


class StayPart(Part):
    admitted_on: date | None = Field(None, title="入院（所）日")
    planned_discharge_on: date | None = Field(None, title="退院（所）予定日")
    cause: Text | None = Field(None, title="入院原因疾患（入所目的等）")
    ward: Short | None = Field(None, title="入院（所）先の施設名・棟・室")


class FollowUpPart(Part):
    institution: Short | None = Field(None, title="今後の医学管理（医療機関名）")
    method: Consultation | None = Field(None, title="方法")


class CoursePart(Part):
    current_diseases: Text | None = Field(None, title="現在治療中の疾患")
    course: Text | None = Field(None, title="病状と治療の経過")
    prognosis: Text | None = Field(None, title="症状・病状の予後・予測")
    diagnosis_told: StrictBool | None = Field(None, title="本人への病名告知")
    acceptance: Text | None = Field(None, title="本人・家族の病気・障害・後遺症等の受け止め方")


class AfterCarePart(Part):
    procedures: list[Procedure] | None = Field(None, title="退院後の医療処置", max_length=15)
    medication: Text | None = Field(None, title="退院後の服薬（内容・管理方法）")
    notes: Text | None = Field(None, title="医療処置・服薬の特記事項")


class DischargeAdlPart(Part):
    moving: Assistance | None = Field(None, title="移動")
    means: Short | None = Field(None, title="移動手段（杖・歩行器・車いす等）")
    toileting: Literal["トイレ", "ポータブルトイレ", "おむつ", "カテーテル・パウチ"] | None = Field(
        None, title="排泄方法"
    )
    bathing: Literal["自立", "シャワー浴", "一般浴", "機械浴", "行わず"] | None = Field(
        None, title="入浴方法"
    )
    meal_form: MealForm | None = Field(None, title="食事形態")
    swallowing: Swallowing | None = Field(None, title="嚥下機能")
    dentures: Dentures | None = Field(None, title="義歯")
    oral_care: Assistance | None = Field(None, title="口腔清潔")
    sleep: SleepState | None = Field(None, title="睡眠")
    cognition: Text | None = Field(None, title="認知・精神（認知機能低下、せん妄、徘徊など）")


class ServicesPart(Part):
    nursing: Text | None = Field(None, title="看護の視点（退院後に必要な事柄）")
    rehabilitation: Text | None = Field(None, title="リハビリの視点（退院後に必要な事柄）")
    services: Text | None = Field(None, title="必要なサービス（訪問看護・通所リハビリ等）")
    equipment: Text | None = Field(None, title="福祉用具・住宅改修")


class CautionsPart(Part):
    contraindications: Text | None = Field(None, title="禁忌事項・留意点")
    obstacles: Text | None = Field(
        None, title="退院に際しての日常生活の阻害要因（心身状態・環境等）"
    )
    home_requirements: Text | None = Field(None, title="在宅復帰のために整えなければならない要件")


class DischargeWishesPart(Part):
    person: Text | None = Field(None, title="本人の退院後の生活に関する意向")
    family: Text | None = Field(None, title="家族の退院後の生活に関する意向")


class InformantPart(Part):
    heard_on: date | None = Field(None, title="聞き取り日")
    profession: Short | None = Field(None, title="情報提供を受けた職種")
    name: Short | None = Field(None, title="氏名")


class DischargeInfoItems(Part):
    """退院・退所情報記録書の項目 (version 1)."""

    written_on: date | None = Field(None, title="記入日")
    person: DischargePersonPart | None = Field(None, title="基本情報")
    care_level: CareLevelChoice | None = Field(None, title="退院（所）時の要介護度")
    stay: StayPart | None = Field(None, title="入院（所）概要")
    follow_up: FollowUpPart | None = Field(None, title="今後の医学管理")
    course: CoursePart | None = Field(None, title="病状と治療の経過")
    after_care: AfterCarePart | None = Field(None, title="退院後の医療処置・服薬")
    adl: DischargeAdlPart | None = Field(None, title="ADL（入院中の状況）")
    needed: ServicesPart | None = Field(None, title="必要なサービス")
    cautions: CautionsPart | None = Field(None, title="留意点")
    wishes: DischargeWishesPart | None = Field(None, title="本人・家族の意向")
    informant: InformantPart | None = Field(None, title="情報提供")
