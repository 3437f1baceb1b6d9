"""A complete example of each sheet (every item, nested ones too), for OpenAPI and the tests.

Invented people and places: 例 in every name, 0120 numbers, no real address.
"""

from __future__ import annotations

from typing import Any, Final

_CONTACT: Final = {
    "name": "例 花子",
    "relationship": "長女",
    "phone": "090-0000-0001",
    "lives_with": "別居",
}

ADMISSION_INFO_EXAMPLE: Final[dict[str, Any]] = {
    "kind": "admission_info_sheet",
    "version": 1,
    "items": {
        "written_on": "2024-06-03",
        "admitted_on": "2024-06-03",
        "provided_on": "2024-06-04",
        "hospital_contact": "地域連携室 例 一郎",
        "care_manager": {
            "office_name": "例 居宅介護支援事業所",
            "name": "例 介子",
            "phone": "0120-000-001",
            "fax": "0120-000-002",
        },
        "person": {
            "name": "例 太郎",
            "name_kana": "レイ タロウ",
            "sex": "男",
            "birth_date": "1940-04-01",
            "age": 84,
            "address": "例県例市例町1-1",
            "phone": "0120-000-003",
        },
        "emergency_contact": _CONTACT,
        "home": {
            "dwelling": "戸建て",
            "floors": 2,
            "living_floor": 1,
            "elevator": False,
            "notes": "玄関に段差あり",
        },
        "insurance": {
            "care_level": "要介護2",
            "certified_from": "2024-01-01",
            "certified_until": "2025-12-31",
            "copayment": "1割",
            "disability_certificate": "なし",
            "pension": "国民年金",
        },
        "independence": {"physical": "A2", "dementia": "Ⅱa"},
        "family": {
            "household": "高齢者世帯",
            "alone_in_daytime": True,
            "main_carer": {
                "name": "例 春子",
                "relationship": "妻",
                "phone": "0120-000-003",
                "lives_with": "同居",
            },
            "key_person": _CONTACT,
            "care_capacity": "見込める",
            "notes": "妻も通院中",
        },
        "family_doctor": {
            "clinic": "例 内科クリニック",
            "doctor": "例 医師",
            "phone": "0120-000-004",
            "consultation": "通院",
            "frequency": "月1回",
        },
        "history": {"diseases": "高血圧、脳梗塞（2019年）", "recent_admissions": "なし"},
        "services": "通所介護 週2回、福祉用具貸与（車いす）",
        "living": {
            "meals": {
                "assistance": "見守り",
                "times_per_day": 3,
                "form": "きざみ",
                "route": "経口",
                "restriction": "塩分6g",
                "thickened_water": True,
                "notes": "むせに注意",
            },
            "toileting": {
                "urination": "一部介助",
                "defecation": "一部介助",
                "portable_toilet": "夜間",
                "pads": "夜間",
                "notes": "夜間頻尿",
            },
            "hygiene": {"bathing": "一部介助", "notes": "通所介護で入浴"},
            "communication": {
                "sight": "問題なし",
                "glasses": True,
                "hearing": "やや難あり",
                "hearing_aid": False,
                "speech": "問題なし",
                "understanding": "やや難あり",
                "notes": "左耳が遠い",
            },
            "oral": {
                "swallowing": "時々むせる",
                "dentures": "部分",
                "bad_breath": False,
                "notes": "上顎部分義歯",
            },
            "skin": {"pressure_ulcer": False, "notes": "仙骨部に発赤なし"},
            "mobility": {
                "moving": "見守り",
                "transfer": "一部介助",
                "getting_up": "見守り",
                "aids": "四点杖",
                "paralysis": "軽度",
                "notes": "右片麻痺",
            },
            "grooming": {"grooming": "見守り", "dressing": "一部介助", "notes": "ボタンは介助"},
            "sleep": {"state": "不良", "sleeping_pills": True, "notes": "中途覚醒あり"},
            "cognition": {"symptoms": "夕方に不穏", "notes": "日付の混乱あり"},
        },
        "medication": {
            "oral_medicine": True,
            "management": "他者による管理",
            "adherence": "時々飲み忘れ",
            "home_care_guidance": "例 薬局",
            "notes": "一包化",
        },
        "medical_care": {
            "procedures": ["酸素療法", "排便コントロール"],
            "notes": "在宅酸素 1L/分",
        },
        "allergy": {"present": True, "details": "ペニシリン系抗菌薬"},
        "wishes": {
            "person": "自宅で暮らし続けたい",
            "family": "自宅での介護を続けたい",
            "interests": "園芸",
            "life_history": "元 農業",
        },
        "outlook": {
            "requirements": "トイレまでの移動が見守りで可能",
            "abuse_suspected": False,
            "notes": "退院前に自宅訪問を希望",
        },
        "conference": {
            "ward_conference": True,
            "discharge_conference": True,
            "home_visit": True,
        },
    },
}

DISCHARGE_INFO_EXAMPLE: Final[dict[str, Any]] = {
    "kind": "discharge_info_sheet",
    "version": 1,
    "items": {
        "written_on": "2024-06-20",
        "person": {"name": "例 太郎", "name_kana": "レイ タロウ", "sex": "男", "age": 84},
        "care_level": "区分変更中",
        "stay": {
            "admitted_on": "2024-06-03",
            "planned_discharge_on": "2024-06-28",
            "cause": "誤嚥性肺炎",
            "ward": "例 病院 4階東病棟 401号室",
        },
        "follow_up": {"institution": "例 内科クリニック", "method": "訪問診療"},
        "course": {
            "current_diseases": "誤嚥性肺炎（治癒）、脳梗塞後遺症",
            "course": "抗菌薬点滴で改善。嚥下評価の上、食形態を変更",
            "prognosis": "再発の可能性あり",
            "diagnosis_told": True,
            "acceptance": "本人・妻とも理解している",
        },
        "after_care": {
            "procedures": ["酸素療法", "喀痰吸引"],
            "medication": "朝夕の内服（一包化）、妻が管理",
            "notes": "吸引器の準備が必要",
        },
        "adl": {
            "moving": "一部介助",
            "means": "車いす",
            "toileting": "ポータブルトイレ",
            "bathing": "機械浴",
            "meal_form": "嚥下障害食",
            "swallowing": "時々むせる",
            "dentures": "部分",
            "oral_care": "一部介助",
            "sleep": "良好",
            "cognition": "せん妄なし",
        },
        "needed": {
            "nursing": "吸引と口腔ケアの指導",
            "rehabilitation": "移乗練習",
            "services": "訪問看護 週2回、訪問リハビリ 週1回",
            "equipment": "介護ベッド、吸引器",
        },
        "cautions": {
            "contraindications": "水分はとろみ必須",
            "obstacles": "夜間の介護負担",
            "home_requirements": "ベッド周りの環境整備",
        },
        "wishes": {"person": "家に帰りたい", "family": "サービスを増やして自宅で看たい"},
        "informant": {"heard_on": "2024-06-20", "profession": "MSW", "name": "例 相談員"},
    },
}
