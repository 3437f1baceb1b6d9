"""access log: one row per episode shown to a person or key

Revision ID: efcfef57312a
Revises: 3f7a2c9d1e58
Create Date: 2026-12-07 05:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "efcfef57312a"
down_revision: str | None = "3f7a2c9d1e58"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "access_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("actor_type", sa.String(length=8), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("organization_id", sa.String(length=32), nullable=True),
        sa.Column("episode_id", sa.Uuid(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "actor_type IN ('user', 'api_key')", name=op.f("ck_access_log_actor_type")
        ),
        sa.CheckConstraint(
            "actor_type = 'api_key' OR actor_id IS NOT NULL",
            name=op.f("ck_access_log_user_has_id"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_log")),
    )
    op.create_index(op.f("ix_access_log_at"), "access_log", ["at"], unique=False)
    op.create_index("ix_access_log_episode_id_id", "access_log", ["episode_id", "id"])
    op.create_index("ix_access_log_organization_id_id", "access_log", ["organization_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_access_log_organization_id_id", table_name="access_log")
    op.drop_index("ix_access_log_episode_id_id", table_name="access_log")
    op.drop_index(op.f("ix_access_log_at"), table_name="access_log")
    op.drop_table("access_log")
