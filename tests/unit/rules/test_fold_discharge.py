"""Discharge side of the fold: eligibility, 退院調整 and 退院調整漏れ."""

from __future__ import annotations

from datetime import date

import pytest

from shared.rules.rule_set import RuleSet

from .builders import CENTER, HOSPITAL, OFFICE, OFFICE_2, Stream, at


def admitted(care_level: str = "care_2", care_office_id: str | None = OFFICE) -> Stream:
    s = Stream()
    s.admission("2024-06-03T10:00", care_level=care_level, care_office_id=care_office_id)
    return s


def test_discharge_without_prior_coordination_is_missed() -> None:
    s = admitted()
    s.discharge("2024-06-20T11:00")
    state = s.fold()
    assert state.discharged_at == at("2024-06-20T11:00")
    assert state.discharge_date == date(2024, 6, 20)
    assert state.destination == "home"
    assert (state.eligible, state.coordinated, state.missed) == (True, False, True)
    assert state.coordination_lead_days is None
    assert state.coordination_on_time is None


def test_coordination_seven_days_before_is_coordinated_on_time() -> None:
    s = admitted()
    s.coordination("2024-06-13T17:00")
    s.discharge("2024-06-20T11:00")
    state = s.fold()
    assert (state.eligible, state.coordinated, state.missed) == (True, True, False)
    assert state.coordination_lead_days == 7
    assert state.coordination_on_time is True
    assert state.first_coordination_at == at("2024-06-13T17:00")


def test_coordination_six_days_before_is_late_but_not_missed() -> None:
    s = admitted()
    s.coordination("2024-06-14T09:00")
    s.discharge("2024-06-20T11:00")
    state = s.fold()
    assert state.missed is False
    assert state.coordinated is True
    assert state.coordination_lead_days == 6
    assert state.coordination_on_time is False


def test_lead_days_use_the_first_coordination_and_tokyo_dates() -> None:
    s = admitted()
    s.coordination("2024-06-18T10:00")
    s.coordination("2024-06-12T15:30:00+00:00")  # 2024-06-13 00:30 Tokyo
    s.discharge("2024-06-20T08:00")
    state = s.fold()
    assert state.coordination_lead_days == 7
    assert state.coordination_on_time is True


def test_coordination_exactly_at_discharge_time_is_coordinated() -> None:
    s = admitted()
    s.discharge("2024-06-20T11:00")
    s.coordination("2024-06-20T02:00:00+00:00")  # same instant, other offset
    state = s.fold()
    assert state.coordinated is True
    assert state.missed is False
    assert state.coordination_lead_days == 0


def test_coordination_after_the_discharge_is_eligible_and_missed() -> None:
    s = admitted()
    s.discharge("2024-06-20T11:00")
    s.coordination("2024-06-20T11:01")
    state = s.fold()
    assert (state.eligible, state.coordinated, state.missed) == (True, False, True)
    assert state.first_coordination_at == at("2024-06-20T11:01")


def test_late_arriving_coordination_that_happened_before_discharge_is_not_missed() -> None:
    s = admitted()
    s.discharge("2024-06-20T11:00")
    assert s.fold().missed is True
    s.coordination("2024-06-19T15:00")  # reported after the discharge was posted
    state = s.fold()
    assert state.missed is False
    assert state.coordinated is True


@pytest.mark.parametrize("kind", ["conference", "no_cm_referral"])
def test_conference_and_no_cm_referral_count_as_coordination(kind: str) -> None:
    s = admitted()
    if kind == "conference":
        s.conference("2024-06-18T14:00")
    else:
        s.no_cm_referral("2024-06-18T14:00")
    s.discharge("2024-06-20T11:00")
    state = s.fold()
    assert state.coordinated is True
    assert state.missed is False


def test_patient_without_care_manager_referred_via_no_cm_referral_is_eligible_and_coordinated() -> (
    None
):
    s = admitted(care_level="none", care_office_id=None)
    s.no_cm_referral("2024-06-15T10:00", to=CENTER)
    s.discharge("2024-06-20T11:00")
    state = s.fold()
    assert (state.eligible, state.coordinated, state.missed) == (True, True, False)
    assert state.care_office_at_discharge == CENTER


@pytest.mark.parametrize("care_level", ["none", "unknown"])
def test_care_level_none_or_unknown_without_care_manager_is_not_eligible(care_level: str) -> None:
    s = admitted(care_level=care_level, care_office_id=None)
    s.discharge("2024-06-20T11:00")
    state = s.fold()
    assert (state.eligible, state.coordinated, state.missed) == (False, False, False)


@pytest.mark.parametrize(
    "care_level",
    ["support_1", "support_2", "care_1", "care_2", "care_3", "care_4", "care_5", "applying"],
)
def test_any_care_level_in_scope_makes_the_discharge_eligible(care_level: str) -> None:
    s = admitted(care_level=care_level, care_office_id=None)
    s.discharge("2024-06-20T11:00")
    assert s.fold().eligible is True


def test_care_level_none_with_named_care_office_is_eligible() -> None:
    s = admitted(care_level="none", care_office_id=OFFICE)
    s.discharge("2024-06-20T11:00")
    assert s.fold().missed is True


def test_care_manager_must_be_known_strictly_before_the_discharge() -> None:
    s = admitted(care_level="unknown", care_office_id=None)
    s.discharge("2024-06-20T11:00")
    s.assign("2024-06-20T11:00")
    s.info("2024-06-20T11:00")
    assert s.fold().eligible is False
    s.assign("2024-06-20T10:59")
    assert s.fold().eligible is True


