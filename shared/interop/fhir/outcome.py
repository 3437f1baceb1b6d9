"""OperationOutcome JSON for $process-message answers (information or error)."""

from __future__ import annotations

from typing import Any, Literal


def operation_outcome(
    severity: Literal["information", "warning", "error", "fatal"],
    code: str,
    diagnostics: str,
    expression: str | None = None,
) -> dict[str, Any]:
    """One-issue OperationOutcome; `expression` names the element to fix (FHIRPath)."""
    issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression:
        issue["expression"] = [expression]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def stored(duplicate: bool = False, notes: tuple[str, ...] = ()) -> dict[str, Any]:
    """200 answer: the notification was stored (or was a duplicate of one stored before), with
    an `information` issue for each note (e.g. a disposition stored as `other`)."""
    text = "duplicate: already stored" if duplicate else "stored"
    outcome = operation_outcome("information", "informational", text)
    for note in notes:
        outcome["issue"].append(
            {"severity": "information", "code": "code-invalid", "diagnostics": note}
        )
    return outcome
