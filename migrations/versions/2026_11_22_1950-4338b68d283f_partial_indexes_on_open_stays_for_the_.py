"""Partial indexes on open stays for the work lists (hospital and care-office pending)

Revision ID: 4338b68d283f
Revises: df5326e2ba74
Create Date: 2026-11-22 19:50:51.690400
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "4338b68d283f"
down_revision: str | None = "df5326e2ba74"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_episodes_open_care_office_id",
        "episodes",
        ["care_office_id"],
        unique=False,
        postgresql_where=sa.text("has_admission IS true AND discharged_at IS NULL"),
    )
    op.create_index(
        "ix_episodes_open_hospital_id",
        "episodes",
        ["hospital_id"],
        unique=False,
        postgresql_where=sa.text("has_admission IS true AND discharged_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_episodes_open_hospital_id",
        table_name="episodes",
        postgresql_where=sa.text("has_admission IS true AND discharged_at IS NULL"),
    )
    op.drop_index(
        "ix_episodes_open_care_office_id",
        table_name="episodes",
        postgresql_where=sa.text("has_admission IS true AND discharged_at IS NULL"),
    )
