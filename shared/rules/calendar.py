"""Asia/Tokyo dates, business days (営業日) and the admission-info deadline (入院時情報提供期限)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import jpholiday

from shared.rules.rule_set import RuleSet
from shared.rules.zone import TOKYO


def local_date(dt: datetime) -> date:
    """All metric dates are Asia/Tokyo dates, whatever offset the client sent."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("a timestamp with an offset is required")
    return dt.astimezone(TOKYO).date()


def shift_days(d: date, days: int) -> date:
    """``d`` moved by ``days``, saturating at date.min/date.max instead of raising OverflowError.

    Stored dates may be extreme (legacy rows, a future rule bug); a fold must never raise on them.
    """
    try:
        return d + timedelta(days=days)
    except OverflowError:
        return date.max if days > 0 else date.min


def is_year_end_holiday(d: date) -> bool:
    """年末年始: 12/29–1/3 are not business days."""
    return (d.month == 12 and d.day >= 29) or (d.month == 1 and d.day <= 3)


def is_business_day(d: date) -> bool:
    """A weekday that is neither a Japanese public holiday (祝日・振替休日) nor 12/29–1/3."""
    return d.weekday() < 5 and not is_year_end_holiday(d) and not jpholiday.is_holiday(d)


def add_business_days(d: date, n: int) -> date:
    """The n-th business day strictly after d (n=0 gives d itself)."""
    if n < 0:
        raise ValueError("n must not be negative")
    current = d
    remaining = n
    while remaining > 0 and current < date.max:
        current = shift_days(current, 1)
        if is_business_day(current):
            remaining -= 1
    return current


def next_business_day(d: date) -> date:
    """The first business day strictly after d."""
    return add_business_days(d, 1)


def within_office_hours(dt: datetime, rule_set: RuleSet) -> bool:
    """Office hours are [office_opens, office_closes) local time on a business day."""
    local = dt.astimezone(TOKYO)
    if not is_business_day(local.date()):
        return False
    return rule_set.office_opens <= local.time().replace(tzinfo=None) < rule_set.office_closes


def admission_info_deadline(admitted_at: datetime, rule_set: RuleSet) -> date:
    """Last local date on which 入院時情報提供 is on time for an admission at `admitted_at`."""
    admitted_on = local_date(admitted_at)
    days = rule_set.admission_info_deadline_days
    if (
        days == 0
        and rule_set.after_hours_rolls_to_next_day
        and not within_office_hours(admitted_at, rule_set)
    ):
        return next_business_day(admitted_on)
    if rule_set.deadline_calendar == "business":
        return add_business_days(admitted_on, days)
    return shift_days(admitted_on, days)
