"""GET /v1/reports/survey: the monthly survey table as JSON, CSV (Excel-ready) or XLSX."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from services.api.deps import PrincipalDep, SessionDep, require_roles
from services.api.errors import Problem
from services.api.routers.metrics import REGION_NOT_VISIBLE, invalid
from services.api.routing import AuthFirstRoute
from shared.access.visibility import RegionNotVisible, ScopeUnavailable, metrics_scope
from shared.metrics.schemas import SurveyOut
from shared.metrics.survey import survey_csv, survey_table, survey_xlsx
from shared.metrics.window import WindowError
from shared.organizations.schemas import RegionCode
from shared.organizations.service import region_known
from shared.rules.bounds import BoundedMonth, server_today

# require_roles is annotated `object`; FastAPI takes its Depends as is.
READERS = require_roles("viewer", "admin")
router = APIRouter(
    route_class=AuthFirstRoute, prefix="/v1/reports", tags=["reports"], dependencies=[READERS]
)

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Month = Annotated[BoundedMonth, Query(description="Survey month YYYY-MM")]


def _attachment(name: str) -> str:
    """A download, not inline; region codes and months are ASCII, so the name needs no escaping."""
    return f'attachment; filename="{name}"'


@router.get(
    "/survey",
    response_model=SurveyOut,
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
    month: Month,
    format: Annotated[Literal["json", "csv", "xlsx"], Query(description="Body format")] = "json",
    region: Annotated[RegionCode | None, Query(description="Region (viewer: its own)")] = None,
) -> SurveyOut | Response:
    """The survey table (入退院支援ルール調査) for one month: one row per hospital and a 合計 row.

    Every hospital organization of the region is listed (ordered by 医療機関コード), with zero
    counts and null percentages when it has no data. Percentages are the exact fraction × 100
    rounded half-up to one decimal (41/882 → 4.6). A viewer key always gets its own region (a
    different `region` → 403); an admin key gets the given region, or every hospital without
    one. CSV is UTF-8 with a BOM and CRLF so Excel opens it. CSV and XLSX columns:
    医療機関コード, 医療機関名, 入院時ケアマネあり, 入院時情報提供あり, 入院引継ぎ割合(%),
    期限内提供, 退院(対象), 退院調整あり, 退院調整漏れ, 退院調整漏れ割合(%). Text cells starting
    with = + - @ (or tab/CR) get a leading apostrophe so no spreadsheet runs them as formulas.
    Aggregates only: no patient data.
    """
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
    try:
        out = await survey_table(session, month, region, today=server_today())
    except WindowError as exc:  # only if the day changed since the query was validated
        raise invalid(exc.param, exc.msg) from exc
    stem = f"survey-{region}-{month}" if region else f"survey-{month}"
    if format == "csv":
        return Response(
            survey_csv(out),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": _attachment(f"{stem}.csv")},
        )
    if format == "xlsx":
        return Response(
            survey_xlsx(out),
            media_type=XLSX_TYPE,
            headers={"Content-Disposition": _attachment(f"{stem}.xlsx")},
        )
    return out
