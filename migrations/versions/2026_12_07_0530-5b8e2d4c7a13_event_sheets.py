"""Handover sheets beside their events, encrypted: event_sheets

Revision ID: 5b8e2d4c7a13
Revises: b4d2e6f8a013
Create Date: 2026-12-07 05:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b8e2d4c7a13"
down_revision: str | None = "b4d2e6f8a013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_sheets",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("poster_org_id", sa.String(length=32), nullable=False),
        sa.Column("episode_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["poster_org_id", "event_id"],
            ["events.poster_org_id", "events.event_id"],
            name=op.f("fk_event_sheets_poster_org_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["episode_id"], ["episodes.id"], name=op.f("fk_event_sheets_episode_id_episodes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_sheets")),
        sa.UniqueConstraint(
            "poster_org_id", "event_id", name=op.f("uq_event_sheets_poster_org_id_event_id")
        ),
    )
    op.create_index(op.f("ix_event_sheets_episode_id"), "event_sheets", ["episode_id"])
    op.create_index("ix_event_sheets_kind_occurred_at", "event_sheets", ["kind", "occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_event_sheets_kind_occurred_at", table_name="event_sheets")
    op.drop_index(op.f("ix_event_sheets_episode_id"), table_name="event_sheets")
    op.drop_table("event_sheets")
