"""staff sort key: the staff list in Vietnamese alphabetical order (given name, then family and middle name)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from provisioning.names import staff_sort_key

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

BATCH = 2000


def upgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sort_key", sa.String(length=600), server_default="", nullable=False))
        batch_op.create_index(batch_op.f("ix_staff_sort_key"), ["sort_key"], unique=False)
    bind = op.get_bind()
    staff = sa.table(
        "staff",
        sa.column("id"),
        sa.column("given_name"),
        sa.column("family_name"),
        sa.column("middle_name"),
        sa.column("sort_key"),
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(staff.c.id, staff.c.given_name, staff.c.family_name, staff.c.middle_name)
            .where(staff.c.id > last)
            .order_by(staff.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        bind.execute(
            staff.update().where(staff.c.id == sa.bindparam("sid")).values(sort_key=sa.bindparam("key")),
            [{"sid": sid, "key": staff_sort_key(g or "", f or "", m or "")} for sid, g, f, m in rows],
        )
        last = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_sort_key"))
        batch_op.drop_column("sort_key")
