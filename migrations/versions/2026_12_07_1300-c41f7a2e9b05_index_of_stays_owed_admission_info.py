"""Index of stays still owed their 入院時情報提供, by deadline

GET /v1/metrics counts the admissions whose admission info is not given yet but not due yet
(``admissions_within_deadline``, #26). Without an index that count read every episode of the
region: at 100,000 stays it tripled the fiscal year's metrics (18 → 62 ms, the bench's
flatness 1.02 → 2.6). The stays it reads are a few days' admissions, so a partial index keeps
it flat however long the history grows.

Revision ID: c41f7a2e9b05
Revises: 8fd9c4954270
Create Date: 2026-12-07 13:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c41f7a2e9b05"
down_revision: str | None = "8fd9c4954270"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OWED = sa.text("has_admission IS true AND admission_info_at IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_episodes_admission_info_owed_deadline",
        "episodes",
        ["admission_info_deadline"],
        unique=False,
        postgresql_where=OWED,
    )


def downgrade() -> None:
    op.drop_index(
        "ix_episodes_admission_info_owed_deadline", table_name="episodes", postgresql_where=OWED
    )
