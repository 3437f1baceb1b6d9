"""入院時情報提供書 (care office → hospital), version 1: the items of 厚生労働省's sample form.

Groups and items follow the sample form (入院時情報提供書 様式例) and the regions' common forms:
each field's ``title`` is the label printed on the paper form, the screens and the PDF.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, StrictBool, StrictInt

from shared.sheets.items import (
    Assistance,
    CareLevelChoice,
    Consultation,
    Contact,
    DementiaIndependence,
    Dentures,
    Difficulty,
    MealForm,
    Part,
    Phone,
    PhysicalIndependence,
    Procedure,
    Sex,
    Short,
    SleepState,
    Swallowing,
    Text,
    WhenUsed,
)

Floor = Field(default=None, ge=1, le=100)


class CareManagerPart(Part):
    office_name: Short | None = Field(None, title="事業所名")
    name: Short | None = Field(None, title="ケアマネジャー氏名")
    phone: Phone | None = Field(None, title="電話番号")
    fax: Phone | None = Field(None, title="FAX番号")


class PersonPart(Part):
    name: Short | None = Field(None, title="氏名")
    name_kana: Short | None = Field(None, title="フリガナ")
    sex: Sex | None = Field(None, title="性別")
    birth_date: date | None = Field(None, title="生年月日")
    age: StrictInt | None = Field(None, title="年齢", ge=0, le=130)
    address: Text | None = Field(None, title="住所")
    phone: Phone | None = Field(None, title="電話番号")


class HomePart(Part):
    dwelling: Literal["戸建て", "集合住宅"] | None = Field(None, title="住居の種類")
    floors: StrictInt | None = Field(None, title="階建て", ge=1, le=100)
    living_floor: StrictInt | None = Field(None, title="居室階", ge=1, le=100)
    elevator: StrictBool | None = Field(None, title="エレベーター")
    notes: Text | None = Field(None, title="住環境の特記事項")


class InsurancePart(Part):
    care_level: CareLevelChoice | None = Field(None, title="入院時の要介護度")
    certified_from: date | None = Field(None, title="認定有効期間（開始）")
    certified_until: date | None = Field(None, title="認定有効期間（終了）")
    copayment: Literal["1割", "2割", "3割", "不明"] | None = Field(
        None, title="介護保険の自己負担割合"
    )
    disability_certificate: Literal["なし", "身体", "精神", "知的"] | None = Field(
        None, title="障害などの認定"
    )
    pension: Short | None = Field(None, title="年金などの種類")


class IndependencePart(Part):
    physical: PhysicalIndependence | None = Field(None, title="障害高齢者の日常生活自立度")
    dementia: DementiaIndependence | None = Field(None, title="認知症高齢者の日常生活自立度")


class FamilyPart(Part):
    household: Literal["独居", "高齢者世帯", "子と同居", "その他"] | None = Field(
        None, title="世帯構成"
    )
    alone_in_daytime: StrictBool | None = Field(None, title="日中独居")
    main_carer: Contact | None = Field(None, title="主介護者")
    key_person: Contact | None = Field(None, title="キーパーソン")
    care_capacity: Literal["見込める", "見込めない", "家族や支援者はいない"] | None = Field(
        None, title="介護力"
    )
    notes: Text | None = Field(None, title="家族構成の特記事項")


class DoctorPart(Part):
    clinic: Short | None = Field(None, title="医療機関名")
    doctor: Short | None = Field(None, title="医師名")
    phone: Phone | None = Field(None, title="電話番号")
    consultation: Consultation | None = Field(None, title="診察方法")
    frequency: Short | None = Field(None, title="頻度")


class HistoryPart(Part):
    diseases: Text | None = Field(None, title="疾患歴")
    recent_admissions: Text | None = Field(None, title="入院歴（最近半年間）")


class MealsPart(Part):
    assistance: Assistance | None = Field(None, title="食事の介助")
    times_per_day: StrictInt | None = Field(None, title="食事回数（1日）", ge=0, le=10)
    form: MealForm | None = Field(None, title="食事形態")
    route: Literal["経口", "経管栄養"] | None = Field(None, title="摂取方法")
    restriction: Text | None = Field(None, title="食事制限")
    thickened_water: StrictBool | None = Field(None, title="水分とろみ")
    notes: Text | None = Field(None, title="栄養の特記事項")


class ToiletingPart(Part):
    urination: Assistance | None = Field(None, title="排尿")
    defecation: Assistance | None = Field(None, title="排便")
    portable_toilet: WhenUsed | None = Field(None, title="ポータブルトイレ")
    pads: WhenUsed | None = Field(None, title="オムツ／パッド")
    notes: Text | None = Field(None, title="排せつの特記事項")


class HygienePart(Part):
    bathing: Assistance | None = Field(None, title="入浴")
    notes: Text | None = Field(None, title="清潔の特記事項")


class CommunicationPart(Part):
    sight: Difficulty | None = Field(None, title="視力")
    glasses: StrictBool | None = Field(None, title="眼鏡")
    hearing: Difficulty | None = Field(None, title="聴力")
    hearing_aid: StrictBool | None = Field(None, title="補聴器")
    speech: Difficulty | None = Field(None, title="言語")
    understanding: Difficulty | None = Field(None, title="意思疎通")
    notes: Text | None = Field(None, title="コミュニケーションの特記事項")


class OralPart(Part):
    swallowing: Swallowing | None = Field(None, title="嚥下機能")
    dentures: Dentures | None = Field(None, title="義歯")
    bad_breath: StrictBool | None = Field(None, title="口臭")
    notes: Text | None = Field(None, title="口腔の特記事項")


class SkinPart(Part):
    pressure_ulcer: StrictBool | None = Field(None, title="褥瘡の有無")
    notes: Text | None = Field(None, title="皮膚・褥瘡の特記事項")


class MobilityPart(Part):
    moving: Assistance | None = Field(None, title="移動")
    transfer: Assistance | None = Field(None, title="移乗")
    getting_up: Assistance | None = Field(None, title="起居動作")
    aids: Short | None = Field(None, title="移動手段（杖・歩行器・車いす等）")
    paralysis: Literal["なし", "軽度", "中度", "重度"] | None = Field(None, title="麻痺の状況")
    notes: Text | None = Field(None, title="移動の特記事項")


class GroomingPart(Part):
    grooming: Assistance | None = Field(None, title="整容")
    dressing: Assistance | None = Field(None, title="更衣")
    notes: Text | None = Field(None, title="整容の特記事項")


class SleepPart(Part):
    state: SleepState | None = Field(None, title="睡眠の状態")
    sleeping_pills: StrictBool | None = Field(None, title="眠剤の使用")
    notes: Text | None = Field(None, title="睡眠の特記事項")


class CognitionPart(Part):
    symptoms: Text | None = Field(
        None, title="精神面における療養上の問題（幻視・幻聴、興奮、妄想、徘徊など）"
    )
    notes: Text | None = Field(None, title="認知・精神面の特記事項")


class LivingPart(Part):
    meals: MealsPart | None = Field(None, title="食事・栄養")
    toileting: ToiletingPart | None = Field(None, title="排せつ")
    hygiene: HygienePart | None = Field(None, title="清潔")
    communication: CommunicationPart | None = Field(None, title="コミュニケーション")
    oral: OralPart | None = Field(None, title="口腔")
    skin: SkinPart | None = Field(None, title="皮膚・褥瘡")
    mobility: MobilityPart | None = Field(None, title="移動")
    grooming: GroomingPart | None = Field(None, title="整容")
    sleep: SleepPart | None = Field(None, title="睡眠")
    cognition: CognitionPart | None = Field(None, title="認知・精神面")


class MedicationPart(Part):
    oral_medicine: StrictBool | None = Field(None, title="内服薬")
    management: Literal["自己管理", "他者による管理"] | None = Field(None, title="薬剤管理")
    adherence: Literal["処方通り服用", "時々飲み忘れ", "飲み忘れが多い", "服薬拒否"] | None = Field(
        None, title="服薬状況"
    )
    home_care_guidance: Short | None = Field(None, title="居宅療養管理指導（薬局等）")
    notes: Text | None = Field(None, title="お薬に関する特記事項")


class MedicalCarePart(Part):
    procedures: list[Procedure] | None = Field(
        None, title="入院前に実施している医療処置", max_length=15
    )
    notes: Text | None = Field(None, title="医療処置の特記事項")


class AllergyPart(Part):
    present: StrictBool | None = Field(None, title="アレルギーの有無")
    details: Text | None = Field(None, title="アレルギーの内容")


class WishesPart(Part):
    person: Text | None = Field(None, title="入院前の本人の生活に対する意向")
    family: Text | None = Field(None, title="入院前の家族の生活に対する意向")
    interests: Text | None = Field(None, title="本人の趣味・興味・関心領域等")
    life_history: Text | None = Field(None, title="本人の生活歴")


class OutlookPart(Part):
    requirements: Text | None = Field(None, title="在宅生活に必要な要件")
    abuse_suspected: StrictBool | None = Field(None, title="家族や同居者等による虐待の疑い")
    notes: Text | None = Field(None, title="特記事項")


class ConferencePart(Part):
    ward_conference: StrictBool | None = Field(None, title="院内の多職種カンファレンスへの参加希望")
    discharge_conference: StrictBool | None = Field(None, title="退院前カンファレンスへの参加希望")
    home_visit: StrictBool | None = Field(None, title="退院前訪問指導を行う場合の同行希望")


class AdmissionInfoItems(Part):
    """入院時情報提供書の項目 (version 1)."""

    written_on: date | None = Field(None, title="記入日")
    admitted_on: date | None = Field(None, title="入院日")
    provided_on: date | None = Field(None, title="情報提供日")
    hospital_contact: Short | None = Field(None, title="医療機関のご担当者名")
    care_manager: CareManagerPart | None = Field(None, title="情報提供元（居宅介護支援事業所）")
    person: PersonPart | None = Field(None, title="利用者（患者）基本情報")
    emergency_contact: Contact | None = Field(None, title="緊急連絡先")
    home: HomePart | None = Field(None, title="住環境")
    insurance: InsurancePart | None = Field(None, title="保険と要介護認定")
    independence: IndependencePart | None = Field(None, title="日常生活自立度")
    family: FamilyPart | None = Field(None, title="家族構成と介護力")
    family_doctor: DoctorPart | None = Field(None, title="かかりつけ医")
    history: HistoryPart | None = Field(None, title="既往歴")
    services: Text | None = Field(None, title="入院前に利用していたサービス")
    living: LivingPart | None = Field(None, title="身体・生活機能の状況")
    medication: MedicationPart | None = Field(None, title="服薬")
    medical_care: MedicalCarePart | None = Field(None, title="医療処置")
    allergy: AllergyPart | None = Field(None, title="アレルギー")
    wishes: WishesPart | None = Field(None, title="本人・家族の意向")
    outlook: OutlookPart | None = Field(
        None, title="今後の在宅生活の展望（ケアマネジャーとしての意見）"
    )
    conference: ConferencePart | None = Field(None, title="カンファレンス等")
