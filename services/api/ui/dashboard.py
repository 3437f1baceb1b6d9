"""The regional dashboard (/ui/): the survey's rates over a period, by hospital and 二次医療圏.

Every number comes from shared.metrics.service, the function GET /v1/metrics answers with, and
every percentage from the survey report's own rounding.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.api.ui.pages import CallerDep, DbDep, pct_number, render
from shared.access.visibility import ScopeUnavailable, metrics_scope
from shared.metrics.query import Sums
from shared.metrics.service import compute_metrics, period_sums
from shared.metrics.window import Window, WindowError, fiscal_year_window, resolve_window
from shared.organizations.service import organization_names
from shared.rules.zone import TOKYO

router = APIRouter(prefix="/ui")
PARAM_LABELS = {"month": "月", "fiscal_year": "年度", "from": "開始日", "to": "終了日"}


def fiscal_year_of(day: date) -> int:
    """年度: April to March."""
    return day.year if day.month >= 4 else day.year - 1


@dataclass(frozen=True, slots=True)
class Period:
    window: Window
    label: str
    query: dict[str, str]


def _date(text: str, param: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise WindowError(param, "must be a date") from exc


def period_of(params: dict[str, str], today: date) -> Period:
    """The same window forms as /v1/metrics (blank fields ignored); default this fiscal year."""
    sent = {k: v.strip() for k, v in params.items() if k in PARAM_LABELS and v.strip()}
    if not sent:
        sent = {"fiscal_year": str(fiscal_year_of(today))}
    fiscal = sent.get("fiscal_year")
    if fiscal is not None and not (fiscal.isascii() and fiscal.isdigit()):
        raise WindowError("fiscal_year", "must be a year")
    window = resolve_window(
        today=today,
        from_=_date(sent["from"], "from") if "from" in sent else None,
        to=_date(sent["to"], "to") if "to" in sent else None,
        month=sent.get("month"),
        fiscal_year=int(fiscal) if fiscal is not None else None,
    )
    if "month" in sent:
        label = f"{window.start.year}年{window.start.month}月"
    elif fiscal is not None:
        label = f"{fiscal}年度（{window.start} 〜 {window.end}）"
    else:
        label = f"{window.start} 〜 {window.end}"
    return Period(window, label, sent)


def _trend(rows: list[tuple[date, tuple[Any, ...], Sums]]) -> list[dict[str, Any]]:
    months = []
    for start, _, sums in rows:
        totals = sums.totals()
        months.append({"month": f"{start:%Y-%m}", "label": f"{start.month}月", "totals": totals})
    return months


@router.get("/", response_class=Response, include_in_schema=False)
async def dashboard(request: Request, caller: CallerDep, db: DbDep) -> Response:
    """The survey's two rates with their counts, tables and monthly trends over the fiscal year."""
    today = datetime.now(TOKYO).date()
    try:
        period = period_of(dict(request.query_params), today)
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
        scope = await metrics_scope(db, caller.principal)
    except ScopeUnavailable:
        return render(
            request,
            "dashboard_error.html",
            status=403,
            caller=caller,
            error="このAPIキーには集計できる組織がありません。",
        )
    principal = caller.principal
    # The total is the sum of the hospital groups, exactly as /v1/metrics computes its total.
    by_hospital = await compute_metrics(db, principal, scope, period.window, group_by=("hospital",))
    by_area = await compute_metrics(db, principal, scope, period.window, group_by=("medical_area",))
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
        names=names,
        fiscal_year=fiscal,
        trend=trend,
        chart_labels=json.dumps([m["label"] for m in trend], ensure_ascii=False),
        chart_admission=json.dumps(charts["admission"]),
        chart_discharge=json.dumps(charts["discharge"]),
        survey_months=[m["month"] for m in trend],
        shows_survey=caller.role in ("viewer", "admin"),
    )
