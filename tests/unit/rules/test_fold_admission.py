"""Admission side of the fold: care manager at admission and 入院時情報提供 timeliness."""

from __future__ import annotations

from datetime import date

from shared.rules.metrics import contributions
from shared.rules.rule_set import RuleSet

from .builders import CENTER, HOSPITAL, OFFICE, OFFICE_2, PATIENT, Stream, at


def test_admission_sets_the_episode_facts() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00", care_level="support_1", ward_type="community_care")
    state = s.fold()
    assert state.admitted_at == at("2024-06-03T10:00")
    assert state.admission_date == date(2024, 6, 3)
    assert state.care_level == "support_1"
    assert state.care_level_band == "support"
    assert state.ward_type == "community_care"
    assert state.patient is not None
    assert state.patient.insured_number == PATIENT["insured_number"]
    assert state.care_office_at_admission == OFFICE
    assert state.care_office_id == OFFICE
    assert state.has_care_manager_at_admission is True
    assert state.admission_info_deadline == date(2024, 6, 10)
    assert state.eligible is None
    assert state.coordinated is None
    assert state.missed is None


def test_admission_info_on_the_deadline_day_is_on_time() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00")
    s.info("2024-06-10T23:59")
    state = s.fold()
    assert state.admission_info_at == at("2024-06-10T23:59")
    assert state.admission_info_on_time is True


def test_admission_info_the_day_after_the_deadline_is_late() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00")
    s.info("2024-06-11T00:00")
    assert s.fold().admission_info_on_time is False


def test_admission_info_late_by_tokyo_date_even_if_sent_in_utc() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00")
    s.info("2024-06-10T15:30:00+00:00")  # 2024-06-11 00:30 in Tokyo
    assert s.fold().admission_info_on_time is False


def test_admission_info_before_the_admission_is_on_time() -> None:
    s = Stream()
    s.info("2024-05-30T09:00")
    s.admission("2024-06-03T10:00", care_office_id=None)
    state = s.fold()
    assert state.admission_info_on_time is True
    assert state.care_office_at_admission == OFFICE


def test_first_admission_info_decides_timeliness() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00")
    s.info("2024-06-20T10:00")
    s.info("2024-06-05T10:00")  # arrives later, happened earlier
    state = s.fold()
    assert state.admission_info_at == at("2024-06-05T10:00")
    assert state.admission_info_on_time is True


def test_pending_admission_info_is_undecided_until_the_deadline_passes() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00")
    assert s.fold(now=at("2024-06-10T23:59")).admission_info_on_time is None
    assert s.fold(now=at("2024-06-11T00:00")).admission_info_on_time is False


def test_business_day_deadline_across_golden_week_in_the_fold() -> None:
    rs = RuleSet(effective_from=date(2024, 4, 1), deadline_calendar="business")
    s = Stream()
    s.admission("2024-04-26T10:00")
    s.info("2024-05-10T17:00")
    state = s.fold(rule_sets=[rs])
    assert state.admission_info_deadline == date(2024, 5, 10)
    assert state.admission_info_on_time is True


def test_same_day_deadline_after_hours_admission_answered_next_business_day() -> None:
    rs = RuleSet(effective_from=date(2024, 4, 1), admission_info_deadline_days=0)
    s = Stream()
    s.admission("2024-06-07T19:00")  # Friday evening
    s.info("2024-06-10T09:00")  # Monday
    state = s.fold(rule_sets=[rs])
    assert state.admission_info_deadline == date(2024, 6, 10)
    assert state.admission_info_on_time is True


def test_same_day_deadline_in_hours_admission_answered_next_day_is_late() -> None:
    rs = RuleSet(effective_from=date(2024, 4, 1), admission_info_deadline_days=0)
    s = Stream()
    s.admission("2024-06-07T10:00")
    s.info("2024-06-08T09:00")
    assert s.fold(rule_sets=[rs]).admission_info_on_time is False


def test_patient_without_care_manager_has_no_admission_info_expectation() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00", care_level="none", care_office_id=None)
    state = s.fold()
    assert state.has_care_manager_at_admission is False
    assert state.care_office_at_admission is None
    assert state.admission_info_on_time is None
    [admission_side] = contributions(state)
    assert admission_side.admissions_with_care_manager == 0


def test_care_assignment_on_the_admission_date_means_a_care_manager_at_admission() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00", care_office_id=None)
    s.assign("2024-06-03T16:00", office=OFFICE_2)
    state = s.fold()
    assert state.has_care_manager_at_admission is True
    assert state.care_office_at_admission == OFFICE_2


def test_care_assignment_after_the_admission_date_is_not_at_admission() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00", care_office_id=None)
    s.assign("2024-06-04T09:00", office=OFFICE_2, poster=HOSPITAL)
    state = s.fold()
    assert state.has_care_manager_at_admission is False
    assert state.care_office_at_admission is None
    assert state.care_office_id == OFFICE_2  # responsible now


