"""Flags computed at `now`: 退院調整漏れ, overdue 入院時情報提供, coordination due."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from shared.rules.calendar import add_business_days, shift_days
from shared.rules.flags import FlagSpec, open_flags
from shared.rules.rule_set import RuleSet

from .builders import HOSPITAL, OFFICE, OFFICE_2, Stream, at


def kinds(flags: list[FlagSpec]) -> list[str]:
    return [f.kind for f in flags]


def flag(s: Stream, now: str, kind: str, rule_sets: list[RuleSet] | None = None) -> FlagSpec | None:
    state = s.fold(now=at(now), rule_sets=rule_sets or [])
    found = [f for f in open_flags(state, at(now)) if f.kind == kind]
    assert len(found) <= 1
    return found[0] if found else None


def informed_stream() -> Stream:
    s = Stream()
    s.admission("2024-06-03T10:00")
    s.info("2024-06-04T10:00")
    return s


def test_missed_coordination_flag_is_raised_for_an_eligible_discharge() -> None:
    s = informed_stream()
    s.discharge("2024-06-20T11:00")
    found = flag(s, "2024-06-20T11:05", "missed_discharge_coordination")
    assert found is not None
    assert found.party_org_id == HOSPITAL
    assert found.since == at("2024-06-20T11:00")
    assert found.detail["discharge_date"] == "2024-06-20"
    assert found.detail["coordinated_after_discharge"] is False


def test_missed_coordination_flag_is_not_raised_before_the_discharge_time() -> None:
    s = informed_stream()
    s.discharge("2024-06-20T11:00")
    assert flag(s, "2024-06-20T10:59", "missed_discharge_coordination") is None


def test_missed_coordination_flag_stays_when_coordination_comes_after_discharge() -> None:
    s = informed_stream()
    s.discharge("2024-06-20T11:00")
    s.coordination("2024-06-21T09:00")
    found = flag(s, "2024-06-22T09:00", "missed_discharge_coordination")
    assert found is not None
    assert found.detail["coordinated_after_discharge"] is True


def test_missed_coordination_flag_clears_with_a_late_reported_earlier_coordination() -> None:
    s = informed_stream()
    s.discharge("2024-06-20T11:00")
    assert flag(s, "2024-06-21T09:00", "missed_discharge_coordination") is not None
    s.coordination("2024-06-19T09:00")
    assert flag(s, "2024-06-21T09:00", "missed_discharge_coordination") is None


def test_missed_coordination_flag_clears_when_the_discharge_is_cancelled() -> None:
    s = informed_stream()
    discharge = s.discharge("2024-06-20T11:00")
    s.cancel("2024-06-20T12:00", discharge)
    assert flag(s, "2024-06-21T09:00", "missed_discharge_coordination") is None


def test_no_missed_flag_for_a_coordinated_or_ineligible_discharge() -> None:
    coordinated = informed_stream()
    coordinated.coordination("2024-06-18T10:00")
    coordinated.discharge("2024-06-20T11:00")
    assert open_flags(coordinated.fold(), at("2024-06-21T00:00")) == []
    death = informed_stream()
    death.discharge("2024-06-20T11:00", destination="death")
    assert open_flags(death.fold(), at("2024-06-21T00:00")) == []
    no_level = Stream()
    no_level.admission("2024-06-03T10:00", care_level="none", care_office_id=None)
    no_level.discharge("2024-06-20T11:00")
    assert open_flags(no_level.fold(), at("2024-06-21T00:00")) == []


def test_admission_info_overdue_is_raised_the_day_after_the_deadline() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00")
    assert flag(s, "2024-06-10T23:59", "admission_info_overdue") is None
    found = flag(s, "2024-06-11T00:00", "admission_info_overdue")
    assert found is not None
    assert found.party_org_id == OFFICE
    assert found.since == at("2024-06-11T00:00")
    assert found.detail == {"admission_date": "2024-06-03", "deadline": "2024-06-10"}


def test_admission_info_overdue_names_the_office_responsible_now() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00")
    s.assign("2024-06-05T10:00", office=OFFICE_2, poster=HOSPITAL)
    found = flag(s, "2024-06-12T09:00", "admission_info_overdue")
    assert found is not None
    assert found.party_org_id == OFFICE_2


def test_an_office_naming_itself_does_not_take_the_overdue_flag() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00")
    s.assign("2024-06-05T10:00", office=OFFICE_2)  # posted by OFFICE_2, no party
    found = flag(s, "2024-06-12T09:00", "admission_info_overdue")
    assert found is not None
    assert found.party_org_id == OFFICE


def test_admission_info_overdue_clears_when_late_info_arrives() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00")
    s.info("2024-06-12T10:00")
    assert flag(s, "2024-06-13T09:00", "admission_info_overdue") is None
    assert s.fold(now=at("2024-06-13T09:00")).admission_info_on_time is False


def test_admission_info_overdue_not_raised_without_a_care_manager() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00", care_level="care_1", care_office_id=None)
    assert flag(s, "2024-06-20T09:00", "admission_info_overdue") is None


def test_admission_info_overdue_follows_the_business_day_deadline() -> None:
    rs = [RuleSet(effective_from=date(2024, 4, 1), deadline_calendar="business")]
    s = Stream()
    s.admission("2024-04-26T10:00")
    assert flag(s, "2024-05-10T18:00", "admission_info_overdue", rs) is None
    found = flag(s, "2024-05-11T00:00", "admission_info_overdue", rs)
    assert found is not None
    assert found.since == at("2024-05-11T00:00")


def planned_stream(
    planned: date, care_level: str = "care_2", office: str | None = OFFICE
) -> Stream:
    s = Stream()
    s.admission("2024-06-03T10:00", care_level=care_level, care_office_id=office)
    if office is not None:
        s.info("2024-06-04T10:00")
    s.plan("2024-06-05T10:00", planned)
    return s


def test_coordination_due_is_raised_within_the_lead_window() -> None:
    s = planned_stream(date(2024, 6, 20))
    assert flag(s, "2024-06-12T23:59", "discharge_coordination_due") is None
    found = flag(s, "2024-06-13T00:00", "discharge_coordination_due")
    assert found is not None
    assert found.party_org_id == HOSPITAL
    assert found.since == at("2024-06-13T00:00")
    assert found.detail["planned_discharge_date"] == "2024-06-20"


def test_coordination_due_stays_raised_after_the_planned_date_passes() -> None:
    s = planned_stream(date(2024, 6, 20))
    assert flag(s, "2024-06-25T09:00", "discharge_coordination_due") is not None


def test_coordination_due_clears_when_coordination_arrives() -> None:
    s = planned_stream(date(2024, 6, 20))
    s.conference("2024-06-14T10:00")
    assert flag(s, "2024-06-15T09:00", "discharge_coordination_due") is None


def test_coordination_due_clears_when_the_plan_moves() -> None:
    s = planned_stream(date(2024, 6, 20))
    assert flag(s, "2024-06-15T09:00", "discharge_coordination_due") is not None
    s.plan("2024-06-15T08:00", date(2024, 7, 10))
    assert flag(s, "2024-06-15T09:00", "discharge_coordination_due") is None


def test_coordination_due_uses_the_rule_set_lead_days() -> None:
    rs = [RuleSet(effective_from=date(2024, 1, 1), discharge_notice_lead_days=3)]
    s = planned_stream(date(2024, 6, 20))
    assert flag(s, "2024-06-16T09:00", "discharge_coordination_due", rs) is None
    assert flag(s, "2024-06-17T09:00", "discharge_coordination_due", rs) is not None


def test_coordination_due_not_raised_after_discharge_or_out_of_scope() -> None:
    discharged = planned_stream(date(2024, 6, 20))
    discharged.discharge("2024-06-19T10:00")
    assert flag(discharged, "2024-06-19T12:00", "discharge_coordination_due") is None
    no_level = planned_stream(date(2024, 6, 20), care_level="unknown", office=None)
    assert flag(no_level, "2024-06-19T12:00", "discharge_coordination_due") is None
    respite = planned_stream(date(2024, 6, 20))
    respite.exclusion("2024-06-03T10:00")
    assert flag(respite, "2024-06-19T12:00", "discharge_coordination_due") is None


def test_no_flags_without_a_planned_date_within_deadline_and_before_discharge() -> None:
    s = informed_stream()
    assert open_flags(s.fold(), at("2024-06-05T09:00")) == []


def test_several_flags_can_be_open_at_once() -> None:
    s = Stream()
    s.admission("2024-06-03T10:00", planned=date(2024, 6, 12))
    assert kinds(open_flags(s.fold(), at("2024-06-11T09:00"))) == [
        "admission_info_overdue",
        "discharge_coordination_due",
    ]


def test_flags_need_an_admission() -> None:
    s = Stream()
    s.assign("2024-06-01T10:00", office=OFFICE)
    s.plan("2024-06-05T10:00", date(2024, 6, 10))
    s.discharge("2024-06-20T11:00")
    assert open_flags(s.fold(), at("2024-06-21T09:00")) == []


def test_extreme_stored_dates_saturate_instead_of_raising() -> None:
    """Legacy rows or a rule bug may hold 0001-01-02 or 9999-12-31: flags must still compute."""
    folded = planned_stream(date(2024, 6, 20)).fold(now=at("2024-06-10T09:00"))
    earliest = replace(folded, planned_discharge_date=date(1, 1, 2))
    due = [
        f
        for f in open_flags(earliest, at("2024-06-10T09:00"))
        if f.kind != "admission_info_overdue"
    ]
    assert kinds(due) == ["discharge_coordination_due"]
    assert due[0].since == datetime.min.replace(tzinfo=UTC)  # saturated, still storable
    latest = replace(
        informed_stream().fold(now=at("2024-06-10T09:00")),
        admission_info_at=None,
        admission_info_deadline=date.max,
    )
    assert "admission_info_overdue" not in kinds(open_flags(latest, at("2024-06-10T09:00")))


def test_shift_days_saturates_at_the_ends_of_the_calendar() -> None:
    assert shift_days(date(1, 1, 2), -7) == date.min
    assert shift_days(date(9999, 12, 30), 3) == date.max
    assert shift_days(date(2024, 6, 20), -7) == date(2024, 6, 13)
    assert add_business_days(date(9999, 12, 30), 5) == date.max
