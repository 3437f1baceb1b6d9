"""GET /v1/reports/survey: the survey table as JSON, CSV (Excel-ready) or the XLSX workbook."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from services.api.deps import PrincipalDep, SessionDep, require_roles
from services.api.errors import Problem
from services.api.routers.metrics import REGION_NOT_VISIBLE, invalid
from services.api.routing import AuthFirstRoute
from shared.access.visibility import RegionNotVisible, ScopeUnavailable, metrics_scope
from shared.metrics.schemas import SurveyOut
from shared.metrics.survey import survey_table
from shared.metrics.survey_download import XLSX_TYPE, survey_file
from shared.metrics.survey_period import survey_period
from shared.metrics.window import WindowError
from shared.organizations.schemas import RegionCode
from shared.organizations.service import region_known
from shared.rules.bounds import BoundedDate, BoundedFiscalYear, BoundedMonth, server_today
from shared.rules.zone import TOKYO

# require_roles is annotated `object`; FastAPI takes its Depends as is.
READERS = require_roles("viewer", "admin")
router = APIRouter(
    route_class=AuthFirstRoute, prefix="/v1/reports", tags=["reports"], dependencies=[READERS]
)

Month = Annotated[BoundedMonth | None, Query(description="Survey month YYYY-MM")]
FiscalYear = Annotated[
    BoundedFiscalYear | None, Query(description="年度: April YYYY to March YYYY+1")
]
From = Annotated[BoundedDate | None, Query(alias="from", description="First day (with `to`)")]
To = Annotated[BoundedDate | None, Query(description="Last day, inclusive (with `from`)")]


def _attachment(name: str) -> str:
    """A download, not inline; region codes and periods are ASCII, so the name needs no escaping."""
    return f'attachment; filename="{name}"'


@router.get(
    "/survey",
    response_model=SurveyOut,
    response_model_exclude_unset=True,
    responses={
        200: {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
            },
            "description": "JSON, or an attachment for format=csv / format=xlsx",
        },
        403: {"description": "Not a viewer or admin key, or a viewer asking for another region"},
        404: {"description": "Admin: no organization belongs to the given region"},
    },
)
async def survey_report(
    session: SessionDep,
    principal: PrincipalDep,
    month: Month = None,
    fiscal_year: FiscalYear = None,
    from_: From = None,
    to: To = None,
    format: Annotated[Literal["json", "csv", "xlsx"], Query(description="Body format")] = "json",
    region: Annotated[RegionCode | None, Query(description="Region (viewer: its own)")] = None,
) -> SurveyOut | Response:
    """The survey (入退院支援ルール調査) for a month, a fiscal year or a `from`/`to` range.

    Send one period: `month=YYYY-MM`, `fiscal_year=YYYY` (April–March) or `from` and `to`
    (dates, inclusive). Every hospital organization of the region is listed (ordered by
    医療機関コード), with zero counts and null percentages when it has no data, then a 合計 that
    equals GET /v1/metrics for the same period and region. Percentages are the exact fraction
    × 100 rounded half-up to one decimal (41/882 → 4.6). A viewer key always gets its own region
    (a different `region` → 403); an admin key gets the given region, or every hospital without
    one. JSON: `from`, `to`, `month` or `fiscal_year` when asked so, `rows`, `total`. CSV (one
    table: UTF-8 with a BOM and CRLF so Excel opens it) columns: 医療機関コード, 医療機関名,
    入院時ケアマネあり, 入院時情報提供あり, 入院引継ぎ割合(%), 期限内提供, 退院(対象), 退院調整あり,
    退院調整漏れ, 退院調整漏れ割合(%). XLSX: the workbook with sheets 表紙, 全体,
    二次医療圏別, 医療機関別 (小計 per 二次医療圏), 保険者別 and 経年推移 (the same period of
    every year with data).
    File names: `survey-<region>-<YYYY-MM | FY<YYYY> | <from>_<to>>.csv|xlsx`. Text cells
    starting with = + - @ (or tab/CR) get a leading apostrophe so no spreadsheet runs them as
    formulas. Aggregates only: no patient data.
    """
    try:
        period = survey_period(
            today=server_today(), month=month, fiscal_year=fiscal_year, from_=from_, to=to
        )
    except WindowError as exc:
        raise invalid(exc.param, exc.msg) from exc
    if principal.role == "viewer":
        try:
            own = await metrics_scope(session, principal, region)
        except ScopeUnavailable as exc:
            raise Problem(403, "This key has no organization to scope the survey to.") from exc
        except RegionNotVisible as exc:
            raise Problem(403, REGION_NOT_VISIBLE) from exc
        region = own.value
    elif region is not None and not await region_known(session, region):
        raise Problem(404, "No organization belongs to this region.")
    if format == "json":
        table, _ = await survey_table(session, period, region)
        return table
    found = await survey_file(session, period, region, format, now=datetime.now(TOKYO))
    return Response(
        found.body,
        media_type=found.media_type,
        headers={"Content-Disposition": _attachment(found.filename)},
    )
