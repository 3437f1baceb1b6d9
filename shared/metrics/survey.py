"""The monthly survey table (入退院支援ルール実態調査) as JSON rows, CSV (BOM) and XLSX."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Final

import xlsxwriter
from sqlalchemy import ColumnElement, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from shared.metrics.query import Scope, Sums, grouped_sums, merged, stale_episodes
from shared.metrics.schemas import SurveyFigures, SurveyOut, SurveyRow
from shared.metrics.window import month_window, parse_month
from shared.models import Episode, Organization

HEADERS: Final = (
    "医療機関コード",
    "医療機関名",
    "入院時ケアマネあり",
    "入院時情報提供あり",
    "入院引継ぎ割合(%)",
    "期限内提供",
    "退院(対象)",
    "退院調整あり",
    "退院調整漏れ",
    "退院調整漏れ割合(%)",
)
TOTAL_LABEL: Final = "合計"
# A spreadsheet treats text starting with these as a formula (full-width forms too, as a
# Japanese IME may turn them into the ASCII ones on edit).
_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")

Cell = str | int | float | None


async def survey_table(
    session: AsyncSession, month: str, region: str | None, *, today: date
) -> SurveyOut:
    """One row per hospital organization (of the region), zeros where no data, and a total.

    The caller has already checked that its key may report on `region` (None: every region).
    `today` (Asia/Tokyo) bounds the month (WindowError outside them).
    """
    window = month_window(*parse_month(month, today=today))
    hospitals = select(Organization.id, Organization.name).where(Organization.kind == "hospital")
    scope = Scope("all")
    visible: ColumnElement[bool] = true()
    if region is not None:
        hospitals = hospitals.where(Organization.region == region)
        scope = Scope("region", region)
        in_region = select(Organization.id).where(Organization.region == region)
        visible = Episode.hospital_id.in_(in_region)
    orgs = (await session.execute(hospitals.order_by(Organization.id))).all()
    by_hospital = await grouped_sums(session, window, scope, group_by=("hospital",))
    shown = {(org_id,): by_hospital.get((org_id,), Sums()) for org_id, _ in orgs}
    rows = [
        SurveyRow(
            hospital_id=org_id,
            hospital_name=name,
            **SurveyFigures.fields_of(shown[(org_id,)].totals()),
        )
        for org_id, name in orgs
    ]
    return SurveyOut(
        month=month,
        region=region,
        stale_episodes=await stale_episodes(session, visible),
        rows=rows,
        total=SurveyFigures(**SurveyFigures.fields_of(merged(shown).totals())),
    )


def neutralise(text: str) -> str:
    """Formula injection: text a spreadsheet would run as a formula gets a leading apostrophe."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _cells(code: str | None, name: str, figures: SurveyFigures) -> list[Cell]:
    return [
        None if code is None else neutralise(code),
        neutralise(name),
        figures.admissions_with_care_manager,
        figures.admission_info_provided,
        figures.admission_handover_pct,
        figures.admission_info_on_time,
        figures.eligible_discharges,
        figures.coordinated_discharges,
        figures.missed_discharges,
        figures.discharge_miss_pct,
    ]


def table(out: SurveyOut) -> list[list[Cell]]:
    """Header, one line per hospital, then the 合計 line with an empty 医療機関コード."""
    lines: list[list[Cell]] = [list(HEADERS)]
    lines.extend(_cells(r.hospital_id, r.hospital_name, r) for r in out.rows)
    lines.append(_cells(None, TOTAL_LABEL, out.total))
    return lines


def _csv_text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float):
        return f"{cell:.1f}"
    return str(cell)


def survey_csv(out: SurveyOut) -> bytes:
    """UTF-8 with a BOM so Excel opens the Japanese headers correctly; CRLF line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for line in table(out):
        writer.writerow([_csv_text(c) for c in line])
    return buffer.getvalue().encode("utf-8-sig")


def survey_xlsx(out: SurveyOut) -> bytes:
    """One sheet named after the month; text is written as text, never as a formula."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer,
        {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False},
    )
    sheet = workbook.add_worksheet(out.month)
    bold = workbook.add_format({"bold": True})
    pct = workbook.add_format({"num_format": "0.0"})
    for r, line in enumerate(table(out)):
        for c, cell in enumerate(line):
            if cell is None:
                continue
            if isinstance(cell, str):
                sheet.write_string(r, c, cell, bold if r == 0 else None)
            elif isinstance(cell, float):
                sheet.write_number(r, c, cell, pct)
            else:
                sheet.write_number(r, c, cell)
    sheet.set_column(0, 0, 14)
    sheet.set_column(1, 1, 30)
    sheet.set_column(2, len(HEADERS) - 1, 12)
    sheet.freeze_panes(1, 0)
    workbook.close()
    return buffer.getvalue()
