"""HL7 TS forms: minute precision and finer, offsets, and Asia/Tokyo when none is given."""

from __future__ import annotations

from datetime import date

import pytest

from shared.interop.hl7v2.ts import local_date_text, parse_date, parse_ts


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("202406031015", "2024-06-03T10:15:00+09:00"),
        ("20240603101530", "2024-06-03T10:15:30+09:00"),
        ("20240603101530.5", "2024-06-03T10:15:30.500000+09:00"),
        ("20111220224447.3399", "2011-12-20T22:44:47.339900+09:00"),
        ("20240603101530.123456789", "2024-06-03T10:15:30.123456+09:00"),
        ("20060529090131-0500", "2006-05-29T09:01:31-05:00"),
        ("198908181126+0215", "1989-08-18T11:26:00+02:15"),
        ("202406031015+0000", "2024-06-03T10:15:00+00:00"),
    ],
)
def test_ts_forms_parse_to_aware_datetimes(text: str, iso: str) -> None:
    moment = parse_ts(text)
    assert moment is not None
    assert moment.isoformat() == iso


@pytest.mark.parametrize(
    "text", ["", "20240603", "2024060310", "20241303101500", "20240603101500+2500", "abc"]
)
def test_malformed_or_too_coarse_ts_is_refused(text: str) -> None:
    assert parse_ts(text) is None


def test_local_date_is_the_tokyo_date() -> None:
    moment = parse_ts("202406031600-0500")  # 06:00 next day in Tokyo
    assert moment is not None
    assert local_date_text(moment) == "20240604"


def test_date_of_a_ts_is_as_written() -> None:
    assert parse_date("20150210113419+0110") == date(2015, 2, 10)
    assert parse_date("20241231") == date(2024, 12, 31)
    assert parse_date("2024") is None
