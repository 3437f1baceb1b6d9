"""Property: a stay's HL7 v2 messages, in any interleaving and with resends, fold exactly as the
same events posted as JSON would (mapping and fold, pure; the database variant is in
tests/integration/interop/test_hl7v2_properties.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.interop.hl7v2.mapping import Events, event_id, map_adt
from shared.interop.hl7v2.parse import Parsed, parse
from shared.rules.events import EVENT_ADAPTER, RecordedEvent
from shared.rules.fold import fold
from shared.rules.rule_set import RuleSet
from shared.rules.zone import TOKYO
from tests.hypothesis_profiles import scaled
from tests.unit.interop.helpers import HOSPITAL, adt

NOW = datetime(2024, 9, 1, 12, 0, tzinfo=TOKYO)
BASE = datetime(2024, 6, 3, 10, 0, tzinfo=TOKYO)
RULES = (RuleSet(effective_from=date(2000, 1, 1)),)
VISIT = "V-PROP-1"
PATIENT_ID = "P12345"


def ts(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M")


def stay_messages(
    hours: list[int], planned_days: int, code: str, name: str, hospital: str = HOSPITAL
) -> list[tuple[str, dict[str, object]]]:
    """(ER7 message, the JSON event a hospital would post for it) for one stay."""
    admitted, updated, planned_at, discharged = (BASE + timedelta(hours=h) for h in hours)
    planned = (admitted + timedelta(days=planned_days)).date()
    pid = f"PID|1||{PATIENT_ID}^^^HOSP^MR||{name}^花子"
    display = f"{name} 花子"

    def envelope(control: str, trigger: str, moment: datetime) -> dict[str, object]:
        return {
            "event_id": event_id(hospital, control, trigger, VISIT),
            "occurred_at": moment.isoformat(),
            "hospital_id": hospital,
            "encounter_ref": VISIT,
        }

    patient = {"hospital_patient_id": PATIENT_ID, "display_name": display}
    destination = {"1": "home", "2": "other_hospital", "3": "residential_care", "20": "death"}
    return [
        (
            adt("A01", control_id="M1", pid=pid, pv1_fields={2: "I", 19: VISIT, 44: ts(admitted)}),
            {**envelope("M1", "A01", admitted), "type": "admission", "patient": patient},
        ),
        (
            adt(
                "A08",
                control_id="M2",
                pid=pid,
                evn=f"EVN||{ts(updated)}",
                pv1_fields={2: "I", 19: VISIT},
            ),
            {**envelope("M2", "A08", updated), "type": "stay_update", "patient": patient},
        ),
        (
            adt(
                "A16",
                control_id="M3",
                evn=f"EVN||{ts(planned_at)}",
                pv2_9=planned.strftime("%Y%m%d"),
                pv1_fields={2: "I", 19: VISIT},
            ),
            {
                **envelope("M3", "A16", planned_at),
                "type": "discharge_planned",
                "planned_discharge_date": str(planned),
            },
        ),
        (
            adt(
                "A03", control_id="M4", pv1_fields={2: "I", 19: VISIT, 36: code, 45: ts(discharged)}
            ),
            {
                **envelope("M4", "A03", discharged),
                "type": "discharge",
                "destination": destination.get(code.lstrip("0"), "other"),
            },
        ),
    ]


def recorded(bodies: list[dict[str, object]]) -> list[RecordedEvent]:
    return [
        RecordedEvent(event=EVENT_ADAPTER.validate_python(body), seq=i + 1, poster_org_id=HOSPITAL)
        for i, body in enumerate(bodies)
    ]


def mapped(message: str) -> dict[str, object]:
    parsed = parse(message)
    assert isinstance(parsed, Parsed)
    outcome = map_adt(parsed, HOSPITAL).outcome
    assert isinstance(outcome, Events), outcome
    (event,) = outcome.events
    return event


@settings(max_examples=scaled(150))
@given(
    hours=st.lists(st.integers(0, 24 * 20), min_size=4, max_size=4, unique=True).map(sorted),
    planned_days=st.integers(1, 30),
    code=st.sampled_from(["01", "1", "02", "03", "20", "99", ""]),
    name=st.sampled_from(["山田", "奥笠", "Smith"]),
    order=st.permutations(range(4)),
    resends=st.lists(st.integers(0, 3), max_size=3),
)
def test_any_interleaving_of_a_stays_messages_folds_as_its_json_events(
    hours: list[int],
    planned_days: int,
    code: str,
    name: str,
    order: list[int],
    resends: list[int],
) -> None:
    pairs = stay_messages(hours, planned_days, code, name)
    arrivals = [*order, *resends]
    from_messages = [mapped(pairs[i][0]) for i in arrivals]
    assert from_messages == [pairs[i][1] for i in arrivals]
    as_json = [body for _, body in pairs]
    assert fold(recorded(from_messages), RULES, NOW) == fold(recorded(as_json), RULES, NOW)
