"""report trends: every unit's 12-month trend stored with the report version

A unit's page of a report worked out the unit's 12-month trend on every view (for a district of 1,800 mailboxes,
21,600 monthly rollup rows and the month's tree: about 0.2 s of a web worker's time, more under load). Each
version generated from now on stores every unit's trend beside its other parts (audit.report_store); versions
stored before have none, and their unit pages still work the trend out when asked.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monthly_report_trends",
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("points", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["monthly_reports.id"],
            name=op.f("fk_monthly_report_trends_report_id_monthly_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("report_id", "unit_id", name=op.f("pk_monthly_report_trends")),
    )


def downgrade() -> None:
    op.drop_table("monthly_report_trends")
