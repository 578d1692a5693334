"""meetings at commune scale: mail rendered by the sender, presence observations, roll calls, attendance summary

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mail_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("renderer", sa.String(length=40), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("params", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=200), nullable=False, server_default=""))
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("summary_sent_at", core.db.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        "meeting_presence_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("stream", sa.String(length=600), nullable=False),
        sa.Column("participant", sa.String(length=300), nullable=False),
        sa.Column("point_id", sa.Integer(), nullable=True),
        sa.Column("invitee_email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('joined', 'left', 'seen', 'poll')", name=op.f("ck_meeting_presence_events_kind")),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_presence_events_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["point_id"], ["bridge_points.id"], name=op.f("fk_meeting_presence_events_point_id_bridge_points")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_presence_events")),
        sa.UniqueConstraint(
            "meeting_id", "kind", "stream", "at", name=op.f("uq_meeting_presence_events_meeting_id_kind_stream_at")
        ),
    )
    with op.batch_alter_table("meeting_presence_events", schema=None) as batch_op:
        batch_op.create_index("ix_meeting_presence_events_participant", ["meeting_id", "participant"], unique=False)
    op.create_table(
        "meeting_roll_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("point_id", sa.Integer(), nullable=False),
        sa.Column("is_present", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("marked_by", sa.String(length=300), nullable=False),
        sa.Column("marked_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_meeting_roll_calls_meeting_id_meetings"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["point_id"], ["bridge_points.id"], name=op.f("fk_meeting_roll_calls_point_id_bridge_points")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_roll_calls")),
        sa.UniqueConstraint("meeting_id", "point_id", name=op.f("uq_meeting_roll_calls_meeting_id_point_id")),
    )
    with op.batch_alter_table("meeting_roll_calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_roll_calls_meeting_id"), ["meeting_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("meeting_roll_calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_roll_calls_meeting_id"))
    op.drop_table("meeting_roll_calls")
    with op.batch_alter_table("meeting_presence_events", schema=None) as batch_op:
        batch_op.drop_index("ix_meeting_presence_events_participant")
    op.drop_table("meeting_presence_events")
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_column("summary_sent_at")
    with op.batch_alter_table("mail_jobs", schema=None) as batch_op:
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("params")
        batch_op.drop_column("renderer")
