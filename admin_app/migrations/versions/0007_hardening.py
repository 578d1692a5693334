"""hardening: sign-in throttling per name and client address, console sessions, second factors

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 12:00:00

The throttle's rows are short-lived counters: the table is rebuilt with its new key instead of converted.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("local_admin_id", sa.Integer(), nullable=True),
        sa.Column("client_address", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=300), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_reason", sa.String(length=40), nullable=False),
        sa.CheckConstraint(
            "(staff_id IS NULL) != (local_admin_id IS NULL)", name=op.f("ck_console_sessions_one_owner")
        ),
        sa.ForeignKeyConstraint(
            ["local_admin_id"],
            ["local_admins.id"],
            name=op.f("fk_console_sessions_local_admin_id_local_admins"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_console_sessions_staff_id_staff"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_sessions")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_console_sessions_token_sha256")),
    )
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_console_sessions_staff", ["staff_id", "ended_at"], unique=False)

    op.create_table(
        "second_factors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("local_admin_id", sa.Integer(), nullable=True),
        sa.Column("secret_encrypted", sa.String(length=500), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_step", sa.Integer(), nullable=False),
        sa.CheckConstraint("(staff_id IS NULL) != (local_admin_id IS NULL)", name=op.f("ck_second_factors_one_owner")),
        sa.ForeignKeyConstraint(
            ["local_admin_id"],
            ["local_admins.id"],
            name=op.f("fk_second_factors_local_admin_id_local_admins"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_second_factors_staff_id_staff"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_second_factors")),
        sa.UniqueConstraint("local_admin_id", name=op.f("uq_second_factors_local_admin_id")),
        sa.UniqueConstraint("staff_id", name=op.f("uq_second_factors_staff_id")),
    )
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("factor_id", sa.Integer(), nullable=False),
        sa.Column("code_sha256", sa.String(length=64), nullable=False),
        sa.Column("used_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["factor_id"],
            ["second_factors.id"],
            name=op.f("fk_recovery_codes_factor_id_second_factors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
    )
    with op.batch_alter_table("recovery_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recovery_codes_factor_id"), ["factor_id"], unique=False)

    op.drop_table("sign_in_throttle")
    _create_throttle()


def downgrade() -> None:
    op.drop_table("sign_in_throttle")
    op.create_table(
        "sign_in_throttle",
        sa.Column("login", sa.String(length=254), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("locked_until", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("login", name=op.f("pk_sign_in_throttle")),
    )
    with op.batch_alter_table("recovery_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recovery_codes_factor_id"))

    op.drop_table("recovery_codes")
    op.drop_table("second_factors")
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_console_sessions_staff")

    op.drop_table("console_sessions")


def _create_throttle() -> None:
    op.create_table(
        "sign_in_throttle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("login", sa.String(length=254), nullable=False),
        sa.Column("client_address", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("locked_until", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_throttle")),
        sa.UniqueConstraint("login", "client_address", name=op.f("uq_sign_in_throttle_login_client_address")),
    )
    with op.batch_alter_table("sign_in_throttle", schema=None) as batch_op:
        batch_op.create_index("ix_sign_in_throttle_client_failure", ["client_address", "last_failure_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_sign_in_throttle_last_failure_at"), ["last_failure_at"], unique=False)
