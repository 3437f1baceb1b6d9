"""One stay's story: the events a region really sends, and what the default rule should count."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from services.cli.demo.model import (
    ADMISSION_STORIES,
    CARE_LEVELS,
    CHANNELS,
    DISCHARGE_STORIES,
    EXCLUDED_DESTINATIONS,
    INFO_DEADLINE_DAYS,
    NOTICE_LEAD_DAYS,
    WARDS,
    Cast,
    Expected,
    TimedPost,
    at_day,
    band,
    pick,
)
from shared.rules.zone import TOKYO

ON_TIME_ENDINGS = ("coordinated", "discharge_conference", "late_reported_coordination")


@dataclass(frozen=True, slots=True)
class Plan:
    """Every decision about one stay, taken before any event is written."""

    level: str
    ward: str
    office: str | None  # care office (or centre for 要支援) responsible at admission
    story: str  # admission side
    ending: str  # discharge side
    change_to: str | None  # care manager changed during the stay
    admitted_at: datetime
    discharged_at: datetime
    destination: str

    @property
    def los(self) -> int:
        return (self.discharged_at.date() - self.admitted_at.date()).days

    @property
    def target(self) -> str | None:
        """Who coordination goes to, and so the office responsible at discharge."""
        return self.change_to or self.office


def decide(rng: random.Random, cast: Cast, admitted_at: datetime) -> Plan:
    """Draw the stay's story; lengths of stay leave room for what the story needs."""
    level, ward = pick(rng, CARE_LEVELS), pick(rng, WARDS)
    office = None
    if level.startswith("care_"):
        office = rng.choice(cast.care_offices)
    elif level.startswith("support_"):
        office = cast.support_center
    if office is not None:
        story, ending = pick(rng, ADMISSION_STORIES), pick(rng, DISCHARGE_STORIES)
    else:
        no_cm = {"no_cm_referral": 80, "no_coordination": 20}
        story = "no_care_manager"
        ending = pick(
            rng, no_cm if level == "applying" else {"no_cm_referral": 50, "independent": 50}
        )
    change_to = None
    if office and level.startswith("care_") and rng.random() < 0.08:
        change_to = rng.choice([o for o in cast.care_offices if o != office] or [office])
    los = 3 + int(rng.gammavariate(2.0, 8.0))
    los = max(los, 15 if story == "late_admission_info" else 3)
    los = max(los, 12 if ending in ON_TIME_ENDINGS else 3, 20 if change_to else 3)
    los = min(los, 60)
    discharge_day = admitted_at.date() + timedelta(days=los)
    destination = {"transfer": "other_hospital", "death": "death"}.get(ending) or pick(
        rng, {"home": 80, "residential_care": 15, "other": 5}
    )
    discharged_at = at_day(discharge_day, rng.randint(10, 15), rng.choice([0, 30]))
    return Plan(level, ward, office, story, ending, change_to, admitted_at, discharged_at,
                destination)  # fmt: skip


DEMO_EVENTS: Final = uuid.UUID("6f2a1c4e-8b7d-5e90-a1b2-c3d4e5f60718")  # uuid5 namespace


