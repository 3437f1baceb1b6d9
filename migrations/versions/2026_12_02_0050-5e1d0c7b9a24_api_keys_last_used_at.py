"""API keys: last_used_at, for `GET /v1/api-keys` and `handover key list`

Nullable, no default: a key not used since this revision shows no last use. The API writes it at
most once a minute per key, so a busy key costs no write per request.

Revision ID: 5e1d0c7b9a24
Revises: 0a3b23366ca6
Create Date: 2026-12-08 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5e1d0c7b9a24"
down_revision: str | None = "0a3b23366ca6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("api_keys", "last_used_at")
