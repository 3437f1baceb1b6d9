"""What a form's refused event tells the person who sent it, in Japanese.

The form records through exactly the use case POST /v1/events uses
(``shared.events.recording.record`` in the unit of work: same retry, audit, commit and enqueue
after commit);
only the answer differs (a page, not problem+json).
"""

from __future__ import annotations

from typing import Final

from shared.events.ingestion import Outcome

# What to tell a person about each field, in Japanese (the API's messages are for integrators).
FIELD_MESSAGES: Final = {
    "hospital_id": "医療機関コードを確認してください（登録済みの医療機関のコード）。",
    "encounter_ref": "入院番号を確認してください（1〜64文字の英数字・記号）。",
    "occurred_at": "日時を確認してください（2000年以降、未来でない日時）。",
    "channel": "提供方法を選んでください。",
    "care_office_id": "事業所番号を確認してください（登録済みの事業所のコード）。",
}
STATUS_MESSAGES: Final = {
    "forbidden": "この入院について記録する権限がありません（当事者の事業所ではありません）。",
    "conflict": "この送信番号は別の内容で既に記録されています。画面を開き直してください。",
    "invalid": "入力内容を確認してください。",
}


def field_errors(outcome: Outcome, fields: tuple[str, ...]) -> tuple[dict[str, str], str | None]:
    """Japanese messages per form field, and one for the form when no field is to blame."""
    errors: dict[str, str] = {}
    for error in outcome.errors:
        loc = [str(part) for part in error.get("loc", [])]
        name = loc[1] if len(loc) > 1 and loc[0] == "body" else (loc[0] if loc else "")
        if name in fields:
            errors[name] = FIELD_MESSAGES.get(name, "入力内容を確認してください。")
    general = None if errors else STATUS_MESSAGES.get(outcome.status, "記録できませんでした。")
    return errors, general
