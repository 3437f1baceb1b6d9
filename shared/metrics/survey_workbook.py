"""The survey as the workbook a 振興局 files as it is (api.md, GET /v1/reports/survey).

Sheets, in order: 表紙 (title, region, period in Western and 和暦 form, the rule set in force,
when it was generated), 全体, 二次医療圏別, 医療機関別 (小計 per area), 保険者別 and 経年推移. Each
table sheet has a title line and a header line, both repeated on every printed page (A4), and
columns wide enough for their headers. Percentages are numbers with a one-decimal cell format,
counts numbers with a thousands separator, text is text (never a formula).
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from typing import Final

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from shared.metrics.schemas import SurveyFigures
from shared.metrics.survey import SurveyReport
from shared.metrics.survey_cover import TITLE, cover_facts, period_heading
from shared.metrics.survey_csv import (
    FIGURE_HEADERS,
    HEADERS,
    TOTAL_LABEL,
    Cell,
    figure_cells,
    neutralise,
)

SHEETS: Final = ("表紙", "全体", "二次医療圏別", "医療機関別", "保険者別", "経年推移")
SUBTOTAL_LABEL: Final = "小計"
NO_AREA: Final = "（二次医療圏なし）"
NO_INSURER: Final = "（保険者番号なし）"
INSURER_HEADERS: Final = (
    "保険者番号",
    "入院時ケアマネあり",
    "入院時情報提供あり",
    "入院引継ぎ割合(%)",
)
TREND_HEADERS: Final = (
    "調査時期",
    "和暦",
    "入院時ケアマネあり",
    "入院時情報提供あり",
    "入院引継ぎ割合(%)",
    "退院(対象)",
    "退院調整漏れ",
    "退院調整漏れ割合(%)",
)
A4: Final = 9  # xlsxwriter's paper code
PCT_HEADERS: Final = frozenset(h for h in (*HEADERS, *TREND_HEADERS) if h.endswith("(%)"))


def text_width(text: str) -> int:
    """Columns a text needs: two for each full-width (CJK) character, one otherwise."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WFA" else 1 for ch in text)


class _Book:
    """The workbook's formats and the one way a table sheet is written."""

    def __init__(self, buffer: io.BytesIO) -> None:
        self.workbook = xlsxwriter.Workbook(
            buffer,
            {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False},
        )
        add = self.workbook.add_format
        self.title = add({"bold": True, "font_size": 16})
        self.heading = add({"bold": True, "font_size": 12})
        self.header = add({"bold": True, "bg_color": "#DDEBF7", "border": 1, "align": "center"})
        self.text = add({"border": 1})
        self.count = add({"border": 1, "num_format": "#,##0"})
        self.pct = add({"border": 1, "num_format": "0.0"})
        summed = {"border": 1, "bold": True, "bg_color": "#F2F2F2"}
        self.sum_text = add(summed)
        self.sum_count = add({**summed, "num_format": "#,##0"})
        self.sum_pct = add({**summed, "num_format": "0.0"})
        self.label = add({"bold": True, "valign": "top"})
        self.value = add({"text_wrap": True, "valign": "top"})

    def _print_setup(self, sheet: Worksheet, landscape: bool, repeat: int) -> None:
        sheet.set_paper(A4)
        if landscape:
            sheet.set_landscape()
        sheet.fit_to_pages(1, 0)  # one page wide, as many tall as the rows need
        sheet.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
        sheet.center_horizontally()
        if repeat:
            sheet.repeat_rows(0, repeat - 1)
        sheet.set_footer("&C&P / &N")

    def table(
        self,
        name: str,
        title: str,
        headers: Sequence[str],
        lines: Sequence[tuple[list[Cell], bool]],
    ) -> Worksheet:
        """Title line, header line, then each (cells, is a 小計/合計 line)."""
        sheet = self.workbook.add_worksheet(name)
        sheet.write_string(0, 0, title, self.heading)
        widths = [text_width(h) for h in headers]
        for c, header in enumerate(headers):
            sheet.write_string(1, c, header, self.header)
        pct_columns = {c for c, h in enumerate(headers) if h in PCT_HEADERS}
        for r, (cells, summed) in enumerate(lines, start=2):
            for c, cell in enumerate(cells):
                self._cell(sheet, r, c, cell, c in pct_columns, summed)
                if isinstance(cell, str):
                    widths[c] = max(widths[c], text_width(cell))
        for c, width in enumerate(widths):
            sheet.set_column(c, c, width + 3)
        sheet.set_row(1, 20)
        sheet.freeze_panes(2, 0)
        self._print_setup(sheet, landscape=len(headers) > 6, repeat=2)
        return sheet

    def _cell(self, sheet: Worksheet, r: int, c: int, cell: Cell, pct: bool, summed: bool) -> None:
        if isinstance(cell, str):
            sheet.write_string(r, c, cell, self.sum_text if summed else self.text)
        elif cell is None:  # no base for the percentage: an empty cell, as in the CSV
            sheet.write_blank(r, c, None, self.sum_pct if summed else self.pct)
        elif pct:
            sheet.write_number(r, c, cell, self.sum_pct if summed else self.pct)
        else:
            sheet.write_number(r, c, cell, self.sum_count if summed else self.count)


