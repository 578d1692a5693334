"""console indexes: the staff list's order, and the days with failed sign-ins for the dashboard

The staff list is ordered by name: without an index every page sorted all 30,000 mailboxes to show 100. The
dashboard names the mailboxes with the most failed sign-ins in the last seven days: read through the index on the
day, that is every mailbox's every day of the week (about 100,000 rows) to keep the few with a failure; a partial
index holds only those days.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_staff_full_name", "staff", ["full_name", "id"], unique=False)
    # Not in a batch: on SQLite a batch may rebuild the table, and usage_days carries the triggers of 0014.
    op.create_index(
        "ix_usage_days_failures",
        "usage_days",
        ["day"],
        unique=False,
        sqlite_where=sa.text("failed_logins > 0"),
        postgresql_where=sa.text("failed_logins > 0"),
    )


def downgrade() -> None:
    op.drop_index("ix_staff_full_name", table_name="staff")
    op.drop_index("ix_usage_days_failures", table_name="usage_days")
