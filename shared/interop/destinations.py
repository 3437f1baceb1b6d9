"""Discharge codes (HL7 table 0112 / NUBC, FHIR discharge-disposition) to a destination."""

from __future__ import annotations

from typing import Final, Literal

Destination = Literal["home", "residential_care", "other_hospital", "death", "other"]

# HL7 table 0112 / NUBC UB-04 FL17 codes, compared as numbers ("1" is "01").
# 02 short-term hospital, 43 federal hospital, 62 inpatient rehabilitation, 63 long-term care
# hospital, 65 psychiatric hospital, 66 critical access hospital: all another hospital.
TABLE_0112: Final[dict[int, Destination]] = {
    1: "home",
    6: "home",
    8: "home",
    2: "other_hospital",
    43: "other_hospital",
    62: "other_hospital",
    63: "other_hospital",
    65: "other_hospital",
    66: "other_hospital",
    3: "residential_care",
    4: "residential_care",
    5: "residential_care",
    20: "death",
    40: "death",
    41: "death",
    42: "death",
}

# http://terminology.hl7.org/CodeSystem/discharge-disposition
FHIR_DISPOSITION: Final[dict[str, Destination]] = {
    "home": "home",
    "alt-home": "home",
    "other-hcf": "other_hospital",
    "hosp": "other_hospital",
    "rehab": "other_hospital",
    "psy": "other_hospital",
    "snf": "residential_care",
    "long": "residential_care",
    "exp": "death",
}


def from_table_0112(code: str) -> Destination:
    """Destination for a table 0112 / NUBC code; empty, unknown or non-numeric is `other`."""
    text = code.strip()
    if not (text.isascii() and text.isdigit()):
        return "other"
    return TABLE_0112.get(int(text), "other")


def from_fhir_disposition(code: str) -> Destination:
    """Destination for a FHIR discharge-disposition code; unknown is `other`."""
    return FHIR_DISPOSITION.get(code.strip(), "other")
