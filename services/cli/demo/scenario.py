"""A seeded, pure generator of a realistic region: organizations, posts in order, ground truth."""

from __future__ import annotations

import hashlib
import random
import zlib
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Final

from services.cli.demo.episodes import Story
from services.cli.demo.model import Cast, Expected, TimedPost
from shared.rules.zone import TOKYO

__all__ = ["Expected", "Organization", "Params", "PlannedPost", "Scenario", "generate"]


@dataclass(frozen=True, slots=True)
class Municipality:
    """A 市町村 with its 全国地方公共団体コード (also used as the 保険者番号) and 二次医療圏."""

    code: str
    name: str
    medical_area: str


MUNICIPALITIES: Final = (
    Municipality("462012", "鹿児島市", "鹿児島"),
    Municipality("462047", "枕崎市", "南薩"),
    Municipality("462152", "薩摩川内市", "川薩"),
    Municipality("462039", "鹿屋市", "肝属"),
)
PATIENT_WEIGHTS: Final = (50, 15, 20, 15)  # where patients' insurers are
DEFAULT_REGION: Final = "kagoshima"
PREFECTURE_CODE: Final = "460001"  # 鹿児島県's 団体コード
MAX_OF_A_KIND: Final = 9999  # four digits of an organization id


@dataclass(frozen=True, slots=True)
class Params:
    """Size and time span of the generated region."""

    hospitals: int = 24
    care_offices: int = 300
    support_centers: int = 12
    months: int = 12
    episodes_per_hospital_month: int = 40
    start: date = date(2024, 4, 1)
    region: str = DEFAULT_REGION

    def __post_init__(self) -> None:
        if self.hospitals < 1 or self.care_offices < 1 or self.support_centers < 1:
            raise ValueError("a region needs at least one hospital, care office and centre")
        if self.months < 1 or self.episodes_per_hospital_month < 0:
            raise ValueError("months must be positive and episodes not negative")
        if max(self.hospitals, self.care_offices, self.support_centers) > MAX_OF_A_KIND:
            raise ValueError(f"at most {MAX_OF_A_KIND} organizations of each kind")

    @property
    def region_code(self) -> int:
        """Three digits of the organization ids: 000 for the default region, else from its name.

        Another region gets other organizations instead of a 409 on the default's ids (two
        regions share a code with a chance of 1 in 999: then choose another region name).
        """
        if self.region == DEFAULT_REGION:
            return 0
        return zlib.crc32(self.region.encode()) % 999 + 1

    def stay_prefix(self, seed: int) -> str:
        """Starts every encounter_ref: another seed or other params make new stays, not clashes."""
        digest = hashlib.sha256(f"{seed}/{self!r}".encode()).hexdigest()[:6].upper()
        return f"D{digest}"


@dataclass(frozen=True, slots=True)
class Organization:
    """A party as POST /v1/organizations takes it."""

    id: str
    kind: str
    name: str
    municipality_code: str
    medical_area: str
    region: str

    def body(self) -> dict[str, str]:
        return {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "municipality_code": self.municipality_code,
            "medical_area": self.medical_area,
            "region": self.region,
        }


@dataclass(frozen=True, slots=True)
class PlannedPost:
    """One event body and the organization whose key posts it."""

    poster_org_id: str
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything a demo or a test needs: who exists, what to post in which order, and the truth."""

    params: Params
    seed: int
    organizations: tuple[Organization, ...]
    posts: tuple[PlannedPost, ...]
    expected: tuple[Expected, ...]

    @property
    def planned_duplicates(self) -> int:
        """Posts that repeat an earlier event_id with the same body (answered `duplicate`)."""
        return len(self.posts) - len({p.body["event_id"] for p in self.posts})

    def org(self, org_id: str) -> Organization:
        return next(o for o in self.organizations if o.id == org_id)


def _region_office(params: Params) -> Organization:
    """The 振興局 whose viewer reads the region's figures and files its survey."""
    name = "鹿児島地域振興局" if params.region == DEFAULT_REGION else f"地域振興局 {params.region}"
    seat = MUNICIPALITIES[0]
    code = f"469{params.region_code:03d}0001"
    return Organization(code, "region", name, PREFECTURE_CODE, seat.medical_area, params.region)


