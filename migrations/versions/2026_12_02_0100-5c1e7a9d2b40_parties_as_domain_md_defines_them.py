"""Parties as domain.md defines them: recompute episodes.party_org_ids from the events

Until now every poster was a party, so an office that only posted for a stay could read it.
The new parties are computed here in SQL, at once (no window in which an office that posted
keeps reading, and none in which a named office loses its clients), with the same rule as
``shared.rules.parties`` written out (not imported) so this revision keeps doing what it did:
the hospital; the care_office_id of a live admission; the to_org_id / participant_org_ids of
live coordinations; the care_office_id of a live care_assignment posted by the hospital or the
operator, or (a closure) by an office that is already a party. Every changed episode is also
marked dirty, so the worker refolds it and the fold's own answer (and the ``state`` JSON) is
what stays.

Revision ID: 5c1e7a9d2b40
Revises: 5e1d0c7b9a24
Create Date: 2026-12-02 01:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5c1e7a9d2b40"
down_revision: str | None = "5e1d0c7b9a24"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RECOMPUTE_PARTIES = """
WITH RECURSIVE
live AS (
    SELECT e.episode_id, e.type, e.hospital_id, e.poster_org_id, e.body
    FROM events e
    WHERE e.type <> 'cancel'
      AND NOT EXISTS (
          SELECT 1 FROM events c WHERE c.type = 'cancel' AND c.cancels_event_id = e.event_id
      )
),
named (episode_id, org) AS (
    SELECT id, hospital_id FROM episodes
    UNION
    SELECT episode_id, body ->> 'care_office_id' FROM live
    WHERE type = 'admission'
       OR (type = 'care_assignment' AND poster_org_id IN (hospital_id, 'admin'))
    UNION
    SELECT episode_id, body ->> 'to_org_id' FROM live
    WHERE type IN ('discharge_coordination', 'no_cm_referral')
    UNION
    SELECT episode_id, jsonb_array_elements_text(body -> 'participant_org_ids') FROM live
    WHERE type = 'discharge_conference'
),
handover AS (
    SELECT episode_id, poster_org_id AS poster, body ->> 'care_office_id' AS org FROM live
    WHERE type = 'care_assignment' AND poster_org_id NOT IN (hospital_id, 'admin')
),
parties (episode_id, org) AS (
    SELECT episode_id, org FROM named WHERE org IS NOT NULL
    UNION
    SELECT h.episode_id, h.org
    FROM handover h JOIN parties p ON p.episode_id = h.episode_id AND p.org = h.poster
),
computed AS (
    SELECT episode_id, array_agg(org ORDER BY org COLLATE "C")::varchar(32)[] AS orgs
    FROM parties GROUP BY episode_id
)
UPDATE episodes
SET party_org_ids = computed.orgs, dirty_since = coalesce(episodes.dirty_since, now())
FROM computed
WHERE episodes.id = computed.episode_id AND episodes.party_org_ids IS DISTINCT FROM computed.orgs
"""


def upgrade() -> None:
    op.execute("LOCK TABLE episodes, events IN SHARE ROW EXCLUSIVE MODE")
    op.execute(RECOMPUTE_PARTIES)


def downgrade() -> None:
    # The older code's parties are a superset it writes on its next fold: let it refold all.
    op.execute("UPDATE episodes SET dirty_since = coalesce(dirty_since, now())")