class Story:
    """Writes one stay's posts, each with the moment it is reported (its posting order)."""

    def __init__(self, rng: random.Random, cast: Cast, ref: str) -> None:
        self.rng, self.cast, self.ref = rng, cast, ref
        self.posts: list[TimedPost] = []
        self.kinds: set[str] = {"utc_clock"} if cast.utc_clock else set()

    def post(self, type_: str, at: datetime, poster: str, report_at: datetime,
             **fields: Any) -> dict[str, Any]:  # fmt: skip
        stamp = at.astimezone(TOKYO).isoformat()
        if poster == self.cast.hospital_id and self.cast.utc_clock:
            stamp = at.astimezone(UTC).isoformat().replace("+00:00", "Z")
        # Named by the stay and its place in it: the same seed and region post the same ids
        # (a re-run is all duplicates); another seed or region names other stays and ids.
        event_id = str(
            uuid.uuid5(DEMO_EVENTS, f"{self.cast.hospital_id}/{self.ref}/{len(self.posts)}")
        )
        body = {"event_id": event_id, "type": type_, "occurred_at": stamp,
                "hospital_id": self.cast.hospital_id, "encounter_ref": self.ref,
                **fields}  # fmt: skip
        self.posts.append(TimedPost(report_at, poster, body))
        return body

    def hospital(self, type_: str, at: datetime, report_at: datetime, **fields: Any) -> None:
        self.post(type_, at, self.cast.hospital_id, report_at, **fields)

    def corrected(self, kind: str, wrong: dict[str, Any], report_at: datetime,
                  poster: str) -> datetime:  # fmt: skip
        """A correction is a cancel plus a new event; returns when the new event is reported."""
        self.kinds.add(kind)
        cancel_at = report_at + timedelta(hours=self.rng.randint(2, 20))
        self.post("cancel", cancel_at, poster, cancel_at, cancels_event_id=wrong["event_id"])
        return cancel_at + timedelta(minutes=1)

    def minutes(self, low: int, high: int) -> timedelta:
        return timedelta(minutes=self.rng.randint(low, high))

    def write(self, admitted_at: datetime) -> tuple[list[TimedPost], Expected]:
        """Post the plan's events (with its imperfections) and derive the stay's truth."""
        rng, plan = self.rng, decide(self.rng, self.cast, admitted_at)
        self.kinds |= {plan.story, plan.ending} | (
            {"care_manager_change"} if plan.change_to else set()
        )
        info_at = self._admission_side(plan)
        coordinations = self._discharge_side(plan)
        if rng.random() < 0.05:
            again = rng.choice([p for p in self.posts if p.body["type"] != "cancel"])
            self.kinds.add("duplicate_post")
            report = again.report_at + timedelta(hours=rng.randint(1, 48))
            self.posts.append(TimedPost(report, again.poster_org_id, again.body))
        posts = sorted(self.posts, key=lambda p: p.report_at)
        return posts, expected_of(plan, self.cast, self.ref, info_at, coordinations, self.kinds)

    def _admission_side(self, plan: Plan) -> datetime | None:
        """入院 and 入院時情報提供; returns when admission info was (first, validly) given."""
        rng, admitted_at, office = self.rng, plan.admitted_at, plan.office
        # The office is a party when the admission names it (late or not: an office the admission
        # does not name would be refused its own resends once the admission is in, a 403).
        named = None if plan.story == "care_assignment" else office
        report = admitted_at + self.minutes(1, 30)
        if plan.story == "out_of_order_admission_info":  # the hospital system sends it late
            report = admitted_at + timedelta(days=rng.randint(1, 2), hours=rng.randint(0, 8))
        patient = {"insurer_number": self.cast.insurer_number,
                   "insured_number": f"{rng.randrange(10**10):010d}"}  # fmt: skip
        admission: dict[str, Any] = {"patient": patient, "care_level": plan.level,
                                     "ward_type": plan.ward}  # fmt: skip
        if named is not None or rng.random() < 0.5:
            admission["care_office_id"] = named
        if rng.random() < 0.03:
            wrong_ward = rng.choice([w for w in WARDS if w != plan.ward])
            wrong = self.post("admission", admitted_at, self.cast.hospital_id, report,
                              **{**admission, "ward_type": wrong_ward})  # fmt: skip
            report = self.corrected("corrected_admission", wrong, report, self.cast.hospital_id)
        self.hospital("admission", admitted_at, report, **admission)
        if office is None or plan.story == "missing_admission_info":
            return None
        if plan.story == "care_assignment":  # the office is a party only once assigned
            report += timedelta(hours=1)
            self.hospital("care_assignment", admitted_at, report, care_office_id=office)
        a_date = admitted_at.date()
        if plan.story == "admission_info_before_admission":
            info_at = at_day(a_date - timedelta(days=1), rng.randint(10, 16))
        elif plan.story == "out_of_order_admission_info":
            info_at = admitted_at + timedelta(hours=rng.randint(1, 4))
        else:
            late = plan.story == "late_admission_info"
            days = rng.randint(8, 11) if late else rng.randint(0, min(5, plan.los - 1))
            info_at = max(at_day(a_date + timedelta(days=days), rng.randint(9, 17)),
                          admitted_at + timedelta(minutes=30))  # fmt: skip
        info_report = info_at + self.minutes(10, 120)
        if plan.story == "care_assignment":
            info_report = max(info_report, report + timedelta(minutes=1))
        fields = {"care_office_id": office, "channel": pick(rng, CHANNELS)}
        if rng.random() < 0.04:  # a typo in the date, cancelled and re-sent
            wrong = self.post("admission_info", info_at + timedelta(days=9), office, info_report,
                              **fields)  # fmt: skip
            info_report = self.corrected("corrected_admission_info", wrong, info_report, office)
        self.post("admission_info", info_at, office, info_report, **fields)
        return info_at

    def _discharge_side(self, plan: Plan) -> list[datetime]:
        """退院調整 and 退院; returns when each valid coordination occurred."""
        rng, discharged_at = self.rng, plan.discharged_at
        if plan.change_to:
            changed = at_day(plan.admitted_at.date() + timedelta(days=rng.randint(1, 3)), 10)
            self.hospital("care_assignment", changed, changed + self.minutes(5, 60),
                          care_office_id=plan.change_to)  # fmt: skip
        if plan.los >= 8 and rng.random() < 0.5:
            planned_at = at_day(discharged_at.date() - timedelta(days=rng.randint(5, 7)), 11)
            self.hospital("discharge_planned", planned_at, planned_at + self.minutes(1, 60),
                          planned_discharge_date=discharged_at.date().isoformat())  # fmt: skip
        if plan.ending == "respite":
            excluded_at = plan.admitted_at + timedelta(hours=1)
            self.hospital("scope_exclusion", excluded_at, excluded_at + self.minutes(1, 90),
                          reason="respite", note="レスパイト入院")  # fmt: skip
        coordinations = self._coordinations(plan)
        report = discharged_at + self.minutes(1, 30)
        if rng.random() < 0.04:
            wrong_destination = "home" if plan.destination != "home" else "other_hospital"
            wrong = self.post("discharge", discharged_at, self.cast.hospital_id, report,
                              destination=wrong_destination)  # fmt: skip
            report = self.corrected("corrected_discharge", wrong, report, self.cast.hospital_id)
        self.hospital("discharge", discharged_at, report, destination=plan.destination)
        return coordinations

    def _coordinations(self, plan: Plan) -> list[datetime]:
        rng, ending, discharged_at = self.rng, plan.ending, plan.discharged_at
        target = self.cast.support_center if ending == "no_cm_referral" else plan.target
        if target is None or ending in ("no_coordination", "independent"):
            return []
        if ending in ("transfer", "death", "respite") and rng.random() < 0.5:
            return []
        longest = plan.los - 1  # coordination happens after the admission day
        if ending == "coordination_after_discharge":
            lead = -rng.randint(1, 3)
        elif ending == "coordinated":
            lead = rng.randint(NOTICE_LEAD_DAYS, min(14, longest))
        elif ending == "late_coordination":
            lead = rng.randint(0, min(NOTICE_LEAD_DAYS - 1, longest))
        else:
            lead = rng.randint(1, min(14, longest))
        when = at_day(discharged_at.date() - timedelta(days=lead), rng.randint(9, 16))
        if lead == 0:  # the same day, a little before the patient leaves
            when = discharged_at - timedelta(hours=rng.randint(1, 2))
        report = when + self.minutes(1, 60)
        if ending == "late_reported_coordination":
            report = discharged_at + timedelta(days=rng.randint(1, 4))
        if ending == "no_cm_referral":
            self.hospital("no_cm_referral", when, report, to_org_id=target)
        elif ending == "discharge_conference":
            participants = [self.cast.hospital_id, target]
            self.hospital("discharge_conference", when, report, participant_org_ids=participants)
        else:
            plan_date = {"planned_discharge_date": discharged_at.date().isoformat()}
            extra = plan_date if rng.random() < 0.5 else {}
            self.hospital("discharge_coordination", when, report, to_org_id=target,
                          channel=pick(rng, CHANNELS), **extra)  # fmt: skip
        return [when]


