"""The outbox: notification rows written inside the transaction of the change that causes them.

A crash before the commit loses the change and its notifications together; after it, both are
stored and the worker (or the sweep, if the broker message is lost) delivers. The ids written
in a transaction are queued on the unit of work, which sends them only after its commit.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.core import unit_of_work
from shared.models import Episode, Flag, Webhook, WebhookDelivery
from shared.notify import subscriptions
from shared.rules.events import (
    AdmissionEvent,
    AdmissionInfoEvent,
    DischargeConferenceEvent,
    DischargeCoordinationEvent,
    DischargeEvent,
    DischargePlannedEvent,
    Event,
    NoCmReferralEvent,
)
from shared.rules.state import EpisodeState

logger = logging.getLogger("handover.notify.outbox")
# (event type, recipients, extra data fields) for one change
Notice = tuple[str, set[str], dict[str, Any]]


def timestamp(now: datetime) -> str:
    return now.astimezone(UTC).isoformat().replace("+00:00", "Z")


def payload(event_type: str, now: datetime, data: dict[str, Any]) -> dict[str, Any]:
    """The body: type, time and ids only — the receiver reads the episode with its own key."""
    return {"type": event_type, "timestamp": timestamp(now), "data": data}


def _event_notices(event: Event, state: EpisodeState) -> list[Notice]:
    """Who must hear of this stored event (api.md's table), limited to the episode's parties."""
    hospital, offices = state.hospital_id, state.party_org_ids - {state.hospital_id}
    responsible = {state.care_office_id} & offices if state.care_office_id else set()
    notices: list[Notice] = []
    if isinstance(event, AdmissionEvent) and event.care_office_id is not None:
        due = state.admission_info_deadline
        notices.append(("episode.admitted", {event.care_office_id} & offices,
                        {"due_date": due.isoformat() if due else None}))  # fmt: skip
    if isinstance(event, AdmissionInfoEvent):
        notices.append(("episode.admission_info", {hospital}, {}))
    plans = isinstance(event, DischargePlannedEvent) or (
        isinstance(event, AdmissionEvent | DischargeCoordinationEvent)
        and event.planned_discharge_date is not None
    )
    if plans:  # a planned discharge date was set or changed
        notices.append(("episode.discharge_planned", set(responsible), {}))
    if isinstance(event, DischargeCoordinationEvent | NoCmReferralEvent):
        notices.append(("episode.coordination", {event.to_org_id} & offices, {}))
    if isinstance(event, DischargeConferenceEvent):
        notices.append(("episode.coordination", set(event.participant_org_ids) & offices, {}))
    if isinstance(event, DischargeEvent):
        notices.append(("episode.discharged", set(responsible), {}))
    return [n for n in notices if n[1]]


async def record_event_notifications(
    session: AsyncSession,
    accepted: Iterable[tuple[Event, uuid.UUID, EpisodeState | None]],
    now: datetime,
    *,
    with_sheets: frozenset[uuid.UUID] | set[uuid.UUID] = frozenset(),
) -> None:
    """Outbox rows for stored events: (event, its episode, the episode's fold including it).

    An event in ``with_sheets`` carried a sheet: its data says ``"has_sheet": true``, never more.
    """
    wanted: list[tuple[str, set[str], dict[str, Any]]] = []
    for ev, episode_id, state in accepted:
        if state is None:
            continue
        base: dict[str, Any] = {
            "episode_id": str(episode_id), "hospital_id": state.hospital_id,
            "encounter_ref": state.encounter_ref, "event_id": str(ev.event_id),
        }  # fmt: skip
        if ev.event_id in with_sheets:
            base["has_sheet"] = True
        for event_type, recipients, extra in _event_notices(ev, state):
            wanted.append((event_type, recipients, {**base, **extra}))
    await _write(session, wanted, now)


def _flag_due_date(flag: Flag) -> str | None:
    detail = flag.detail or {}
    for key in ("deadline", "planned_discharge_date", "discharge_date"):
        if detail.get(key):
            return str(detail[key])
    return None


async def record_flag_notifications(
    session: AsyncSession, raised: Sequence[Flag], cleared: Sequence[Flag], now: datetime
) -> None:
    """``flag.raised`` / ``flag.cleared`` to the flag's party and the responsible care office."""
    if not raised and not cleared:
        return
    episode_ids = {f.episode_id for f in [*raised, *cleared]}
    episodes = {
        row.id: row
        for row in await session.execute(
            select(
                Episode.id,
                Episode.hospital_id,
                Episode.encounter_ref,
                Episode.care_office_id,
                Episode.party_org_ids,
            ).where(Episode.id.in_(episode_ids))
        )
    }
    wanted: list[tuple[str, set[str], dict[str, Any]]] = []
    for event_type, flags in (("flag.raised", raised), ("flag.cleared", cleared)):
        for flag in flags:
            episode = episodes.get(flag.episode_id)
            if episode is None:
                continue
            parties = {*episode.party_org_ids, episode.hospital_id}
            recipients = {flag.party_org_id, episode.care_office_id} & parties
            data = {"episode_id": str(episode.id), "hospital_id": episode.hospital_id,
                    "encounter_ref": episode.encounter_ref, "flag_id": str(flag.id),
                    "flag_kind": flag.kind, "due_date": _flag_due_date(flag)}  # fmt: skip
            wanted.append((event_type, {r for r in recipients if r}, data))
    await _write(session, wanted, now)


async def _write(
    session: AsyncSession, wanted: Sequence[tuple[str, set[str], dict[str, Any]]], now: datetime
) -> None:
    """One lookup of the subscribed webhooks, one insert of every delivery row (neither when no
    recipient has a webhook, which the cached set of subscribed organizations tells)."""
    orgs = {org for _, recipients, _ in wanted for org in recipients}
    if not orgs or not await subscriptions.any_subscribed(session, orgs):
        return
    hooks = (
        await session.execute(
            select(Webhook.id, Webhook.organization_id, Webhook.event_types).where(
                Webhook.enabled, Webhook.organization_id.in_(orgs)
            )
        )
    ).all()
    if not hooks:
        return
    rows = []
    for event_type, recipients, data in wanted:
        body = payload(event_type, now, {k: v for k, v in data.items() if v is not None})
        for hook in hooks:
            if hook.organization_id in recipients and event_type in hook.event_types:
                rows.append(new_delivery(hook.id, event_type, body, now))
    if rows:
        await session.execute(insert(WebhookDelivery), rows)
        unit_of_work.queue_deliveries(session, [r["id"] for r in rows])


def new_delivery(
    webhook_id: uuid.UUID, event_type: str, body: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """A pending delivery row, due at once."""
    return {"id": uuid.uuid4(), "webhook_id": webhook_id, "event_type": event_type,
            "payload": body, "state": "pending", "attempts": 0, "next_attempt_at": now,
            "created_at": now}  # fmt: skip
