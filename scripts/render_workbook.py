"""Render a survey workbook as LibreOffice prints it: XLSX → PDF (headless) → one PNG.

    apt-get install -y libreoffice-calc-nogui poppler-utils
    .venv/bin/python scripts/render_workbook.py survey-kagoshima-2026-06.xlsx out.png

The PNG shows the top of the cover (表紙) and of the 医療機関別 and 経年推移 pages, each cropped
to its printed part, one under the other: what the README shows.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw

PAGES = (
    1,
    4,
    6,
)  # 表紙, 医療機関別, 経年推移 (one page each for a region of a few dozen hospitals)
DPI = 110


def cropped(page: Path) -> Image.Image:
    """The printed part of a page, without the page-number footer at its bottom."""
    image = Image.open(page).convert("RGB")
    body = image.crop((0, 0, image.width, int(image.height * 0.9)))
    box = ImageChops.difference(body, Image.new("RGB", body.size, "white")).getbbox()
    if box is None:
        return image
    left, top, right, bottom = box
    margin = 16
    return image.crop(
        (max(left - margin, 0), max(top - margin, 0), right + margin, bottom + margin)
    )


def main(workbook: Path, out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        subprocess.run(
            ["soffice", "--headless", "--convert-to", "pdf", "--outdir", tmp, str(workbook)],
            check=True, capture_output=True,
        )  # fmt: skip
        pdf = work / (workbook.stem + ".pdf")
        parts = []
        for number in PAGES:
            subprocess.run(
                ["pdftoppm", "-png", "-r", str(DPI), "-f", str(number), "-l", str(number),
                 "-singlefile", str(pdf), str(work / f"page-{number}")],
                check=True,
            )  # fmt: skip
            parts.append(cropped(work / f"page-{number}.png"))
    width = max(p.width for p in parts)
    sheet = Image.new("RGB", (width, sum(p.height for p in parts) + 12 * len(parts)), "white")
    draw = ImageDraw.Draw(sheet)
    y = 0
    for part in parts:
        sheet.paste(part, (0, y))
        y += part.height + 6
        draw.line([(0, y), (width, y)], fill="#999999", width=1)
        y += 6
    sheet.save(out, optimize=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
