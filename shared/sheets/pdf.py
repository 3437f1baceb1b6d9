"""A sheet printed on A4 like the paper form: its title, the stay, then framed sections.

reportlab with Adobe's CID fonts (HeiseiMin-W3 for the title, HeiseiKakuGo-W5 for the rest):
the PDF names them and the reader supplies the glyphs, so no font file ships with the service.
Choices are printed as the form prints them, every choice with ■ for the one given and □ for
the others.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from shared.sheets.documents import TITLES
from shared.sheets.layout import Heading, Item, Section, sections, shown, value_at
from shared.sheets.reading import EpisodeSheets

GOTHIC = "HeiseiKakuGo-W5"
MINCHO = "HeiseiMin-W3"
TOKYO = ZoneInfo("Asia/Tokyo")
WIDTH = A4[0] - 24 * mm  # the frame inside 12 mm margins
COLUMNS = [WIDTH * 0.2, WIDTH * 0.3, WIDTH * 0.2, WIDTH * 0.3]
SECTION_BG = colors.Color(0.85, 0.85, 0.85)
HEADING_BG = colors.Color(0.94, 0.94, 0.94)
WIDE_CHOICES = 4  # a choice with more options than this takes the whole row


@dataclass(frozen=True, slots=True)
class PrintedSheet:
    """What one printed sheet shows besides its items: the stay and who sent it when."""

    kind: str
    items: dict[str, Any]
    hospital: str
    encounter_ref: str
    posted_by: str
    occurred_at: datetime
    cancelled: bool


@cache
def _fonts() -> None:
    for name in (GOTHIC, MINCHO):
        pdfmetrics.registerFont(UnicodeCIDFont(name))


def _style(size: float, font: str = GOTHIC, leading: float | None = None) -> ParagraphStyle:
    return ParagraphStyle(
        f"{font}{size}", fontName=font, fontSize=size, leading=leading or size * 1.3
    )


LABEL = _style(7.5)
VALUE = _style(8.5)
TITLE = _style(16, MINCHO, 20)


def _p(text: str, style: ParagraphStyle = VALUE) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _value(item: Item, value: Any) -> str:
    """Choices as the form's check boxes; other values as written."""
    if item.kind == "choice":
        return "　".join(("■" if c == value else "□") + c for c in item.choices)
    if item.kind == "multi":
        given = set(value or ())
        return "　".join(("■" if c in given else "□") + c for c in item.choices)
    if item.kind == "bool":
        return "　".join(
            ("■" if value is v else "□") + t for v, t in ((True, "あり"), (False, "なし"))
        )
    return shown(item, value)


def _wide(item: Item) -> bool:
    return item.kind in ("long", "multi") or (
        item.kind == "choice" and len(item.choices) > WIDE_CHOICES
    )


class _Grid:
    """One section's table: rows of four cells (label, value, label, value) and their style."""

    def __init__(self) -> None:
        self.rows: list[list[Any]] = []
        self.style: list[tuple[Any, ...]] = [
            ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 1.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        ]
        self.pending: list[Any] = []

    def band(self, text: str, size: float, background: colors.Color) -> None:
        """A row across the table: a section's title or a group's heading."""
        self.flush()
        self.rows.append([_p(text, _style(size)), "", "", ""])
        n = len(self.rows) - 1
        self.style += [("SPAN", (0, n), (-1, n)), ("BACKGROUND", (0, n), (-1, n), background)]

    def item(self, label: Any, value: Any, *, wide: bool) -> None:
        """A label and its value: two to a row, or alone across the row when wide."""
        if wide:
            self.flush()
            self._labelled([label, value, "", ""], spans=True)
            return
        self.pending += [label, value]
        if len(self.pending) == 4:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            cells, self.pending = self.pending, []
            self._labelled([*cells, "", ""] if len(cells) == 2 else cells, spans=len(cells) == 2)

    def _labelled(self, cells: list[Any], *, spans: bool) -> None:
        self.rows.append(cells)
        n = len(self.rows) - 1
        self.style.append(("BACKGROUND", (0, n), (0, n), HEADING_BG))
        if spans:
            self.style.append(("SPAN", (1, n), (-1, n)))
        else:
            self.style.append(("BACKGROUND", (2, n), (2, n), HEADING_BG))

    def table(self, *, titled: bool) -> Table:
        self.flush()
        table = Table(self.rows, colWidths=COLUMNS, repeatRows=1 if titled else 0)
        table.setStyle(TableStyle(self.style))
        return table


def _section_table(section: Section, items: dict[str, Any]) -> Table:
    grid = _Grid()
    if section.title:
        grid.band(section.title, 9.5, SECTION_BG)
    for row in section.rows:
        if isinstance(row, Heading):
            grid.band(row.label, 8, HEADING_BG)
        else:
            value = _value(row, value_at(items, row.path))
            grid.item(_p(row.label, LABEL), _p(value), wide=_wide(row))
    return grid.table(titled=bool(section.title))


def _header(sheet: PrintedSheet) -> list[Flowable]:
    at = sheet.occurred_at.astimezone(TOKYO)
    stay = Table(
        [
            [
                _p("医療機関", LABEL),
                _p(sheet.hospital),
                _p("入院番号", LABEL),
                _p(sheet.encounter_ref),
            ],
            [
                _p("送付元", LABEL),
                _p(sheet.posted_by),
                _p("送付日時", LABEL),
                _p(f"{at.year}年{at.month}月{at.day}日 {at:%H:%M}"),
            ],
        ],
        colWidths=COLUMNS,
    )
    stay.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("BACKGROUND", (0, 0), (0, -1), HEADING_BG),
                ("BACKGROUND", (2, 0), (2, -1), HEADING_BG),
            ]
        )
    )
    title = TITLES[sheet.kind] + ("（取消済み）" if sheet.cancelled else "")
    return [
        Paragraph(escape(title), ParagraphStyle("t", parent=TITLE, alignment=1)),
        Spacer(1, 4 * mm),
        stay,
        Spacer(1, 3 * mm),
    ]


def _footer(canvas: Canvas, doc: SimpleDocTemplate) -> None:
    canvas.saveState()
    canvas.setFont(GOTHIC, 7)
    canvas.drawRightString(A4[0] - 12 * mm, 7 * mm, f"{doc.page} ページ")
    canvas.drawString(12 * mm, 7 * mm, "個人情報を含みます。取扱いに注意してください。")
    canvas.restoreState()


def render_pdf(sheet: PrintedSheet) -> bytes:
    """The sheet as an A4 PDF."""
    _fonts()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=14 * mm,
        title=TITLES[sheet.kind],
        author="handover",
    )
    story = _header(sheet)
    for section in sections(sheet.kind):
        story += [_section_table(section, sheet.items), Spacer(1, 2 * mm)]
    doc.build(story, onFirstPage=_footer, onLaterPages=_footer)
    return buffer.getvalue()


def episode_sheet_pdf(found: EpisodeSheets) -> bytes:
    """The first (only) sheet ``read_sheets`` found, printed with the stay's names."""
    sheet = found.sheets[0]
    return render_pdf(
        PrintedSheet(
            kind=sheet.kind,
            items=sheet.sheet.get("items", {}),
            hospital=found.names.get(found.hospital_id, found.hospital_id),
            encounter_ref=found.encounter_ref,
            posted_by=found.names.get(sheet.posted_by, sheet.posted_by),
            occurred_at=sheet.occurred_at,
            cancelled=sheet.cancelled,
        )
    )