def expected_of(plan: Plan, cast: Cast, ref: str, info_at: datetime | None,
                coordinations: list[datetime], kinds: set[str]) -> Expected:  # fmt: skip
    """The survey's view of the stay under the default rule, from the plan (not the engine)."""
    a_date, discharged_at = plan.admitted_at.date(), plan.discharged_at
    with_cm = plan.office is not None
    provided = with_cm and info_at is not None and info_at < discharged_at
    deadline = a_date + timedelta(days=INFO_DEADLINE_DAYS)
    on_time = provided and info_at is not None and info_at.date() <= deadline
    excluded = plan.destination in EXCLUDED_DESTINATIONS or plan.ending == "respite"
    basis = with_cm or plan.level not in ("none", "unknown") or bool(coordinations)
    eligible = not excluded and basis
    coordinated = eligible and any(c <= discharged_at for c in coordinations)
    lead = (discharged_at.date() - min(coordinations).date()).days if coordinated else None
    at_discharge = cast.support_center if plan.ending == "no_cm_referral" else plan.target
    return Expected(
        hospital_id=cast.hospital_id, encounter_ref=ref, admission_date=a_date,
        discharge_date=discharged_at.date(), care_office_at_admission=plan.office,
        care_office_at_discharge=at_discharge, insurer_number=cast.insurer_number,
        ward_type=plan.ward, care_level_band=band(plan.level), with_care_manager=with_cm,
        info_provided=provided, info_on_time=on_time, eligible=eligible, coordinated=coordinated,
        coordination_on_time=lead is not None and lead >= NOTICE_LEAD_DAYS, lead_days=lead,
        kinds=tuple(sorted(kinds)),
    )  # fmt: skip