def test_admission_info_alone_means_a_care_manager_at_admission() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00", care_office_id=None)
    s.info("2024-06-12T10:00", office=CENTER)
    state = s.fold()
    assert state.has_care_manager_at_admission is True
    assert state.care_office_at_admission == CENTER
    assert state.admission_info_on_time is False


def test_office_at_admission_prefers_named_then_assigned_then_info() -> None:
    s = Stream()
    s.info("2024-06-02T10:00", office=CENTER)
    s.assign("2024-06-01T10:00", office=OFFICE_2)
    s.admission("2024-06-03T10:00", care_office_id=OFFICE)
    assert s.fold().care_office_at_admission == OFFICE
    t = Stream()
    t.info("2024-06-02T10:00", office=CENTER)
    t.assign("2024-06-01T10:00", office=OFFICE_2)
    t.admission("2024-06-03T10:00", care_office_id=None)
    assert t.fold().care_office_at_admission == OFFICE_2


def test_latest_assignment_on_or_before_admission_date_is_the_office_at_admission() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00", care_office_id=None)
    s.assign("2024-05-01T10:00", office=OFFICE)
    s.assign("2024-06-03T11:00", office=OFFICE_2)
    assert s.fold().care_office_at_admission == OFFICE_2


def test_responsible_office_now_is_the_latest_assignment() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00", care_office_id=OFFICE)
    s.assign("2024-06-15T10:00", office=OFFICE_2, poster=HOSPITAL)
    s.assign("2024-06-10T10:00", office=CENTER, poster=HOSPITAL)  # arrives later, happened earlier
    state = s.fold()
    assert state.care_office_id == OFFICE_2
    assert state.care_office_at_admission == OFFICE


def test_only_a_party_hands_over_responsibility() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00", care_office_id=OFFICE)
    s.assign("2024-06-10T10:00", office=OFFICE_2)  # OFFICE_2 names itself: no party
    assert s.fold().care_office_id == OFFICE
    s.assign("2024-06-11T10:00", office=CENTER, poster=OFFICE)  # a party hands over
    assert s.fold().care_office_id == CENTER


def test_giving_admission_info_or_being_coordinated_with_is_not_being_responsible() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00", care_office_id=None)
    s.info("2024-06-04T10:00", office=OFFICE)
    s.no_cm_referral("2024-06-05T10:00", to=CENTER)
    state = s.fold()
    assert state.care_office_id is None
    assert state.care_office_known is True
    assert state.has_care_manager is True


def test_admission_info_after_discharge_is_not_provided() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00")
    s.discharge("2024-06-05T10:00")
    s.info("2024-06-06T10:00")
    state = s.fold()
    admission_side = contributions(state)[0]
    assert admission_side.side == "admission"
    assert admission_side.admissions_with_care_manager == 1
    assert admission_side.admission_info_provided == 0
    assert admission_side.admission_info_on_time == 0


def test_admission_info_while_still_in_hospital_is_provided() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00")
    s.info("2024-06-04T10:00")
    [admission_side] = contributions(s.fold())
    assert admission_side.admission_info_provided == 1
    assert admission_side.admission_info_on_time == 1


def test_planned_discharge_date_is_the_latest_set_by_occurred_at() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00", planned=date(2024, 6, 30))
    s.plan("2024-06-10T10:00", date(2024, 6, 25))
    s.coordination("2024-06-12T10:00", planned=date(2024, 6, 27))
    s.plan("2024-06-05T10:00", date(2024, 7, 15))  # late arrival of an older plan
    assert s.fold().planned_discharge_date == date(2024, 6, 27)


def test_coordination_without_a_date_does_not_erase_the_plan() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00", planned=date(2024, 6, 30))
    s.coordination("2024-06-12T10:00")
    assert s.fold().planned_discharge_date == date(2024, 6, 30)


def test_rule_set_in_force_is_chosen_by_admission_date() -> None:
    v1 = RuleSet(effective_from=date(2024, 4, 1), admission_info_deadline_days=3)
    v2 = RuleSet(effective_from=date(2024, 6, 4), admission_info_deadline_days=1)
    early = Stream()
    early.admission("2024-06-03T23:00")
    early.discharge("2024-06-20T10:00")
    state = early.fold(rule_sets=[v2, v1])
    assert state.rule_set == v1
    assert state.admission_info_deadline == date(2024, 6, 6)
    late = Stream()
    late.admission("2024-06-04T00:00")
    assert late.fold(rule_sets=[v1, v2]).admission_info_deadline == date(2024, 6, 5)


def test_admission_before_the_first_rule_set_uses_defaults() -> None:
    v1 = RuleSet(effective_from=date(2024, 4, 1), admission_info_deadline_days=3)
    s = Stream()
    s.admission("2024-03-31T10:00")
    state = s.fold(rule_sets=[v1])
    assert state.rule_set.effective_from == date(2000, 1, 1)
    assert state.admission_info_deadline == date(2024, 4, 7)
