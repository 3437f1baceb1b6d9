"""The regional dashboard (/ui/) and its printable survey (/ui/report): the survey's rates over a
period, its tables by hospital, 二次医療圏, 保険者 and year, and monthly trends.

Every number comes from shared.metrics.service (the function GET /v1/metrics answers with) or
shared.metrics.survey (GET /v1/reports/survey's), and every percentage from the survey's rounding.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.api.ui.pages import Caller, CallerDep, DbDep, pct_number, render, require
from shared.access.principal import Role
from shared.access.visibility import Scope, ScopeUnavailable, metrics_scope
from shared.metrics.in_progress import admissions_within_deadline
from shared.metrics.query import Sums
from shared.metrics.service import compute_metrics, period_sums
from shared.metrics.survey import SurveyReport, survey_report
from shared.metrics.survey_cover import TITLE, cover_facts, period_heading, region_label
from shared.metrics.survey_period import SurveyPeriod, survey_period
from shared.metrics.window import Window, WindowError, fiscal_year_window
from shared.organizations.service import organization_names
from shared.rules.zone import TOKYO

router = APIRouter(prefix="/ui")
PARAM_LABELS = {"month": "月", "fiscal_year": "年度", "from": "開始日", "to": "終了日"}
REGIONAL: tuple[Role, ...] = ("viewer", "admin")


def fiscal_year_of(day: date) -> int:
    """年度: April to March."""
    return day.year if day.month >= 4 else day.year - 1


@dataclass(frozen=True, slots=True)
class Period:
    """The period asked for, as the survey names it, and the query that asked for it."""

    survey: SurveyPeriod
    query: dict[str, str]

    @property
    def window(self) -> Window:
        return self.survey.window

    @property
    def label(self) -> str:
        """``2024年度（令和6年度）``, ``2024年6月（令和6年6月）``; a range in 和暦 (its dates
        are printed beside it once)."""
        survey = self.survey
        if survey.month is None and survey.fiscal_year is None:
            return survey.wareki
        return f"{survey.western}（{survey.wareki}）"


def _date(text: str, param: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise WindowError(param, "must be a date") from exc


def period_of(params: dict[str, str], today: date) -> Period:
    """The same period forms as the survey (blank fields ignored); default this fiscal year."""
    sent = {k: v.strip() for k, v in params.items() if k in PARAM_LABELS and v.strip()}
    if not sent:
        sent = {"fiscal_year": str(fiscal_year_of(today))}
    fiscal = sent.get("fiscal_year")
    if fiscal is not None and not (fiscal.isascii() and fiscal.isdigit()):
        raise WindowError("fiscal_year", "must be a year")
    survey = survey_period(
        today=today,
        from_=_date(sent["from"], "from") if "from" in sent else None,
        to=_date(sent["to"], "to") if "to" in sent else None,
        month=sent.get("month"),
        fiscal_year=int(fiscal) if fiscal is not None else None,
    )
    return Period(survey, sent)


def _trend(rows: list[tuple[date, tuple[Any, ...], Sums]]) -> list[dict[str, Any]]:
    months = []
    for start, _, sums in rows:
        totals = sums.totals()
        months.append({"month": f"{start:%Y-%m}", "label": f"{start.month}月", "totals": totals})
    return months


async def _resolved(request: Request, caller: Caller, db: DbDep) -> tuple[Period, Scope] | Response:
    """The period and the caller's scope, or the page that says what to fix."""
    try:
        period = period_of(dict(request.query_params), datetime.now(TOKYO).date())
    except WindowError as exc:
        label = PARAM_LABELS.get(exc.param, exc.param)
        return render(
            request,
            "dashboard_error.html",
            status=422,
            caller=caller,
            error=f"{label}の指定が正しくありません（{exc.msg}）。",
        )
    try:
        return period, await metrics_scope(db, caller.principal)
    except ScopeUnavailable:
        return render(
            request,
            "dashboard_error.html",
            status=403,
            caller=caller,
            error="このAPIキーには集計できる組織がありません。",
        )


async def _survey(db: DbDep, period: Period, scope: Scope) -> SurveyReport:
    region = scope.value if scope.kind == "region" else None
    return await survey_report(db, period.survey, region, now=datetime.now(TOKYO))


@router.get("/", response_class=Response, include_in_schema=False)
async def dashboard(request: Request, caller: CallerDep, db: DbDep) -> Response:
    """The survey's two rates with their counts, its tables and the monthly trends."""
    resolved = await _resolved(request, caller, db)
    if isinstance(resolved, Response):
        return resolved
    period, scope = resolved
    principal = caller.principal
    today = datetime.now(TOKYO).date()
    # The total is the sum of the hospital groups, exactly as /v1/metrics computes its total.
    by_hospital = await compute_metrics(db, principal, scope, period.window, group_by=("hospital",))
    regional = caller.role in REGIONAL
    report = await _survey(db, period, scope) if regional else None
    by_area = (
        None
        if regional
        else await compute_metrics(db, principal, scope, period.window, group_by=("medical_area",))
    )
    fiscal = fiscal_year_of(period.window.end)
    trend = _trend(await period_sums(db, fiscal_year_window(fiscal), scope, "month"))
    names = await organization_names(db, (k["hospital_id"] for k, _ in by_hospital.groups))
    charts = {
        "admission": [pct_number(m["totals"].admission_handover_rate) for m in trend],
        "discharge": [pct_number(m["totals"].discharge_miss_rate) for m in trend],
    }
    return render(
        request,
        "dashboard.html",
        caller=caller,
        period=period,
        today=today,
        total=by_hospital,
        by_hospital=by_hospital,
        by_area=by_area,
        report=report,
        pending=await admissions_within_deadline(db, scope, period.window, today=today),
        names=names,
        fiscal_year=fiscal,
        trend=trend,
        chart_labels=json.dumps([m["label"] for m in trend], ensure_ascii=False),
        chart_admission=json.dumps(charts["admission"]),
        chart_discharge=json.dumps(charts["discharge"]),
        survey_months=[m["month"] for m in trend],
        shows_survey=regional,
    )


@router.get("/report", response_class=Response, include_in_schema=False)
async def printable_report(request: Request, caller: CallerDep, db: DbDep) -> Response:
    """The survey of the period as a page to print (A4): the workbook's cover and tables."""
    require(caller, REGIONAL)
    resolved = await _resolved(request, caller, db)
    if isinstance(resolved, Response):
        return resolved
    period, scope = resolved
    report = await _survey(db, period, scope)
    return render(
        request,
        "report.html",
        caller=caller,
        period=period,
        report=report,
        title=TITLE,
        heading=period_heading(report),
        facts=cover_facts(report),
        region=region_label(report),
    )
