"""Rule-set parameters (入退院支援ルール) and version selection by admission date."""

from __future__ import annotations

from datetime import date, time
from typing import Any

import pytest
from pydantic import ValidationError

from shared.rules.rule_set import DEFAULT_RULE_SET, RuleSet, rule_set_for


def test_defaults_match_the_domain_table() -> None:
    rs = DEFAULT_RULE_SET
    assert rs.effective_from == date(2000, 1, 1)
    assert rs.admission_info_deadline_days == 7
    assert rs.deadline_calendar == "calendar"
    assert rs.after_hours_rolls_to_next_day is True
    assert (rs.office_opens, rs.office_closes) == (time(8, 30), time(17, 30))
    assert rs.discharge_notice_lead_days == 7
    assert rs.excluded_destinations == ("other_hospital", "death")
    assert rs.short_stay_max_days is None


@pytest.mark.parametrize(
    "params",
    [
        {"office_opens": "17:30", "office_closes": "08:30"},
        {"office_opens": "09:00", "office_closes": "09:00"},
        {"admission_info_deadline_days": -1},
        {"admission_info_deadline_days": 61},
        {"discharge_notice_lead_days": 61},
        {"deadline_calendar": "lunar"},
        {"excluded_destinations": ["mars"]},
        {"short_stay_max_days": -1},
        {"region": "kagoshima"},
    ],
)
def test_invalid_parameters_are_rejected(params: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        RuleSet.model_validate({"effective_from": "2024-04-01", **params})


def test_rule_set_parses_json_parameters() -> None:
    rs = RuleSet.model_validate_json(
        '{"effective_from": "2024-04-01", "admission_info_deadline_days": 2,'
        ' "deadline_calendar": "business", "office_opens": "09:00", "office_closes": "17:00",'
        ' "excluded_destinations": ["death"], "short_stay_max_days": 1}'
    )
    assert rs.admission_info_deadline_days == 2
    assert rs.deadline_calendar == "business"
    assert rs.office_opens == time(9)
    assert rs.excluded_destinations == ("death",)


V2015 = RuleSet(effective_from=date(2015, 2, 1), admission_info_deadline_days=3)
V2024 = RuleSet(effective_from=date(2024, 6, 1), admission_info_deadline_days=2)


def test_no_versions_means_the_defaults() -> None:
    assert rule_set_for([], date(2024, 6, 3)) == DEFAULT_RULE_SET


def test_date_before_the_first_version_uses_the_defaults() -> None:
    assert rule_set_for([V2015, V2024], date(2015, 1, 31)) == DEFAULT_RULE_SET


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2015, 2, 1), V2015),
        (date(2024, 5, 31), V2015),
        (date(2024, 6, 1), V2024),
        (date(2030, 1, 1), V2024),
    ],
)
def test_latest_version_effective_on_the_date_is_chosen(on: date, expected: RuleSet) -> None:
    assert rule_set_for([V2024, V2015], on) == expected
    assert rule_set_for([V2015, V2024], on) == expected
