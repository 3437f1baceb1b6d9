"""GET /v1/metrics and /v1/metrics/series: survey metrics over a window, scoped to the caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import StringConstraints

from services.api.deps import PrincipalDep, SessionDep, require_roles
from services.api.errors import Problem, field_error
from services.api.routing import AuthFirstRoute
from shared.access.principal import Principal
from shared.access.visibility import (
    RegionNotVisible,
    ScopeUnavailable,
    episode_scope,
    metrics_scope,
)
from shared.metrics.in_progress import admissions_within_deadline
from shared.metrics.query import (
    MEDIAN,
    RATE_PARTS,
    SERIES_METRICS,
    Scope,
    Sums,
    stale_episodes,
)
from shared.metrics.schemas import MetricsOut, SeriesOut, SeriesPoint
from shared.metrics.service import compute_metrics, group_key, names_beside, period_sums
from shared.metrics.window import (
    GROUP_COLUMNS,
    Granularity,
    Window,
    WindowError,
    parse_group_by,
    period_label,
    resolve_window,
)
from shared.organizations.schemas import RegionCode
from shared.rules.bounds import BoundedDate, BoundedFiscalYear, BoundedMonth, server_today
from shared.rules.events import OrgId

# require_roles is annotated `object`; FastAPI takes its Depends as is.
READERS = require_roles("viewer", "admin", "hospital", "care_office", "support_center")
router = APIRouter(
    route_class=AuthFirstRoute,
    prefix="/v1/metrics",
    tags=["metrics"],
    dependencies=[READERS],
)

InsurerNumber = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
MedicalArea = Annotated[str, StringConstraints(min_length=1, max_length=100)]
GROUP_BY_HELP = f"Comma list of {', '.join(GROUP_COLUMNS)}"


def invalid(param: str, msg: str) -> Problem:
    """A 422 naming the one query parameter to fix."""
    return Problem(
        422,
        f"Fix the query parameter `{param}`: {msg}.",
        errors=[field_error(["query", param], msg)],
    )


@dataclass(frozen=True, slots=True)
class MetricsQuery:
    """The window, breakdown and filters every metrics endpoint shares."""

    window: Window
    group_by: tuple[str, ...]
    filters: dict[str, str | None]


async def metrics_query(
    from_: Annotated[BoundedDate | None, Query(alias="from", description="First day")] = None,
    to: Annotated[BoundedDate | None, Query(description="Last day (inclusive)")] = None,
    window: Annotated[
        Literal["30d", "90d", "365d"] | None, Query(description="Rolling days ending on as_of")
    ] = None,
    as_of: Annotated[
        BoundedDate | None, Query(description="Last day of `window` (default today, Asia/Tokyo)")
    ] = None,
    month: Annotated[BoundedMonth | None, Query(description="Calendar month YYYY-MM")] = None,
    fiscal_year: Annotated[
        BoundedFiscalYear | None, Query(description="年度: April YYYY to March YYYY+1")
    ] = None,
    group_by: Annotated[str | None, Query(description=GROUP_BY_HELP)] = None,
    hospital_id: OrgId | None = None,
    care_office_id: OrgId | None = None,
    insurer_number: Annotated[
        InsurerNumber | None, Query(description="保険者番号 (municipality), 6 digits")
    ] = None,
    medical_area: Annotated[MedicalArea | None, Query(description="二次医療圏")] = None,
    region: RegionCode | None = None,
) -> MetricsQuery:
    """Resolve exactly one window form, the breakdown names and the filters (422 otherwise)."""
    try:
        resolved = resolve_window(
            today=server_today(),
            from_=from_,
            to=to,
            window=window,
            as_of=as_of,
            month=month,
            fiscal_year=fiscal_year,
        )
        groups = parse_group_by(group_by)
    except WindowError as exc:
        raise invalid(exc.param, exc.msg) from exc
    filters = {
        "hospital_id": hospital_id,
        "care_office_id": care_office_id,
        "insurer_number": insurer_number,
        "medical_area": medical_area,
        "region": region,
    }
    return MetricsQuery(resolved, groups, filters)


MetricsQueryDep = Annotated[MetricsQuery, Depends(metrics_query)]


async def _scope(session: SessionDep, principal: Principal, query: MetricsQuery) -> Scope:
    """The caller's groups (access.visibility): 403 for a viewer asking for another region."""
    try:
        return await metrics_scope(session, principal, query.filters["region"])
    except ScopeUnavailable as exc:
        raise Problem(403, "This key has no organization to scope metrics to.") from exc
    except RegionNotVisible as exc:
        raise Problem(403, REGION_NOT_VISIBLE) from exc


_key = group_key


