"""reorganisation: plans, unit history and successions, staff placements, alias expiry

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 14:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reorganisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=300), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=True),
        sa.Column("preview", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("applied_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('uploaded', 'previewing', 'previewed', 'applying', 'applied', 'failed')",
            name=op.f("ck_reorganisations_status"),
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_reorganisations_task_id_tasks"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reorganisations")),
    )
    with op.batch_alter_table("reorganisations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reorganisations_digest"), ["digest"], unique=False)

    op.create_table(
        "staff_placements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("reorganisation_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["reorganisation_id"],
            ["reorganisations.id"],
            name=op.f("fk_staff_placements_reorganisation_id_reorganisations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_staff_placements_staff_id_staff"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_staff_placements_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_placements")),
    )
    with op.batch_alter_table("staff_placements", schema=None) as batch_op:
        batch_op.create_index("ix_staff_placements_staff_until", ["staff_id", "valid_until"], unique=False)
        batch_op.create_index(batch_op.f("ix_staff_placements_valid_until"), ["valid_until"], unique=False)

    op.create_table(
        "unit_successions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("predecessor_id", sa.Integer(), nullable=False),
        sa.Column("successor_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("reorganisation_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("kind IN ('merge', 'split', 'dissolve')", name=op.f("ck_unit_successions_kind")),
        sa.CheckConstraint("predecessor_id != successor_id", name=op.f("ck_unit_successions_not_itself")),
        sa.ForeignKeyConstraint(
            ["predecessor_id"], ["units.id"], name=op.f("fk_unit_successions_predecessor_id_units"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["reorganisation_id"],
            ["reorganisations.id"],
            name=op.f("fk_unit_successions_reorganisation_id_reorganisations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["successor_id"], ["units.id"], name=op.f("fk_unit_successions_successor_id_units"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_successions")),
    )
    with op.batch_alter_table("unit_successions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_unit_successions_predecessor_id"), ["predecessor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_unit_successions_successor_id"), ["successor_id"], unique=False)

    op.create_table(
        "unit_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("short_name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("mail_domain", sa.String(length=200), nullable=True),
        sa.Column("reorganisation_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["parent_id"], ["units.id"], name=op.f("fk_unit_versions_parent_id_units")),
        sa.ForeignKeyConstraint(
            ["reorganisation_id"],
            ["reorganisations.id"],
            name=op.f("fk_unit_versions_reorganisation_id_reorganisations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_unit_versions_unit_id_units"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_versions")),
    )
    with op.batch_alter_table("unit_versions", schema=None) as batch_op:
        batch_op.create_index("ix_unit_versions_unit_until", ["unit_id", "valid_until"], unique=False)

    with op.batch_alter_table("mail_aliases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("removed_at", core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_mail_aliases_expires_at"), ["expires_at"], unique=False)

    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.add_column(sa.Column("started_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("ended_on", sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f("ix_units_ended_on"), ["ended_on"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_units_ended_on"))
        batch_op.drop_column("ended_on")
        batch_op.drop_column("started_on")

    with op.batch_alter_table("mail_aliases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mail_aliases_expires_at"))
        batch_op.drop_column("removed_at")
        batch_op.drop_column("expires_at")

    with op.batch_alter_table("unit_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_unit_versions_unit_until")

    op.drop_table("unit_versions")
    with op.batch_alter_table("unit_successions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unit_successions_successor_id"))
        batch_op.drop_index(batch_op.f("ix_unit_successions_predecessor_id"))

    op.drop_table("unit_successions")
    with op.batch_alter_table("staff_placements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_placements_valid_until"))
        batch_op.drop_index("ix_staff_placements_staff_until")

    op.drop_table("staff_placements")
    with op.batch_alter_table("reorganisations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reorganisations_digest"))

    op.drop_table("reorganisations")
