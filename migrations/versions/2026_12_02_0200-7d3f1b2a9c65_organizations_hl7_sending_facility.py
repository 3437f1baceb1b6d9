"""Organizations: hl7_sending_facility (MSH-4), unique, so the MLLP listener finds the hospital

Revision ID: 7d3f1b2a9c65
Revises: 248f158e71c6
Create Date: 2026-12-02 02:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7d3f1b2a9c65"
down_revision: str | None = "248f158e71c6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "organizations", sa.Column("hl7_sending_facility", sa.String(length=20), nullable=True)
    )
    op.create_unique_constraint(
        "uq_organizations_hl7_sending_facility", "organizations", ["hl7_sending_facility"]
    )


def downgrade() -> None:
    op.drop_constraint("uq_organizations_hl7_sending_facility", "organizations", type_="unique")
    op.drop_column("organizations", "hl7_sending_facility")
