"""event_id unique per posting organization; organizations under a reserved id lose their keys

Revision ID: b4d2e6f8a013
Revises: efcfef57312a
Create Date: 2026-12-07 05:30:00

domain.md: an ``event_id`` is unique per posting organization. Today's rows are unique across
all organizations, so they stay valid under the narrower constraint; a downgrade fails if two
posters have used one id since (that is the point of the change).

``admin`` is the poster label of the operator (any admin key), so an organization registered
under it (before it was reserved, in any letter case) would be read as the operator. Such an
organization keeps its row, its events and any admin key, but every other key of it is revoked
(revocation is not undone by a downgrade), and the migration names it in its log so the
operator can re-register it under another id and cancel what it posted.
"""

import sys
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b4d2e6f8a013"
down_revision: str | None = "efcfef57312a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RESERVED = ("admin",)  # shared.rules.events.RESERVED_ORG_IDS when this revision was written


def upgrade() -> None:
    op.drop_constraint("uq_events_event_id", "events", type_="unique")
    op.create_unique_constraint(
        op.f("uq_events_poster_org_id_event_id"), "events", ["poster_org_id", "event_id"]
    )
    bind = op.get_bind()
    reserved = sa.bindparam("reserved", list(RESERVED), type_=sa.ARRAY(sa.String()))
    colliding = bind.execute(
        sa.text("SELECT id FROM organizations WHERE lower(id) = ANY(:reserved) ORDER BY id")
        .bindparams(reserved)
    ).scalars().all()  # fmt: skip
    if not colliding:
        return
    revoked = bind.execute(
        sa.text(
            "UPDATE api_keys SET revoked_at = now() WHERE organization_id = ANY(:ids)"
            " AND role <> 'admin' AND revoked_at IS NULL"
        ).bindparams(sa.bindparam("ids", list(colliding), type_=sa.ARRAY(sa.String())))
    ).rowcount
    sys.stderr.write(  # the operator reads this where `handover migrate` ran
        f"WARNING organizations under a reserved id: {', '.join(colliding)}; {revoked} of their"
        " keys revoked. Register each under another id and cancel what it posted"
        " (docs/reliability.md, reserved ids).\n"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("uq_events_poster_org_id_event_id"), "events", type_="unique")
    op.create_unique_constraint("uq_events_event_id", "events", ["event_id"])
