"""The demo scenario is deterministic, valid, imperfect on purpose, and agrees with the engine."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, date, datetime
from functools import cache

import pytest

from services.cli.demo.post import rounds
from services.cli.demo.scenario import Params, Scenario, generate
from shared.access.principal import Principal
from shared.events.checks import authorize_party
from shared.rules.events import CARE_OFFICE_TYPES, EVENT_ADAPTER, RecordedEvent
from shared.rules.fold import fold
from shared.rules.metrics import contributions

PARAMS = Params(
    hospitals=6, care_offices=40, support_centers=4, months=2, episodes_per_hospital_month=40,
    start=date(2024, 5, 1),
)  # fmt: skip
NOW = datetime(2030, 1, 1, tzinfo=UTC)
IMPERFECTIONS = (
    "late_admission_info",
    "missing_admission_info",
    "admission_info_before_admission",
    "out_of_order_admission_info",
    "care_assignment",
    "care_manager_change",
    "no_coordination",
    "coordination_after_discharge",
    "late_reported_coordination",
    "late_coordination",
    "discharge_conference",
    "no_cm_referral",
    "transfer",
    "death",
    "respite",
    "corrected_admission",
    "corrected_admission_info",
    "corrected_discharge",
    "duplicate_post",
    "utc_clock",
)


@cache
def scenario(seed: int = 1) -> Scenario:
    return generate(PARAMS, seed)


def test_same_seed_gives_the_same_scenario_and_another_seed_does_not() -> None:
    assert generate(PARAMS, 1) == scenario(1)
    assert generate(PARAMS, 2).posts != scenario(1).posts


def test_every_body_passes_the_real_event_validation() -> None:
    for post in scenario().posts:
        EVENT_ADAPTER.validate_python(post.body)


def test_organizations_look_like_real_codes_and_posters_exist() -> None:
    s = scenario()
    kinds = {o.id: o.kind for o in s.organizations}
    assert len(kinds) == len(s.organizations)
    for org in s.organizations:
        assert re.fullmatch(r"46[1789]\d{7}", org.id)
        assert re.fullmatch(r"\d{6}", org.municipality_code)
    for post in s.posts:
        kind = kinds[post.poster_org_id]
        if kind == "hospital":
            assert post.body["hospital_id"] == post.poster_org_id
        else:
            assert post.body["type"] in CARE_OFFICE_TYPES


def test_each_imperfection_appears() -> None:
    seen = {kind for e in scenario().expected for kind in e.kinds}
    assert set(IMPERFECTIONS) <= seen
    assert scenario().planned_duplicates > 0


def test_cancels_follow_their_targets_and_duplicates_repeat_identical_bodies() -> None:
    first: dict[str, dict[str, object]] = {}
    for post in scenario().posts:
        body = post.body
        if body["event_id"] in first:
            assert first[body["event_id"]] == body
        if body["type"] == "cancel":
            assert body["cancels_event_id"] in first
        first.setdefault(body["event_id"], body)


def _engine_view(s: Scenario) -> dict[tuple[str, str], list[RecordedEvent]]:
    streams: dict[tuple[str, str], list[RecordedEvent]] = defaultdict(list)
    for seq, post in enumerate(s.posts, start=1):
        event = EVENT_ADAPTER.validate_python(post.body)
        key = (event.hospital_id, event.encounter_ref)
        streams[key].append(RecordedEvent(event=event, seq=seq, poster_org_id=post.poster_org_id))
    return streams


@pytest.mark.parametrize("seed", [1, 7])
def test_expected_truth_matches_the_rule_engine(seed: int) -> None:
    s = scenario(seed)
    streams = _engine_view(s)
    assert len(streams) == len(s.expected)
    mismatches = []
    for exp in s.expected:
        state = fold(streams[(exp.hospital_id, exp.encounter_ref)], [], NOW)
        by_side = {c.side: c for c in contributions(state)}
        adm, dis = by_side["admission"], by_side["discharge"]
        got = {
            "admission_date": adm.day,
            "discharge_date": dis.day,
            "care_office_at_admission": adm.care_office_id,
            "care_office_at_discharge": dis.care_office_id,
            "insurer_number": adm.insurer_number,
            "ward_type": adm.ward_type,
            "care_level_band": adm.care_level_band,
            "with_care_manager": bool(adm.admissions_with_care_manager),
            "info_provided": bool(adm.admission_info_provided),
            "info_on_time": bool(adm.admission_info_on_time),
            "eligible": bool(dis.eligible_discharges),
            "coordinated": bool(dis.coordinated_discharges),
            "coordination_on_time": bool(dis.coordination_on_time),
            "lead_days": dis.lead_days,
        }
        want = {name: getattr(exp, name) for name in got}
        if got != want:
            diff = {k: (want[k], got[k]) for k in got if got[k] != want[k]}
            mismatches.append((exp.hospital_id, exp.encounter_ref, exp.kinds, diff))
    assert not mismatches, mismatches[:5]


def test_a_rounds_batches_never_split_a_stays_run() -> None:
    """Batches of one round go in parallel: a stay's run split in two could arrive out of order."""
    for batches in rounds(scenario().posts, size=7):
        where: dict[tuple[str, str], int] = {}
        for i, batch in enumerate(batches):
            for post in batch:
                stay = (post.body["hospital_id"], post.body["encounter_ref"])
                assert where.setdefault(stay, i) == i, f"{stay} is in two batches of one round"


def test_every_resend_and_a_rerun_are_duplicates_not_refusals() -> None:
    """A planned duplicate is answered as one (200), not refused (403), and so is every post of a
    re-run (the whole stay is in by then): each office posting is a party, or posts before the
    admission. The default region's size (11,520 stays), where `handover demo` met refusals."""
    stays: dict[tuple[str, str], list[RecordedEvent]] = defaultdict(list)
    office_posts: list[tuple[tuple[str, str], str]] = []
    seen: set[str] = set()
    for seq, post in enumerate(generate(Params(start=date(2025, 9, 1)), 1).posts, start=1):
        event = EVENT_ADAPTER.validate_python(post.body)
        stay = (event.hospital_id, event.encounter_ref)
        if post.poster_org_id != event.hospital_id:
            office_posts.append((stay, post.poster_org_id))
            if post.body["event_id"] in seen:
                authorize_party(_office(post.poster_org_id), fold(stays[stay], [], NOW))
        seen.add(post.body["event_id"])
        stays[stay].append(RecordedEvent(event=event, seq=seq, poster_org_id=post.poster_org_id))
    finals = {stay: fold(records, [], NOW) for stay, records in stays.items()}
    for stay, office in office_posts:
        authorize_party(_office(office), finals[stay])


def _office(org_id: str) -> Principal:
    return Principal(key_id=None, organization_id=org_id, role="care_office")
