"""Regional rule set (入退院支援ルール) parameters, versioned by effective_from."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, time
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    Strict,
    WithJsonSchema,
    model_validator,
)

from shared.rules.bounds import EARLIEST_DATE, date_text
from shared.rules.events import Destination

_LOCAL_TIME = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"


def _local_time_text(value: Any) -> Any:
    """Office hours are local wall-clock text, ``HH:MM[:SS]``: no offset, no seconds count."""
    if isinstance(value, time) or (isinstance(value, str) and re.match(_LOCAL_TIME, value)):
        return value
    raise ValueError("must be a local time HH:MM or HH:MM:SS, without an offset")


# Not `format: time`: RFC 3339 times carry an offset, and office hours must not.
LocalTime = Annotated[
    time,
    BeforeValidator(_local_time_text),
    WithJsonSchema({"type": "string", "pattern": _LOCAL_TIME, "examples": ["08:30"]}),
]
RULE_SET_EXAMPLE: Final[dict[str, JsonValue]] = {
    "effective_from": "2024-04-01",
    "admission_info_deadline_days": 7,
    "deadline_calendar": "business",
    "after_hours_rolls_to_next_day": True,
    "office_opens": "08:30",
    "office_closes": "17:30",
    "discharge_notice_lead_days": 7,
    "excluded_destinations": ["other_hospital", "death"],
    "short_stay_max_days": 3,
}

DeadlineCalendar = Literal["calendar", "business"]


class RuleSet(BaseModel):
    """One version of a region's rule; the version in force is chosen by the admission date."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, json_schema_extra={"examples": [RULE_SET_EXAMPLE]}
    )

    # Never before the domain's first date: effective_from - 1 day at date.min was a 500. The
    # API's body (schemas.admin.RuleSetIn) adds the upper bound, which needs the clock.
    effective_from: Annotated[
        date,
        Field(ge=EARLIEST_DATE, description="First admission date judged by this version"),
        BeforeValidator(date_text),  # after Field, so the bound stays out of the JSON schema
    ]
    admission_info_deadline_days: Annotated[int, Strict(), Field(ge=0, le=60)] = Field(
        default=7, description="Days after the admission date by which admission info is on time"
    )
    deadline_calendar: DeadlineCalendar = Field(
        default="calendar",
        description="calendar, or business (skips weekends, public holidays and 12/29–1/3)",
    )
    after_hours_rolls_to_next_day: Annotated[bool, Strict()] = Field(
        default=True,
        description="With a 0-day deadline, an admission outside office hours may be answered "
        "by the next business day",
    )
    office_opens: LocalTime = Field(default=time(8, 30), description="Office hours start (local)")
    office_closes: LocalTime = Field(
        default=time(17, 30), description="Office hours end (local, exclusive)"
    )
    discharge_notice_lead_days: Annotated[int, Strict(), Field(ge=0, le=60)] = Field(
        default=7, description="Coordination this many days before the discharge date is on time"
    )
    excluded_destinations: tuple[Destination, ...] = Field(
        default=("other_hospital", "death"), description="Discharges out of the rule's scope"
    )
    short_stay_max_days: Annotated[int, Strict(), Field(ge=0)] | None = Field(
        default=None, description="Stays of at most this many days are out of scope (null: off)"
    )

    @model_validator(mode="after")
    def _office_hours_ordered(self) -> RuleSet:
        """Office hours are the half-open interval [office_opens, office_closes)."""
        if self.office_opens.tzinfo is not None or self.office_closes.tzinfo is not None:
            raise ValueError("office hours are local times without an offset")
        if self.office_opens >= self.office_closes:
            raise ValueError("office_opens must be earlier than office_closes")
        return self


DEFAULT_RULE_SET: Final = RuleSet(effective_from=EARLIEST_DATE)


def rule_set_for(versions: Sequence[RuleSet], on: date) -> RuleSet:
    """The latest version effective on `on` (a later entry wins a tie), else the defaults."""
    chosen: RuleSet | None = None
    for version in versions:
        if version.effective_from <= on and (
            chosen is None or version.effective_from >= chosen.effective_from
        ):
            chosen = version
    return DEFAULT_RULE_SET if chosen is None else chosen
