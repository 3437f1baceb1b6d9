"""The survey table's cells, and the table as CSV (UTF-8 with a BOM, CRLF) for Excel."""

from __future__ import annotations

import csv
import io
from typing import Final

from shared.metrics.schemas import SurveyFigures, SurveyOut

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
# The columns after 医療機関コード and 医療機関名: what every sheet of the workbook shows.
FIGURE_HEADERS: Final = HEADERS[2:]
TOTAL_LABEL: Final = "合計"
# A spreadsheet treats text starting with these as a formula (full-width forms too, as a
# Japanese IME may turn them into the ASCII ones on edit).
_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")

Cell = str | int | float | None


def neutralise(text: str) -> str:
    """Formula injection: text a spreadsheet would run as a formula gets a leading apostrophe."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def figure_cells(figures: SurveyFigures) -> list[Cell]:
    """The survey's figures in FIGURE_HEADERS order (a percentage is None without a base)."""
    return [
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
    lines.extend(
        [neutralise(r.hospital_id), neutralise(r.hospital_name), *figure_cells(r)] for r in out.rows
    )
    lines.append([None, TOTAL_LABEL, *figure_cells(out.total)])
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
