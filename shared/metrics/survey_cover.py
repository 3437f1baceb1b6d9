"""What the survey's cover (表紙) says, for the workbook and the printable page alike."""

from __future__ import annotations

from typing import Final

from shared.metrics.survey import SurveyReport
from shared.metrics.wareki import wareki_date
from shared.rules.rule_set import DEFAULT_RULE_SET, RuleSet

TITLE: Final = "入退院支援ルール実態調査"
ROUNDING: Final = "割合(%)は小数第1位で四捨五入。小計はその行の合計、合計は地域全体の集計。"


def rule_text(rule: RuleSet, since: str | None = None) -> str:
    """One rule-set version in a line: since when, and its two deadlines."""
    calendar = "営業日" if rule.deadline_calendar == "business" else "暦日"
    since = since or f"{rule.effective_from}（{wareki_date(rule.effective_from)}）施行"
    return (
        f"{since}: "
        f"入院時情報提供は入院日から{rule.admission_info_deadline_days}日以内（{calendar}）、"
        f"退院調整は退院予定日の{rule.discharge_notice_lead_days}日前まで"
    )


def region_label(report: SurveyReport) -> str:
    region = report.table.region
    if region is None:
        return "全地域"
    return f"{report.region_name or region}（地域コード {region}）"


def period_heading(report: SurveyReport) -> str:
    """``2024年6月（令和6年6月）``; a range by its dates and their 和暦."""
    period = report.period
    if period.month is None and period.fiscal_year is None:
        return f"{period.dates}（{period.wareki_dates}）"
    return f"{period.western}（{period.wareki}）"


def cover_facts(report: SurveyReport) -> list[tuple[str, str]]:
    """(label, text) lines: region, period in both calendars, rules in force, generated at."""
    period, table = report.period, report.table
    if report.rule_sets:
        rules = "\n".join(rule_text(r) for r in report.rule_sets)
    elif table.region is not None:
        rules = rule_text(DEFAULT_RULE_SET, "既定値（この地域のルールは未登録）")
    else:
        rules = "地域ごとのルールによる"
    at = report.generated_at
    stale = table.stale_episodes
    named = period.month is not None or period.fiscal_year is not None
    return [
        ("地域", region_label(report)),
        ("調査期間", f"{period.western}（{period.dates}）" if named else period.dates),
        (
            "調査期間（和暦）",
            f"{period.wareki}（{period.wareki_dates}）" if named else period.wareki,
        ),
        ("適用ルール", rules),
        ("作成日時", f"{at:%Y-%m-%d %H:%M}（{wareki_date(at.date())} {at:%H:%M}、日本時間）"),
        ("未反映の入院", f"{stale}件" + ("" if stale else "（受信済みのデータはすべて集計済み）")),
        ("割合", ROUNDING),
    ]