def _organizations(params: Params) -> list[Organization]:
    orgs: list[Organization] = [_region_office(params)]
    n_areas, code = len(MUNICIPALITIES), params.region_code
    for i in range(params.hospitals):
        m = MUNICIPALITIES[i % n_areas]
        orgs.append(
            Organization(
                f"461{code:03d}{i + 1:04d}",
                "hospital",
                f"{m.medical_area}第{i + 1}病院",
                m.code,
                m.medical_area,
                params.region,
            )
        )
    for i in range(params.care_offices):
        m = MUNICIPALITIES[i % n_areas]
        orgs.append(
            Organization(
                f"467{code:03d}{i + 1:04d}",
                "care_office",
                f"{m.name}居宅介護支援事業所{i + 1}",
                m.code,
                m.medical_area,
                params.region,
            )
        )
    for i in range(params.support_centers):
        m = MUNICIPALITIES[i % n_areas]
        orgs.append(
            Organization(
                f"468{code:03d}{i + 1:04d}",
                "support_center",
                f"{m.name}地域包括支援センター{i + 1}",
                m.code,
                m.medical_area,
                params.region,
            )
        )
    return orgs


def _month_starts(start: date, months: int) -> Iterable[date]:
    first = start.replace(day=1)
    for i in range(months):
        year, month = divmod(first.month - 1 + i, 12)
        yield date(first.year + year, month + 1, 1)


def _admitted_at(rng: random.Random, month: date) -> datetime:
    """Mostly office hours; a third are emergencies at any hour (night ones cross dates in UTC)."""
    next_month = (month + timedelta(days=32)).replace(day=1)
    day = month + timedelta(days=rng.randrange((next_month - month).days))
    hour = rng.randint(9, 17) if rng.random() < 0.7 else rng.randrange(24)
    return datetime.combine(day, time(hour, rng.randrange(60)), TOKYO)


def generate(
    params: Params, seed: int, on_progress: Callable[[int, int], None] | None = None
) -> Scenario:
    """The same params and seed always give the same scenario (no clock, no I/O).

    ``on_progress(done, total)`` is told after each hospital-month, for a progress bar.
    """
    rng = random.Random(seed)
    orgs = _organizations(params)
    prefix = params.stay_prefix(seed)
    by_kind = {
        k: [o for o in orgs if o.kind == k] for k in ("hospital", "care_office", "support_center")
    }
    stories: list[list[TimedPost]] = []
    expected: list[Expected] = []
    done, total = 0, params.months * params.hospitals
    for month in _month_starts(params.start, params.months):
        for h, hospital in enumerate(by_kind["hospital"]):
            for k in range(params.episodes_per_hospital_month):
                m = rng.choices(MUNICIPALITIES, weights=PATIENT_WEIGHTS)[0]
                offices = [o.id for o in by_kind["care_office"] if o.municipality_code == m.code]
                centers = [o.id for o in by_kind["support_center"] if o.municipality_code == m.code]
                cast = Cast(
                    hospital_id=hospital.id,
                    utc_clock=h % 4 == 3,
                    insurer_number=m.code,
                    care_offices=tuple(offices or [o.id for o in by_kind["care_office"]]),
                    support_center=rng.choice(centers or [o.id for o in by_kind["support_center"]]),
                )
                ref = f"{prefix}-A{month:%y%m}-{k + 1:05d}"
                posts, truth = Story(rng, cast, ref).write(_admitted_at(rng, month))
                stories.append(posts)
                expected.append(truth)
            if on_progress is not None:
                done += 1
                on_progress(done, total)
    return Scenario(params, seed, tuple(orgs), tuple(_interleave(stories)), tuple(expected))


def _interleave(stories: list[list[TimedPost]]) -> list[PlannedPost]:
    """Month by month of reporting, group runs by poster while keeping each stay's own order.

    Stays are independent of each other, so only the order within a stay matters; grouping the
    rest by poster lets the poster send long batches, as hospital systems do.
    """
    months: dict[tuple[int, int], list[deque[TimedPost]]] = {}
    for posts in stories:
        own: dict[tuple[int, int], deque[TimedPost]] = {}
        for post in posts:
            local = post.report_at.astimezone(TOKYO)
            own.setdefault((local.year, local.month), deque()).append(post)
        for month, queue in own.items():
            months.setdefault(month, []).append(queue)
    ordered: list[PlannedPost] = []
    for month in sorted(months):
        queues = months[month]
        while queues:
            by_head: dict[str, list[deque[TimedPost]]] = {}
            for q in queues:
                by_head.setdefault(q[0].poster_org_id, []).append(q)
            for poster in sorted(by_head):
                for q in by_head[poster]:
                    while q and q[0].poster_org_id == poster:
                        post = q.popleft()
                        ordered.append(PlannedPost(post.poster_org_id, post.body))
            queues = [q for q in queues if q]
    return ordered