def test_admission_info_before_discharge_makes_it_eligible() -> None:
    s = admitted(care_level="unknown", care_office_id=None)
    s.info("2024-06-04T10:00")
    s.discharge("2024-06-20T11:00")
    assert s.fold().eligible is True


def test_coordination_after_discharge_makes_a_no_care_level_patient_eligible_and_missed() -> None:
    s = admitted(care_level="none", care_office_id=None)
    s.discharge("2024-06-20T11:00")
    s.coordination("2024-06-21T10:00", to=OFFICE_2)
    state = s.fold()
    assert (state.eligible, state.missed) == (True, True)
    assert state.care_office_at_discharge == OFFICE_2


@pytest.mark.parametrize(
    ("destination", "eligible"),
    [
        ("home", True),
        ("residential_care", True),
        ("other", True),
        ("other_hospital", False),
        ("death", False),
    ],
)
def test_transfer_and_death_are_excluded(destination: str, eligible: bool) -> None:
    s = admitted()
    s.discharge("2024-06-20T11:00", destination=destination)
    state = s.fold()
    assert state.eligible is eligible
    assert state.missed is eligible


def test_region_may_change_excluded_destinations() -> None:
    rs = RuleSet(effective_from=date(2024, 1, 1), excluded_destinations=("death", "other"))
    s = admitted()
    s.discharge("2024-06-20T11:00", destination="other_hospital")
    assert s.fold(rule_sets=[rs]).eligible is True
    t = admitted()
    t.discharge("2024-06-20T11:00", destination="other")
    assert t.fold(rule_sets=[rs]).eligible is False


@pytest.mark.parametrize("when", ["2024-06-04T10:00", "2024-06-25T10:00"])
def test_respite_scope_exclusion_at_any_time_excludes_the_discharge(when: str) -> None:
    s = admitted()
    s.exclusion(when, reason="respite")
    s.discharge("2024-06-20T11:00")
    state = s.fold()
    assert state.scope_excluded is True
    assert (state.eligible, state.missed) == (False, False)


@pytest.mark.parametrize(
    ("discharged", "max_days", "short"),
    [
        ("2024-06-05T10:00", 2, True),
        ("2024-06-06T09:00", 2, False),
        ("2024-06-03T18:00", 0, True),
        ("2024-06-05T10:00", None, False),
    ],
)
def test_short_stay_is_out_of_scope(discharged: str, max_days: int | None, short: bool) -> None:
    rs = RuleSet(effective_from=date(2024, 1, 1), short_stay_max_days=max_days)
    s = admitted()
    s.discharge(discharged)
    state = s.fold(rule_sets=[rs])
    assert state.short_stay is short
    assert state.eligible is (not short)


def test_length_of_stay_counts_tokyo_dates() -> None:
    s = admitted()
    s.discharge("2024-06-05T15:30:00+00:00")  # 2024-06-06 00:30 Tokyo
    assert s.fold().length_of_stay_days == 3


def test_earliest_admission_and_latest_discharge_are_the_episode() -> None:
    s = Stream()
    s.admission("2024-06-05T10:00", care_level="care_5", ward_type="long_term")
    s.admission("2024-06-03T10:00", care_level="care_1", ward_type="general")
    s.discharge("2024-06-10T10:00")
    s.coordination("2024-06-12T10:00")
    s.discharge("2024-06-15T10:00", destination="residential_care")
    state = s.fold()
    assert state.admitted_at == at("2024-06-03T10:00")
    # the latest admission to set them gives the care level and ward type (domain.md)
    assert (state.care_level, state.ward_type) == ("care_5", "long_term")
    assert state.discharged_at == at("2024-06-15T10:00")
    assert state.destination == "residential_care"
    assert state.coordinated is True
    assert state.coordination_lead_days == 3


def test_office_at_discharge_is_the_latest_assigned_before_the_discharge() -> None:
    s = admitted(care_office_id=OFFICE)
    s.assign("2024-06-10T10:00", office=OFFICE_2, poster=HOSPITAL)
    s.assign("2024-06-20T11:00", office=CENTER, poster=HOSPITAL)  # at the discharge: not before
    s.discharge("2024-06-20T11:00")
    state = s.fold()
    assert state.care_office_at_discharge == OFFICE_2
    assert state.care_office_id == CENTER


def test_office_at_discharge_falls_back_to_named_then_info_then_coordination_target() -> None:
    named = admitted(care_office_id=OFFICE)
    named.info("2024-06-04T10:00", office=OFFICE_2)
    named.discharge()
    assert named.fold().care_office_at_discharge == OFFICE
    info = admitted(care_office_id=None)
    info.info("2024-06-04T10:00", office=OFFICE_2)
    info.coordination("2024-06-10T10:00", to=CENTER)
    info.discharge()
    assert info.fold().care_office_at_discharge == OFFICE_2
    target = admitted(care_office_id=None)
    target.conference("2024-06-10T10:00", participants=[HOSPITAL, CENTER, OFFICE])
    target.coordination("2024-06-11T10:00", to=OFFICE_2)
    target.discharge()
    state = target.fold()
    assert state.care_office_at_discharge == CENTER
    assert state.care_office_id is None  # coordinated with, never named or assigned


def test_a_death_with_coordination_is_coordinated_but_not_eligible() -> None:
    s = admitted()
    s.coordination("2024-06-10T10:00")
    s.discharge("2024-06-20T11:00", destination="death")
    state = s.fold()
    assert (state.eligible, state.coordinated, state.missed) == (False, True, False)
