"""Episodes set aside by the worker: the fold error, when, and at which version

Revision ID: 248f158e71c6
Revises: 5c1e7a9d2b40
Create Date: 2026-12-02 01:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "248f158e71c6"
down_revision: str | None = "5c1e7a9d2b40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SET_ASIDE = sa.text("fold_failed_at IS NOT NULL")


def upgrade() -> None:
    op.add_column("episodes", sa.Column("fold_error", sa.String(length=120), nullable=True))
    op.add_column("episodes", sa.Column("fold_error_where", sa.String(length=200), nullable=True))
    op.add_column(
        "episodes", sa.Column("fold_failed_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("episodes", sa.Column("fold_failed_version", sa.BigInteger(), nullable=True))
    op.create_index(
        "ix_episodes_fold_failed_at",
        "episodes",
        ["fold_failed_at"],
        unique=False,
        postgresql_where=SET_ASIDE,
    )


def downgrade() -> None:
    op.drop_index("ix_episodes_fold_failed_at", table_name="episodes", postgresql_where=SET_ASIDE)
    op.drop_column("episodes", "fold_failed_version")
    op.drop_column("episodes", "fold_failed_at")
    op.drop_column("episodes", "fold_error_where")
    op.drop_column("episodes", "fold_error")