REGION_NOT_VISIBLE = "A viewer key may see only its own region's figures."
NO_SCOPE: dict[int | str, dict[str, Any]] = {
    403: {
        "description": "The key has no organization to scope the metrics to, "
        "or a viewer asked for another region"
    }
}


@router.get("", response_model=MetricsOut, response_model_exclude_unset=True, responses=NO_SCOPE)
async def get_metrics(
    session: SessionDep, principal: PrincipalDep, query: MetricsQueryDep
) -> MetricsOut:
    """Survey metrics over one window, with counts beside every rate.

    Send exactly one window: `from`+`to`, `window` (30d/90d/365d ending on `as_of`, default today
    in Asia/Tokyo), `month=YYYY-MM` or `fiscal_year=YYYY` (April–March). Admission-side counts
    fall on the admission date, discharge-side counts on the discharge date. Rates are the exact
    fraction as a JSON number (not rounded), null when the denominator is 0. `group_by` adds one
    group per key (`key` names: hospital_id, care_office_id, insurer_number, medical_area,
    ward_type, care_level_band; null = none recorded), with `hospital_name` / `care_office_name`
    beside the ids. Admin sees everything, a viewer its region (`region` naming another is 403,
    as in the survey),
    a hospital its own rows, a care office or support centre the rows where it is the office;
    filters only narrow that. `stale_episodes` > 0 means some received events are not yet counted.
    `admissions_within_deadline` counts the window's admissions whose 入院時情報提供 is not given
    but not due yet either (the month in progress: the rate counts them, as the survey does).
    """
    scope = await _scope(session, principal, query)
    result = await compute_metrics(
        session, principal, scope, query.window, group_by=query.group_by, filters=query.filters
    )
    out = result.out()
    out.admissions_within_deadline = await admissions_within_deadline(
        session, scope, query.window, today=server_today(), filters=query.filters
    )
    return out


def _point(
    metric: str,
    period: str,
    sums: Sums,
    key: dict[str, str | None] | None,
    names: dict[str, str | None],
) -> SeriesPoint:
    fields: dict[str, Any] = {"period": period, **names}
    if metric in RATE_PARTS:
        rate = getattr(sums.totals(), metric)
        numerator, denominator = (sums.counts[n] for n in RATE_PARTS[metric])
        fields |= {
            "value": None if rate is None else float(rate),
            "numerator": numerator,
            "denominator": denominator,
        }
    elif metric == MEDIAN:
        value = sums.totals().median_coordination_lead_days
        fields |= {"value": value, "numerator": None, "denominator": None}
    else:
        count = sums.counts[metric]
        fields |= {"value": count, "numerator": count, "denominator": None}
    if key is not None:
        fields["key"] = key
    return SeriesPoint(**fields)


@router.get(
    "/series", response_model=SeriesOut, response_model_exclude_unset=True, responses=NO_SCOPE
)
async def get_metric_series(
    session: SessionDep,
    principal: PrincipalDep,
    query: MetricsQueryDep,
    metric: Annotated[str, Query(description=f"One of {', '.join(SERIES_METRICS)}")],
    granularity: Annotated[Granularity, Query(description="month, ISO week, or day")] = "month",
) -> SeriesOut:
    """One metric per period (month `2024-06`, ISO week `2024-W23`, day `2024-06-03`).

    Takes the same window forms, `group_by`, filters and scoping as GET /v1/metrics. Every period
    overlapping the window is listed (the first and last are clipped to the window), with zero
    counts and null rates where there is no data. For a rate, `numerator` and `denominator` are
    the counts it divides; for a count, `value` = `numerator` = the count and `denominator` is
    null; for `median_coordination_lead_days` both are null. With `group_by`, each point has a
    `key` and every key seen in the window gets the full run of periods.
    """
    if metric not in SERIES_METRICS:
        raise invalid("metric", f"must be one of {', '.join(SERIES_METRICS)}")
    scope = await _scope(session, principal, query)
    rows = await period_sums(
        session,
        query.window,
        scope,
        granularity,
        group_by=query.group_by,
        filters=query.filters,
        with_median=metric == MEDIAN,
    )
    keys = [_key(query.group_by, key) for _, key, _ in rows]
    named = await names_beside(session, keys)
    points = [
        _point(
            metric,
            period_label(start, granularity),
            sums,
            group if query.group_by else None,
            names,
        )
        for (start, _, sums), group, names in zip(rows, keys, named, strict=True)
    ]
    return SeriesOut(
        metric=metric,
        granularity=granularity,
        from_=query.window.start,
        to=query.window.end,
        stale_episodes=await stale_episodes(session, episode_scope(principal)),
        points=points,
    )
