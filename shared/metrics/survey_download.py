"""The survey as a file: CSV (the hospital table) or the XLSX workbook, with its file name.

GET /v1/reports/survey and the screens' download links both answer with this, so a file
downloaded either way is the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from shared.metrics.survey import survey_report, survey_table
from shared.metrics.survey_csv import survey_csv
from shared.metrics.survey_period import SurveyPeriod
from shared.metrics.survey_workbook import survey_workbook

XLSX_TYPE: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE: Final = "text/csv; charset=utf-8"
FileFormat = Literal["csv", "xlsx"]
FILE_FORMATS: Final[dict[str, FileFormat]] = {"csv": "csv", "xlsx": "xlsx"}


@dataclass(frozen=True, slots=True)
class SurveyFile:
    body: bytes
    media_type: str
    filename: str


def file_stem(period: SurveyPeriod, region: str | None) -> str:
    """``survey-kagoshima-2024-06``, ``survey-kagoshima-FY2024``, ``survey-<from>_<to>``."""
    return f"survey-{region}-{period.stem}" if region else f"survey-{period.stem}"


async def survey_file(
    session: AsyncSession,
    period: SurveyPeriod,
    region: str | None,
    fmt: FileFormat,
    *,
    now: datetime,
) -> SurveyFile:
    """The file for an already authorized region (None: every region)."""
    name = f"{file_stem(period, region)}.{fmt}"
    if fmt == "csv":
        table, _ = await survey_table(session, period, region)
        return SurveyFile(survey_csv(table), CSV_TYPE, name)
    report = await survey_report(session, period, region, now=now)
    return SurveyFile(survey_workbook(report), XLSX_TYPE, name)
