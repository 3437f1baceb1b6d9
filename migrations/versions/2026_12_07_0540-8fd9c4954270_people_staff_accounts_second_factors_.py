"""People: staff accounts, their second factors, enrolment links and failed sign-ins

Revision ID: 8fd9c4954270
Revises: b7e4d2a91c36
Create Date: 2026-12-07 05:05:03.183680
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8fd9c4954270"
down_revision: str | None = "b7e4d2a91c36"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("login_id", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_failures")),
    )
    op.create_index(
        "ix_sign_in_failures_address_at", "sign_in_failures", ["address", "at"], unique=False
    )
    op.create_index(
        "ix_sign_in_failures_login_id_at", "sign_in_failures", ["login_id", "at"], unique=False
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("login_id", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("disabled", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("totp_secret", sa.String(length=64), nullable=True),
        sa.Column("totp_last_step", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_users_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("login_id", name=op.f("uq_users_login_id")),
    )
    op.create_index(op.f("ix_users_organization_id"), "users", ["organization_id"], unique=False)
    op.create_table(
        "user_enrolments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("totp_secret", sa.String(length=64), nullable=True),
        sa.Column("challenge", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_enrolments_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_enrolments")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_user_enrolments_token_hash")),
    )
    op.create_index(
        op.f("ix_user_enrolments_user_id"), "user_enrolments", ["user_id"], unique=False
    )
    op.create_table(
        "user_passkeys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("credential_id", sa.LargeBinary(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_passkeys_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_passkeys")),
        sa.UniqueConstraint("credential_id", name=op.f("uq_user_passkeys_credential_id")),
    )
    op.create_index(op.f("ix_user_passkeys_user_id"), "user_passkeys", ["user_id"], unique=False)
    op.create_table(
        "user_recovery_codes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_recovery_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_recovery_codes")),
    )
    op.create_index(
        op.f("ix_user_recovery_codes_user_id"), "user_recovery_codes", ["user_id"], unique=False
    )
    op.add_column("ui_sessions", sa.Column("user_id", sa.Uuid(), nullable=True))
    op.add_column(
        "ui_sessions", sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "ui_sessions", sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("ui_sessions", sa.Column("address", sa.String(length=64), nullable=True))
    op.add_column("ui_sessions", sa.Column("user_agent", sa.String(length=200), nullable=True))
    op.add_column("ui_sessions", sa.Column("challenge", sa.LargeBinary(), nullable=True))
    op.add_column("ui_sessions", sa.Column("totp_offer", sa.String(length=64), nullable=True))
    op.create_index(op.f("ix_ui_sessions_user_id"), "ui_sessions", ["user_id"], unique=False)
    op.create_foreign_key(
        op.f("fk_ui_sessions_user_id_users"),
        "ui_sessions",
        "users",
        ["user_id"],
        ["id"],
        ondelete="CASCADE",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("fk_ui_sessions_user_id_users"), "ui_sessions", type_="foreignkey")
    op.drop_index(op.f("ix_ui_sessions_user_id"), table_name="ui_sessions")
    op.drop_column("ui_sessions", "totp_offer")
    op.drop_column("ui_sessions", "challenge")
    op.drop_column("ui_sessions", "user_agent")
    op.drop_column("ui_sessions", "address")
    op.drop_column("ui_sessions", "last_seen_at")
    op.drop_column("ui_sessions", "verified_at")
    op.drop_column("ui_sessions", "user_id")
    op.drop_index(op.f("ix_user_recovery_codes_user_id"), table_name="user_recovery_codes")
    op.drop_table("user_recovery_codes")
    op.drop_index(op.f("ix_user_passkeys_user_id"), table_name="user_passkeys")
    op.drop_table("user_passkeys")
    op.drop_index(op.f("ix_user_enrolments_user_id"), table_name="user_enrolments")
    op.drop_table("user_enrolments")
    op.drop_index(op.f("ix_users_organization_id"), table_name="users")
    op.drop_table("users")
    op.drop_index("ix_sign_in_failures_login_id_at", table_name="sign_in_failures")
    op.drop_index("ix_sign_in_failures_address_at", table_name="sign_in_failures")
    op.drop_table("sign_in_failures")
