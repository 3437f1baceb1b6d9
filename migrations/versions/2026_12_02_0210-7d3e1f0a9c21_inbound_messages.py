"""Inbound messages: HL7 v2 and FHIR messages as received, with their events; the stay lookup

Revision ID: 7d3e1f0a9c21
Revises: 7d3f1b2a9c65
Create Date: 2026-12-02 02:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "7d3e1f0a9c21"
down_revision: str | None = "7d3f1b2a9c65"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ADMISSIONS = sa.text("type = 'admission'")


def upgrade() -> None:
    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("hospital_id", sa.String(length=32), nullable=False),
        sa.Column("control_id", sa.String(length=200), nullable=False),
        sa.Column("trigger", sa.String(length=40), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("event_ids", postgresql.ARRAY(sa.UUID()), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_messages")),
        sa.UniqueConstraint(
            "hospital_id",
            "control_id",
            "trigger",
            "content_sha256",
            name="uq_inbound_messages_fingerprint",
        ),
    )

    op.create_index(
        "ix_events_admission_hospital_patient_id",
        "events",
        ["hospital_id", sa.text("((body -> 'patient'::text) ->> 'hospital_patient_id'::text)")],
        unique=False,
        postgresql_where=ADMISSIONS,
    )


def downgrade() -> None:
    op.drop_index(
        "ix_events_admission_hospital_patient_id", table_name="events", postgresql_where=ADMISSIONS
    )
    op.drop_table("inbound_messages")
