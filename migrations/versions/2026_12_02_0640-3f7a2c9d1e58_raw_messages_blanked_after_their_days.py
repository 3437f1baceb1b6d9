"""Raw messages are blanked after HANDOVER_RAW_MESSAGE_DAYS: raw nullable, indexed

Revision ID: 3f7a2c9d1e58
Revises: 8ea1e5b57cdc
Create Date: 2026-12-02 06:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3f7a2c9d1e58"
down_revision: str | None = "8ea1e5b57cdc"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("inbound_messages", "raw", existing_type=sa.LargeBinary(), nullable=True)
    op.create_index(
        "ix_inbound_messages_raw_received_at",
        "inbound_messages",
        ["received_at"],
        postgresql_where=sa.text("raw IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_inbound_messages_raw_received_at", table_name="inbound_messages")
    op.execute("UPDATE inbound_messages SET raw = ''::bytea WHERE raw IS NULL")
    op.alter_column("inbound_messages", "raw", existing_type=sa.LargeBinary(), nullable=False)