def _area(name: str | None) -> str:
    return NO_AREA if name is None else neutralise(name)


def _cover(book: _Book, report: SurveyReport) -> None:
    sheet = book.workbook.add_worksheet(SHEETS[0])
    facts = [*cover_facts(report), ("シート", "、".join(SHEETS[1:]))]
    sheet.write_string(0, 0, TITLE, book.title)
    sheet.write_string(1, 0, neutralise(period_heading(report)), book.heading)
    for r, (label, value) in enumerate(facts, start=3):
        sheet.write_string(r, 0, label, book.label)
        sheet.write_string(r, 1, neutralise(value), book.value)
        sheet.set_row(r, 18 * (value.count("\n") + 1) if "\n" in value else None)
    sheet.set_column(0, 0, 18)
    sheet.set_column(1, 1, 90)
    book._print_setup(sheet, landscape=False, repeat=0)


def _sum_line(label: str, figures: SurveyFigures, lead: int) -> tuple[list[Cell], bool]:
    return ([*([None] * lead), label, *figure_cells(figures)], True)


def survey_workbook(report: SurveyReport) -> bytes:
    """The workbook's bytes (sheets named exactly as api.md says)."""
    buffer = io.BytesIO()
    book = _Book(buffer)
    period, table = report.period, report.table
    where = "全地域" if table.region is None else (report.region_name or table.region)
    suffix = f"　{where}　{period_heading(report)}"
    _cover(book, report)
    book.table(SHEETS[1], f"全体{suffix}", ["地域", *FIGURE_HEADERS], [
        ([neutralise(where), *figure_cells(table.total)], True)
    ])  # fmt: skip
    area_lines = [([_area(a.name), *figure_cells(a.subtotal)], False) for a in report.areas]
    book.table(SHEETS[2], f"二次医療圏別{suffix}", ["二次医療圏", *FIGURE_HEADERS], [
        *area_lines, _sum_line(TOTAL_LABEL, table.total, 0)
    ])  # fmt: skip
    hospital_lines: list[tuple[list[Cell], bool]] = []
    for area in report.areas:
        for row in area.rows:
            cells = [neutralise(row.hospital_id), neutralise(row.hospital_name), *figure_cells(row)]
            hospital_lines.append(([_area(area.name), *cells], False))
        hospital_lines.append(_sum_line(SUBTOTAL_LABEL, area.subtotal, 2))
    hospital_lines.append(_sum_line(TOTAL_LABEL, table.total, 2))
    book.table(SHEETS[3], f"医療機関別{suffix}", ["二次医療圏", *HEADERS], hospital_lines)
    insurer_lines: list[tuple[list[Cell], bool]] = [
        ([NO_INSURER if key is None else key, *_insurer_cells(f)], False)
        for key, f in report.insurers
    ]
    insurer_lines.append(([TOTAL_LABEL, *_insurer_cells(table.total)], True))
    book.table(SHEETS[4], f"保険者別（ケアマネジャー側）{suffix}", INSURER_HEADERS, insurer_lines)
    trend_lines: list[tuple[list[Cell], bool]] = [
        ([p.western, p.wareki, *_trend_cells(f)], p == period) for p, f in report.trend
    ]
    book.table(SHEETS[5], f"経年推移{suffix}", TREND_HEADERS, trend_lines)
    book.workbook.close()
    return buffer.getvalue()


def _insurer_cells(figures: SurveyFigures) -> list[Cell]:
    return [
        figures.admissions_with_care_manager,
        figures.admission_info_provided,
        figures.admission_handover_pct,
    ]


def _trend_cells(figures: SurveyFigures) -> list[Cell]:
    return [
        figures.admissions_with_care_manager,
        figures.admission_info_provided,
        figures.admission_handover_pct,
        figures.eligible_discharges,
        figures.missed_discharges,
        figures.discharge_miss_pct,
    ]
