"""credential slips

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 15:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credential_slips",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("unit_name", sa.String(length=200), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=300), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("downloaded_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_credential_slips_task_id_tasks"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_credential_slips_unit_id_units"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credential_slips")),
    )
    with op.batch_alter_table("credential_slips", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credential_slips_task_id"), ["task_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("credential_slips", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credential_slips_task_id"))

    op.drop_table("credential_slips")
